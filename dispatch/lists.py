"""Ticket lists on demand: ``/queue`` (waiting for an assignee) and ``/mine``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from config.routing import RoutingConfig
from dispatch.events import Actor
from dispatch.sla.status import SlaReader
from dispatch.views import ListMessages, WaitingTicket
from storage.db import Database, UnitOfWork
from storage.ticket_lines import TicketLine
from storage.types import utcnow

LIST_LIMIT = 100


class TicketLists:
    """Renders a list and queues it to the chat that asked."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        renderer: ListMessages,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._renderer = renderer
        self._clock = clock
        self._sla = SlaReader(routing)

    async def _items(
        self, uow: UnitOfWork, tickets: Sequence[TicketLine], now: datetime, *, stages: bool
    ) -> list[WaitingTicket]:
        """List lines with each ticket's nearest SLA target (and its stage, for ``/mine``)."""
        notes = await self._sla.notes_for(uow, [ticket.id for ticket in tickets], now)
        return [
            WaitingTicket(
                ticket.id,
                ticket.number,
                ticket.subject,
                now - ticket.received_at,
                sla=notes.get(ticket.id),
                stage=ticket.stage if stages else "",
            )
            for ticket in tickets
        ]

    async def send_queue(self, *, chat_id: int) -> bool:
        """The unassigned tickets, oldest first; False outside the dispatch chat."""
        if chat_id != self._routing.dispatch.chat_id:
            return False
        now = self._clock()
        async with self._db.unit_of_work() as uow:
            tickets = await uow.nags.waiting(limit=LIST_LIMIT)
            items = await self._items(uow, tickets, now, stages=False)
            payload = self._renderer.ticket_list(items, mine=False)
            uow.outbox.enqueue_plain(chat_id=chat_id, payload=payload)
            # An answer to a question: lost in a crash, it is asked again.
            await uow.relax_durability()
            await uow.commit()
        return True

    async def send_mine(self, *, actor: Actor) -> bool:
        """The open tickets assigned to whoever asked, to their private chat; False if unknown."""
        key = actor.person_key
        person = self._routing.person(key) if key else None
        if person is None or person.telegram_id is None:
            return False
        telegram_id = person.telegram_id
        now = self._clock()
        async with self._db.unit_of_work() as uow:
            tickets = await uow.tickets.open_assigned_to(assignee_key=person.key, limit=LIST_LIMIT)
            items = await self._items(uow, tickets, now, stages=True)
            payload = self._renderer.ticket_list(items, mine=True)
            uow.outbox.enqueue_plain(chat_id=telegram_id, payload=payload)
            # An answer to a question: lost in a crash, it is asked again.
            await uow.relax_durability()
            await uow.commit()
        return True
