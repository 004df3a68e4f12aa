"""Background work against the helpdesk: fetch a ticket, write an assignment back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from config.routing import RoutingConfig
from connectors.base import (
    AccessDenied,
    ConnectorError,
    HelpdeskConnector,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from dispatch.events import Actor, EventKind, Source, TicketLog
from dispatch.health.unreadable import UnreadableTickets
from dispatch.health.watch import ConnectorWatch
from dispatch.intake import IntakeService
from dispatch.job_payloads import (
    FetchTicket,
    HelpdeskNote,
    HelpdeskStatus,
    HelpdeskTime,
    WriteBack,
)
from dispatch.models import WritebackState
from dispatch.views import FetchProblem
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
        *,
        unreadable: UnreadableTickets | None = None,
        watch: ConnectorWatch | None = None,
    ) -> None:
        self._db = database
        self._routing = routing
        self._helpdesk = helpdesk
        self._intake = intake
        self._events = events
        self._unreadable = unreadable
        self._watch = watch

    async def fetch(self, job: JobRow) -> None:
        """Fetch the ticket a webhook named and apply its event.

        A ticket the helpdesk refuses to show is not retried (a wrong key stays
        wrong until someone fixes it): the dispatch chat gets a notice with a
        button to read it again, and a refused key opens an outage for the admins.
        A ticket the helpdesk says does not exist is only logged.
        """
        order = FetchTicket.of(job)
        try:
            data = await self._helpdesk.fetch_ticket(order.external_id)
        except TransientError as exc:
            raise _retry(exc) from exc
        except AccessDenied as exc:
            if exc.rejected and self._watch is not None:
                await self._watch.failed("helpdesk", exc)
            problem = FetchProblem.REFUSED if exc.rejected else FetchProblem.FORBIDDEN
            await self._gave_up(job, order, problem, str(exc))
            return
        except PermanentError as exc:
            log.error("helpdesk.fetch_gave_up", external_id=order.external_id, reason=str(exc))
            return
        await self._intake.apply_fetched(source=order.source, kind=order.kind, data=data)
        if self._unreadable is not None:
            assert job.id is not None
            await self._unreadable.read(order, job_id=job.id)

    async def write_back(self, job: JobRow) -> None:
        """Write a ticket's assignment to the helpdesk, then show it on the card."""
        order = WriteBack.of(job)
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=order.ticket_id)
        stale = ticket is None or ticket.version != order.version
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
        await self._set_writeback(order.ticket_id, WritebackState.DONE, None)

    # One helpdesk call per job: a retry then never repeats a call that already worked.

    async def note(self, job: JobRow) -> None:
        """An internal note in the helpdesk ticket (``text``)."""
        note = HelpdeskNote.of(job)
        await self._on_ticket(
            note.ticket_id, lambda ref: self._helpdesk.add_internal_note(ref, note.text)
        )

    async def status(self, job: JobRow) -> None:
        """The ticket's status in the helpdesk (``status``)."""
        order = HelpdeskStatus.of(job)
        await self._on_ticket(
            order.ticket_id, lambda ref: self._helpdesk.set_status(ref, order.status)
        )

    async def time_field(self, job: JobRow) -> None:
        """The ticket's total time in the helpdesk's own field (``total_minutes``)."""
        order = HelpdeskTime.of(job)
        await self._on_ticket(
            order.ticket_id,
            lambda ref: self._helpdesk.record_time(ref, minutes=order.total_minutes),
        )

    async def _on_ticket(self, ticket_id: int, call: Callable[[str], Awaitable[None]]) -> None:
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id)
        if ticket is None:
            return
        try:
            await call(ticket.external_id)
        except TransientError as exc:
            raise _retry(exc) from exc

    async def writeback_failed(self, job: JobRow, reason: str) -> None:
        """The write-back failed for good: the card says so and offers a retry."""
        await self._set_writeback(WriteBack.of(job).ticket_id, WritebackState.FAILED, reason)

    async def fetch_failed(self, job: JobRow, reason: str) -> None:
        """A webhook's ticket could not be fetched after every retry: say so in the chat."""
        await self._gave_up(job, FetchTicket.of(job), FetchProblem.FAILED, reason)

    async def _gave_up(
        self, job: JobRow, order: FetchTicket, problem: FetchProblem, reason: str
    ) -> None:
        log.error("helpdesk.fetch_gave_up", external_id=order.external_id, reason=reason)
        if self._unreadable is not None:
            assert job.id is not None
            await self._unreadable.report(order, job_id=job.id, problem=problem, detail=reason)

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
