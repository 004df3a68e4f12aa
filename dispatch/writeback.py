"""Background work against the helpdesk: fetch a ticket, write an assignment back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from config.routing import RoutingConfig
from connectors.base import (
    ConnectorError,
    HelpdeskConnector,
    RateLimitedError,
    TransientError,
)
from dispatch.events import Actor, EventKind, Source, TicketLog
from dispatch.intake import IntakeService
from dispatch.models import TicketEventKind, WritebackState
from storage.db import Database
from storage.job_repository import RetryJob
from storage.models import JobRow

log = structlog.get_logger(__name__)


class HelpdeskSync:
    """Job handlers that talk to the helpdesk connector."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        helpdesk: HelpdeskConnector,
        intake: IntakeService,
        events: TicketLog,
    ) -> None:
        self._db = database
        self._routing = routing
        self._helpdesk = helpdesk
        self._intake = intake
        self._events = events

    async def fetch(self, job: JobRow) -> None:
        """Fetch the ticket a webhook named and apply its event."""
        kind = TicketEventKind(job.payload["kind"])
        try:
            data = await self._helpdesk.fetch_ticket(str(job.payload["external_id"]))
        except TransientError as exc:
            raise _retry(exc) from exc
        await self._intake.apply_fetched(source=job.payload["source"], kind=kind, data=data)

    async def write_back(self, job: JobRow) -> None:
        """Write a ticket's assignment to the helpdesk, then show it on the card."""
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=int(job.payload["ticket_id"]))
        stale = ticket is None or ticket.version != job.payload.get("version")
        if ticket is None or stale or ticket.writeback != WritebackState.PENDING:
            return  # assigned again since, or already written: a newer job owns it
        department = self._routing.department(ticket.department_key or "")
        person = self._routing.person(ticket.assignee_key or "")
        try:
            await self._helpdesk.assign(
                ticket.external_id,
                department_ref=self._routing.department_ref(department) if department else None,
                assignee_ref=self._routing.person_ref(person) if person else None,
            )
        except TransientError as exc:
            raise _retry(exc) from exc
        await self._set_writeback(int(job.payload["ticket_id"]), WritebackState.DONE, None)

    # One helpdesk call per job: a retry then never repeats a call that already worked.

    async def note(self, job: JobRow) -> None:
        """An internal note in the helpdesk ticket (``text``)."""
        await self._on_ticket(
            job, lambda ref: self._helpdesk.add_internal_note(ref, str(job.payload["text"]))
        )

    async def status(self, job: JobRow) -> None:
        """The ticket's status in the helpdesk (``status``)."""
        await self._on_ticket(
            job, lambda ref: self._helpdesk.set_status(ref, str(job.payload["status"]))
        )

    async def time_field(self, job: JobRow) -> None:
        """The ticket's total time in the helpdesk's own field (``total_minutes``)."""
        await self._on_ticket(
            job,
            lambda ref: self._helpdesk.record_time(ref, minutes=int(job.payload["total_minutes"])),
        )

    async def _on_ticket(self, job: JobRow, call: Callable[[str], Awaitable[None]]) -> None:
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=int(job.payload["ticket_id"]))
        if ticket is None:
            return
        try:
            await call(ticket.external_id)
        except TransientError as exc:
            raise _retry(exc) from exc

    async def writeback_failed(self, job: JobRow, reason: str) -> None:
        """The write-back failed for good: the card says so and offers a retry."""
        await self._set_writeback(int(job.payload["ticket_id"]), WritebackState.FAILED, reason)

    async def fetch_failed(self, job: JobRow, reason: str) -> None:
        """A webhook's ticket could not be fetched: nothing to show, so log it loudly."""
        log.error(
            "helpdesk.fetch_gave_up", external_id=job.payload.get("external_id"), reason=reason
        )

    async def _set_writeback(self, ticket_id: int, state: str, error: str | None) -> None:
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id, for_update=True)
            if ticket is None or ticket.writeback != WritebackState.PENDING:
                return
            await uow.tickets.set_writeback(ticket_id=ticket_id, state=state, error=error)
            kind = (
                EventKind.WRITEBACK_DONE
                if state == WritebackState.DONE
                else EventKind.WRITEBACK_FAILED
            )
            detail = {"error": error} if error else {}
            await self._events.record(
                uow, ticket, kind, Actor.system(Source.SCHEDULER), detail=detail
            )
            await uow.commit()
        log.info("helpdesk.writeback", ticket_id=ticket_id, state=state, error=error)


def _retry(exc: ConnectorError) -> RetryJob:
    delay = exc.retry_after if isinstance(exc, RateLimitedError) else None
    return RetryJob(str(exc) or type(exc).__name__, delay=delay)
