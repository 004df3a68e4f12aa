"""Support work where account managers work: a note on the company's CRM timeline when
a ticket closes with time recorded ("#4101 Printer on fire — 30 min, Olga Smirnova").

One note per close (``time_recorded`` is recorded once per close; a changed time is
not noted again), written by a job (``crm.note``). Which closes were noted is kept,
so a job that runs again does not write the note twice.
"""

from __future__ import annotations

import structlog

from config.routing import RoutingConfig
from connectors.base import PermanentError, RateLimitedError, TransientError
from connectors.crm import CrmConnector
from dispatch.events import EventKind, TicketEvent, TicketLog
from dispatch.job_payloads import CrmNote, enqueue
from dispatch.report_files import Translate
from storage.db import Database, UnitOfWork
from storage.job_repository import RetryJob
from storage.models import JobRow, TicketRow, TimeEntryRow

log = structlog.get_logger(__name__)


class CrmTimeline:
    """Queues and writes the timeline notes about recorded time."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        crm: CrmConnector,
        translate: Translate,
    ) -> None:
        self._db = database
        self._routing = routing
        self._crm = crm
        self._t = translate

    def subscribe(self, events: TicketLog) -> None:
        """Note each close's recorded time on the requester's company."""
        events.subscribe((EventKind.TIME_RECORDED,), self._on_time_recorded)

    async def _on_time_recorded(
        self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent
    ) -> None:
        assert ticket.id is not None
        link = await uow.crm.link(ticket_id=ticket.id)
        if link is None or link.company_id is None:
            log.info("crm.note_without_company", ticket_id=ticket.id)
            return
        enqueue(uow, CrmNote(ticket_id=ticket.id, round=int(event.detail["round"])))

    async def write(self, job: JobRow) -> None:
        """The job: one note for one close, unless it was written already."""
        order = CrmNote.of(job)
        async with self._db.unit_of_work() as uow:
            written = await uow.crm.note_written(ticket_id=order.ticket_id, round=order.round)
            ticket = await uow.tickets.get(ticket_id=order.ticket_id)
            link = await uow.crm.link(ticket_id=order.ticket_id)
            entry = await uow.time.entry(ticket_id=order.ticket_id, round=order.round)
        if written or ticket is None or entry is None or link is None or not link.company_id:
            return
        try:
            note_id = await self._crm.add_timeline_note(link.company_id, self.text(ticket, entry))
        except TransientError as exc:
            log.warning("crm.note_failed", ticket_id=order.ticket_id, reason=str(exc))
            delay = exc.retry_after if isinstance(exc, RateLimitedError) else None
            raise RetryJob(str(exc) or type(exc).__name__, delay=delay) from exc
        except PermanentError as exc:
            log.warning("crm.note_refused", ticket_id=order.ticket_id, reason=str(exc))
            return
        async with self._db.unit_of_work() as uow:
            await uow.crm.record_note(
                ticket_id=order.ticket_id,
                round=order.round,
                company_id=link.company_id,
                note_id=note_id,
            )
            await uow.commit()
        log.info("crm.note_written", ticket_id=order.ticket_id, round=order.round)

    def text(self, ticket: TicketRow, entry: TimeEntryRow) -> str:
        """``#4101 Printer on fire — 30 min, Olga Smirnova`` in the routing language."""
        person = self._routing.person(entry.person_key)
        values = {
            "number": ticket.number,
            "subject": ticket.subject,
            "time": self._duration(entry.minutes),
            "who": person.name if person else entry.person_key,
        }
        if entry.billable:
            return self._t("#{number} {subject} — {time}, {who}", **values)
        return self._t("#{number} {subject} — {time}, {who}, no charge", **values)

    def _duration(self, minutes: int) -> str:
        hours, rest = divmod(minutes, 60)
        if hours:
            return self._t("{hours} h {minutes:02d} min", hours=hours, minutes=rest)
        return self._t("{minutes} min", minutes=rest)
