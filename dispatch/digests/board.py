"""Digest messages in the dispatch chat: one mechanism for reminders and bursts.

A digest is one message listing waiting tickets with a button per ticket (``NagCb`` in
the bot) that brings the ticket's card up (``bring_up``). Two features post them:

* reminders (``dispatch.reminders``): more tickets due at once than ``digest_threshold``,
  or the morning after a pause: one digest that replaces the previous one (``replace``);
* bursts (``dispatch.digests.burst``): new tickets whose cards would wait too long for
  Telegram's limits: pages of at most ``BURST_PAGE`` tickets; tickets withdrawn later
  are folded into the last page while it has not gone out, then new pages follow
  (``append``). Which page is open is kept in ``sync_state``, so another instance or a
  restart goes on with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from config.routing import RoutingConfig
from dispatch.cards import CardPublisher
from dispatch.models import TicketState
from dispatch.views import DigestKind, DigestMessages, Payload, WaitingTicket
from storage.db import Database, UnitOfWork
from storage.models import MessageKind, NagRow, TelegramMessageRow, TicketRow
from storage.types import utcnow

#: Tickets per burst digest: their lines (number, subject, client, priority, each cut by
#: the renderer) stay under Telegram's 4,096 characters and their buttons well under the
#: keyboard's limit.
BURST_PAGE = 20


async def delete_message(uow: UnitOfWork, message_row_id: int | None, ticket_id: int) -> None:
    """Queue the delete of a message of the ticket, if there is one."""
    if message_row_id is None:
        return
    message = await uow.messages.get(message_row_id=message_row_id)
    if message is not None:
        await uow.outbox.enqueue_delete(message=message, ticket_id=ticket_id)


async def delete_last_reminder(uow: UnitOfWork, nag: NagRow) -> None:
    """Queue the delete of the ticket's live reminder; it has none after."""
    await delete_message(uow, nag.last_message_id, nag.ticket_id)
    nag.last_message_id = None


def digest_item(ticket: TicketRow, now: datetime, routing: RoutingConfig) -> WaitingTicket:
    """A ticket as a line of a digest: number, subject, client, priority, how long it waits."""
    assert ticket.id is not None
    return WaitingTicket(
        ticket.id,
        ticket.number,
        ticket.subject,
        now - ticket.received_at,
        client=ticket.client_company or ticket.client_name,
        priority=ticket.priority,
        urgent=ticket.priority in routing.dispatch.always_nag_priorities,
    )


async def _read_state(uow: UnitOfWork, key: str) -> dict[str, Any] | None:
    """The burst digests' state: the last page, its tickets, when it was queued."""
    raw = await uow.sync_state.get(key=key)
    return dict(json.loads(raw)) if raw else None


async def _keep_open(
    uow: UnitOfWork,
    key: str,
    message: TelegramMessageRow,
    shown: Sequence[WaitingTicket],
    *,
    at: str,
) -> None:
    state = {"message": message.id, "tickets": [item.ticket_id for item in shown], "at": at}
    await uow.sync_state.put(key=key, value=json.dumps(state))


def _burst_order(items: Sequence[WaitingTicket]) -> list[WaitingTicket]:
    """Urgent tickets first, then in the order they came in."""
    return sorted(items, key=lambda item: (not item.urgent, item.ticket_id))


class Digests:
    """Posts digests to the dispatch chat and brings a listed ticket's card up."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        renderer: DigestMessages,
        cards: CardPublisher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._renderer = renderer
        self._cards = cards
        self._clock = clock

    async def replace(
        self, uow: UnitOfWork, *, key: str, items: Sequence[WaitingTicket], total: int
    ) -> None:
        """Post one digest of ``items`` (of ``total``); the one posted before under ``key``
        is deleted (reminders)."""
        previous = await uow.sync_state.get(key=key)
        if previous:
            old = await uow.messages.get(message_row_id=int(previous))
            if old is not None:
                await uow.outbox.enqueue_delete(message=old, ticket_id=None)
        payload = self._renderer.digest(items, total, kind=DigestKind.REMINDER)
        message = await self._post(uow, payload)
        await uow.sync_state.put(key=key, value=str(message.id))

    async def burst_state(self, uow: UnitOfWork, *, key: str) -> tuple[int, datetime | None]:
        """How many more tickets the open page under ``key`` takes (0: it has gone out or
        is full), and when the last page was queued (None: never)."""
        state = await _read_state(uow, key)
        if state is None:
            return 0, None
        at = datetime.fromisoformat(state["at"]) if state.get("at") else None
        page = await self._open_page(uow, state)
        return (BURST_PAGE - len(page[1]) if page else 0), at

    async def append(self, uow: UnitOfWork, *, key: str, items: Sequence[WaitingTicket]) -> int:
        """List ``items`` in burst digests: the open page first, then new pages.

        Returns how many new messages were queued. The caller holds ``key``'s lock
        (``sync_state.lock``) so that two instances never fill one page at once.
        """
        todo = _burst_order(items)
        state = await _read_state(uow, key)
        page = await self._open_page(uow, state) if state else None
        if state is not None and page is not None:
            message, listed = page
            taken, todo = todo[: BURST_PAGE - len(listed)], todo[BURST_PAGE - len(listed) :]
            if taken:
                earlier = await self._items(uow, listed)
                shown = _burst_order([*earlier, *taken])
                payload = self._renderer.digest(shown, len(shown), kind=DigestKind.BURST)
                # Still waiting to go: the edit becomes the content of that first send.
                await uow.outbox.enqueue_edit(message=message, payload=payload, ticket_id=None)
                await _keep_open(uow, key, message, shown, at=str(state.get("at", "")))
        posted = 0
        for start in range(0, len(todo), BURST_PAGE):
            shown = todo[start : start + BURST_PAGE]
            payload = self._renderer.digest(shown, len(shown), kind=DigestKind.BURST)
            message = await self._post(uow, payload)
            await _keep_open(uow, key, message, shown, at=self._clock().isoformat())
            posted += 1
        return posted

    async def _open_page(
        self, uow: UnitOfWork, state: dict[str, Any]
    ) -> tuple[TelegramMessageRow, list[int]] | None:
        """The last page and its tickets, if it is still waiting to go and has room."""
        listed = [int(ticket_id) for ticket_id in state["tickets"]]
        if len(listed) >= BURST_PAGE:
            return None
        message = await uow.messages.get(message_row_id=int(state["message"]))
        if message is None or not await uow.outbox.pending_send(message=message):
            return None
        return message, listed

    async def _items(self, uow: UnitOfWork, ticket_ids: Sequence[int]) -> list[WaitingTicket]:
        now = self._clock()
        tickets = await uow.tickets.get_many(ticket_ids=ticket_ids)
        return [digest_item(ticket, now, self._routing) for ticket in tickets]

    async def _post(self, uow: UnitOfWork, payload: Payload) -> TelegramMessageRow:
        message = await uow.messages.create(
            ticket_id=None, kind=MessageKind.DIGEST, chat_id=self._routing.dispatch.chat_id
        )
        await uow.outbox.enqueue_send(message=message, payload=payload, ticket_id=None)
        return message

    async def bring_up(self, *, ticket_id: int) -> bool:
        """A digest's (or ``/queue``'s) button: bring a waiting ticket's card up.

        A ticket whose card never went out (a burst digest listed it instead) gets its
        card now; any other a reminder replying to its card, with the same buttons.
        False once it is taken.
        """
        now = self._clock()
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id)
            if ticket is None or ticket.state != TicketState.UNASSIGNED:
                return False
            cards = await uow.messages.find(ticket_id=ticket_id, kind=MessageKind.CARD)
            if not cards:
                await self._cards.post_card(uow, ticket)
            else:
                nag = await uow.nags.get(ticket_id=ticket_id)
                if nag is None:
                    return False
                await delete_last_reminder(uow, nag)
                message = await self._cards.post_reminder(uow, ticket, count=nag.count, now=now)
                nag.last_message_id = message.id
            await uow.commit()
        return True
