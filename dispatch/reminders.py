"""Reminders: unassigned tickets are raised again every ``nag_interval``.

State lives in the ``nag`` table, claimed with row locks (SKIP LOCKED), so a
restart neither loses nor repeats a reminder and two instances send each once.
A pass after downtime raises each overdue ticket once (``next_at`` moves to
now + interval, not by one interval). Above ``digest_threshold`` due tickets,
or when working hours open after a pause, one digest replaces single reminders
(``dispatch.digests``: the same digests that list a burst of new tickets).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from config.routing import Role, RoutingConfig
from dispatch.cards import CardPublisher
from dispatch.digests.board import Digests, delete_last_reminder, delete_message
from dispatch.events import Actor, EventKind, TicketEvent, TicketLog
from dispatch.models import TicketState
from dispatch.views import ReminderMessages, WaitingTicket
from storage.db import Database, UnitOfWork
from storage.models import MessageKind, TicketRow
from storage.nag_repository import DueNag
from storage.types import utcnow

log = structlog.get_logger(__name__)

_OPEN_KEY = "nag.working_hours_open"
_DIGEST_KEY = "nag.digest_message"


@dataclass(frozen=True, slots=True)
class NagPass:
    """What one reminder pass did."""

    reminded: int = 0
    digest: int = 0
    escalated: int = 0
    paused: bool = False


class NagTracker:
    """Starts and stops a ticket's reminders as its state changes."""

    def __init__(self, routing: RoutingConfig, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._routing = routing
        self._clock = clock

    def subscribe(self, events: TicketLog) -> None:
        """Start reminders for a ticket nobody has, stop them once someone does."""
        events.subscribe(
            (
                EventKind.CREATED,
                EventKind.REOPENED,
                EventKind.UNASSIGNED,
                EventKind.PASSED_TO_LINE,
            ),
            self._on_open,
        )
        events.subscribe(
            (EventKind.ASSIGNED, EventKind.REASSIGNED, EventKind.CLOSED), self._on_taken
        )

    async def _on_open(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        if ticket.state == TicketState.UNASSIGNED:
            await self.start(uow, ticket, fresh=event.kind == EventKind.CREATED)

    async def _on_taken(self, uow: UnitOfWork, ticket: TicketRow, _: TicketEvent) -> None:
        await self.stop(uow, ticket)

    async def start(self, uow: UnitOfWork, ticket: TicketRow, *, fresh: bool = False) -> None:
        """Remind about an unassigned ticket one interval from now (``fresh``: a new ticket)."""
        assert ticket.id is not None
        next_at = self._clock() + self._routing.dispatch.nag_interval
        await uow.nags.start(ticket_id=ticket.id, next_at=next_at, fresh=fresh)

    async def stop(self, uow: UnitOfWork, ticket: TicketRow) -> None:
        """No more reminders; queued ones are dropped and the last one deleted."""
        assert ticket.id is not None
        nag = await uow.nags.stop(ticket_id=ticket.id)
        if nag is None:
            return
        await uow.nags.drop_queued_reminders(ticket_id=ticket.id)
        await delete_last_reminder(uow, nag)


def _line(nag: DueNag, now: datetime) -> WaitingTicket:
    return WaitingTicket(nag.ticket_id, nag.number, nag.subject, now - nag.received_at)


async def _with_card(uow: UnitOfWork, item: WaitingTicket) -> WaitingTicket:
    cards = await uow.messages.find(ticket_id=item.ticket_id, kind=MessageKind.CARD)
    delivered = [card.message_id for card in cards if card.message_id is not None]
    return replace(item, card_message_id=delivered[0]) if delivered else item


class ReminderService:
    """Runs reminder passes (a scheduler job) and the commands around them."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        cards: CardPublisher,
        renderer: ReminderMessages,
        events: TicketLog,
        *,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 20_000,
        digests: Digests | None = None,
    ) -> None:
        self._db = database
        self._routing = routing
        self._cards = cards
        self._events = events
        self._renderer = renderer
        self._clock = clock
        self._batch = batch
        self._digests = digests or Digests(database, routing, renderer, cards, clock=clock)

    def _is_open(self, now: datetime) -> bool:
        hours = self._routing.working_hours
        return hours is None or hours.is_open(now, self._routing.tz)

    async def run_pass(self, now: datetime | None = None) -> NagPass:
        """Raise every due ticket once: single reminders, or one digest."""
        now = now or self._clock()
        is_open = self._is_open(now)
        urgent = None if is_open else self._routing.dispatch.always_nag_priorities
        async with self._db.unit_of_work() as uow:
            was_open = await uow.sync_state.get(key=_OPEN_KEY) != "0"
            due = await uow.nags.claim_due(now=now, limit=self._batch, priorities=urgent)
            morning = is_open and not was_open
            result = await self._raise(uow, due, now, digest_all=morning)
            if is_open != was_open:
                await uow.sync_state.put(key=_OPEN_KEY, value="1" if is_open else "0")
            await uow.commit()
        if due:
            log.info(
                "reminders.pass",
                due=len(due),
                reminded=result.reminded,
                digest=result.digest,
                escalated=result.escalated,
                open=is_open,
            )
        return NagPass(result.reminded, result.digest, result.escalated, paused=not is_open)

    async def _raise(
        self, uow: UnitOfWork, due: Sequence[DueNag], now: datetime, *, digest_all: bool
    ) -> NagPass:
        if not due:
            return NagPass()
        threshold = self._routing.dispatch.digest_threshold
        if len(due) > threshold or (digest_all and len(due) > 1):
            escalated = await self._digest(uow, due, now)
            return NagPass(digest=len(due), escalated=escalated)
        escalated = 0
        for nag in due:
            escalated += await self._remind(uow, nag, now)
        return NagPass(reminded=len(due), escalated=escalated)

    async def _remind(self, uow: UnitOfWork, nag: DueNag, now: datetime) -> int:
        ticket = await uow.tickets.get(ticket_id=nag.ticket_id)
        assert ticket is not None
        await delete_message(uow, nag.last_message_id, nag.ticket_id)
        count = nag.count + 1
        await uow.nags.advance(
            ticket_ids=[nag.ticket_id], next_at=now + self._routing.dispatch.nag_interval
        )
        reminder = await self._cards.post_reminder(uow, ticket, count=count, now=now)
        await uow.nags.set_last_message(ticket_id=nag.ticket_id, message_id=reminder.id)
        system = Actor.system()
        await self._events.record(uow, ticket, EventKind.REMINDED, system, detail={"count": count})
        if count % self._routing.dispatch.escalate_after:
            return 0
        await uow.nags.count_escalations(ticket_ids=[nag.ticket_id])
        await self._events.record(
            uow, ticket, EventKind.ESCALATED, system, detail={"reminders": count}
        )
        await self._escalate(uow, [_line(nag, now)], count)
        return 1

    async def _digest(self, uow: UnitOfWork, due: Sequence[DueNag], now: datetime) -> int:
        every = self._routing.dispatch.escalate_after
        ids = [nag.ticket_id for nag in due]
        await uow.nags.advance(ticket_ids=ids, next_at=now + self._routing.dispatch.nag_interval)
        for nag in due:
            if nag.last_message_id is not None:
                # Single reminders from before the digest would keep stale buttons.
                await delete_message(uow, nag.last_message_id, nag.ticket_id)
                await uow.nags.set_last_message(ticket_id=nag.ticket_id, message_id=None)
        escalate = [_line(nag, now) for nag in due if (nag.count + 1) % every == 0]
        items = sorted((_line(nag, now) for nag in due), key=lambda item: -item.waiting)
        await self._digests.replace(uow, key=_DIGEST_KEY, items=items, total=len(items))
        system = Actor.system()
        await self._events.record_each(
            uow, ids, EventKind.REMINDED, system, detail={"digest": True}
        )
        if escalate:
            await uow.nags.count_escalations(ticket_ids=[item.ticket_id for item in escalate])
            await self._events.record_each(
                uow,
                [item.ticket_id for item in escalate],
                EventKind.ESCALATED,
                system,
                detail={"digest": True},
            )
            await self._escalate(uow, escalate, every)
        return len(escalate)

    async def _escalate(
        self, uow: UnitOfWork, tickets: Sequence[WaitingTicket], reminders: int
    ) -> None:
        # Each line links to its card, so the lead lands where the buttons are.
        linked = [await _with_card(uow, item) for item in tickets]
        payload = self._renderer.escalation(linked, reminders)
        ticket_id = tickets[0].ticket_id if len(tickets) == 1 else None
        for lead in self._routing.people:
            if Role.LEAD in lead.roles and lead.telegram_id is not None:
                message = await uow.messages.create(
                    ticket_id=ticket_id, kind=MessageKind.ESCALATION, chat_id=lead.telegram_id
                )
                await uow.outbox.enqueue_send(
                    message=message, payload=payload, ticket_id=ticket_id
                )

    async def bring_up(self, *, ticket_id: int) -> bool:
        """Bring a waiting ticket's card up (digest and /queue buttons); False if taken."""
        return await self._digests.bring_up(ticket_id=ticket_id)
