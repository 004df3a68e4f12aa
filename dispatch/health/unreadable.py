"""Tickets a webhook named that could not be read: a notice in the dispatch chat.

A fetch that fails for good must not lose the ticket silently. The dispatch chat
gets "#4101: could not be read from HelpDeskEddy: invalid API key" with a button
that reads it again; once read, the notice says so and the ticket's card follows.
"""

from __future__ import annotations

import structlog

from config.routing import Role, RoutingConfig
from dispatch.assignment import TapOutcome, TapResult
from dispatch.events import Actor
from dispatch.job_payloads import FetchTicket, enqueue
from dispatch.views import ConnectorMessages, FetchProblem, UnreadableTicket
from storage.db import Database
from storage.models import MessageKind

log = structlog.get_logger(__name__)


class UnreadableTickets:
    """Posts, re-reads and closes the notices about tickets that could not be read."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        renderer: ConnectorMessages,
        *,
        helpdesk: str,
    ) -> None:
        self._db = database
        self._routing = routing
        self._renderer = renderer
        self._helpdesk = helpdesk

    async def report(
        self, order: FetchTicket, *, job_id: int, problem: FetchProblem, detail: str
    ) -> None:
        """Show (or update) the notice about the ticket ``order`` names."""
        async with self._db.unit_of_work() as uow:
            shown = await uow.messages.get(message_row_id=order.notice) if order.notice else None
            message = shown or await uow.messages.create(
                ticket_id=None, kind=MessageKind.NOTICE, chat_id=self._routing.dispatch.chat_id
            )
            assert message.id is not None
            notice = self._view(order, job_id, message.id, problem, detail)
            payload = self._renderer.unreadable_ticket(notice)
            if shown is None:
                await uow.outbox.enqueue_send(message=message, payload=payload, ticket_id=None)
            else:
                await uow.outbox.enqueue_edit(message=message, payload=payload, ticket_id=None)
            await uow.commit()
        log.warning("helpdesk.unreadable_reported", external_id=order.external_id, problem=problem)

    async def retry(self, *, job_id: int, notice_id: int, actor: Actor) -> TapResult:
        """A dispatcher pressed "read again": queue the fetch once more."""
        person = self._routing.person(actor.person_key or "")
        if person is None or Role.DISPATCHER not in person.roles:
            return TapResult(TapOutcome.NOT_DISPATCHER)
        async with self._db.unit_of_work() as uow:
            job = await uow.jobs.get(job_id=job_id)
            message = await uow.messages.get(message_row_id=notice_id)
            if job is None or job.kind != FetchTicket.job_kind or message is None:
                return TapResult(TapOutcome.UNKNOWN_TICKET)
            # A second press meanwhile queues a second read: harmless, a read changes nothing.
            order = FetchTicket.of(job).model_copy(update={"notice": notice_id})
            enqueue(uow, order)
            notice = self._view(order, job_id, notice_id, FetchProblem.FAILED, "")
            payload = self._renderer.rereading_ticket(notice)
            await uow.outbox.enqueue_edit(message=message, payload=payload, ticket_id=None)
            await uow.commit()
        log.info("helpdesk.unreadable_retried", external_id=order.external_id, by=person.key)
        return TapResult(TapOutcome.OK)

    async def read(self, order: FetchTicket, *, job_id: int) -> None:
        """The ticket of a notice was read after all: the notice says so."""
        if order.notice is None:
            return
        async with self._db.unit_of_work() as uow:
            message = await uow.messages.get(message_row_id=order.notice)
            if message is None:
                return
            notice = self._view(order, job_id, order.notice, FetchProblem.FAILED, "")
            payload = self._renderer.ticket_read(notice)
            await uow.outbox.enqueue_edit(message=message, payload=payload, ticket_id=None)
            await uow.commit()

    def _view(
        self, order: FetchTicket, job_id: int, notice_id: int, problem: FetchProblem, detail: str
    ) -> UnreadableTicket:
        return UnreadableTicket(
            external_id=order.external_id,
            helpdesk=self._helpdesk,
            problem=problem,
            detail=detail,
            job_id=job_id,
            notice_id=notice_id,
        )
