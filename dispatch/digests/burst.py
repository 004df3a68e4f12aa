"""Burst digests: when new cards for the dispatch chat would wait too long, a list instead.

Telegram lets a bot post about 20 messages a minute into a group, so 120 tickets that
arrive together (a mail loop, an outage at a big client) would take six minutes to appear
one card at a time, the newest last. While new tickets come in, a pass runs every second
(a scheduler job) and looks at what waits for the dispatch chat. When a new card would
go later than ``BURST_WAIT`` from now (``ChatPace``, from the calls of the last minute):

* the cards still waiting are withdrawn from the outbox (their messages become
  ``withdrawn``, so edits and reminders know the ticket has no card);
* urgent tickets (``always_nag_priorities``) keep their card while it still goes in time;
* for a minute after a burst digest, new cards join the digests even when they would go
  in time: the rest of that minute's messages is kept for the dispatchers (a card brought
  up from a digest, the edits of their taps);
* the withdrawn tickets are listed in burst digests (``Digests.append``): folded into the
  last digest while it has not gone out, then new pages. Each button brings the card up.

A single withdrawn card gains nothing (one digest costs the same message), so it stays
unless a digest that has not gone out can take it. The passes of two instances take the
same lock, so a ticket is listed once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from config.routing import RoutingConfig
from dispatch.digests.board import Digests, digest_item
from dispatch.digests.pace import GROUP_WINDOW, ChatPace
from dispatch.events import EventKind, TicketEvent, TicketLog
from dispatch.models import TicketState
from storage.db import Database, UnitOfWork
from storage.models import TicketRow
from storage.outbox_repository import QueuedCall
from storage.types import utcnow

log = structlog.get_logger(__name__)

#: A new card that would wait longer than this is listed in a digest instead.
BURST_WAIT = timedelta(seconds=30)
#: After the last new ticket, passes go on looking this long (commits land a little later).
AWAKE_SECONDS = 5.0
#: The burst digests' state (the open page) in ``sync_state``, also the passes' lock.
STATE_KEY = "digest.burst"
#: The most queued calls of the dispatch chat one pass looks at.
QUEUE_LIMIT = 5000


@dataclass(frozen=True, slots=True)
class BurstPass:
    """What one pass did."""

    withdrawn: int = 0
    #: New digest messages queued (tickets folded into a waiting one need none).
    digests: int = 0


def _new_card(call: QueuedCall) -> bool:
    return (
        call.card
        and not call.sending
        and not call.listed
        and call.ticket_state == TicketState.UNASSIGNED
    )


def plan_withdrawal(
    queue: Sequence[QueuedCall],
    waits: Sequence[float],
    *,
    limit: float,
    urgent: frozenset[str],
    room: int,
    busy: bool = False,
) -> list[QueuedCall]:
    """Which waiting calls to take out and list (``waits[i]`` is ``queue[i]``'s wait).

    Nothing while every new card goes within ``limit`` seconds, unless the chat is
    ``busy`` (a burst digest went out in the last minute: what is left of the minute's
    messages is kept for the dispatchers' taps). Otherwise every new card, except urgent
    ones that still go in time once the others are out. A lone card only when a waiting
    digest has ``room`` for it.
    """
    new = [index for index, call in enumerate(queue) if _new_card(call)]
    if not new or (waits[new[-1]] <= limit and not busy):
        return []
    out = {index for index in new if queue[index].priority not in urgent}
    for index in new:
        if index in out:
            continue
        ahead = sum(1 for other in out if other < index)
        if waits[index - ahead] > limit:
            out.add(index)
    if len(out) < 2 and not room:
        return []
    return [queue[index] for index in sorted(out)]


class BurstDigests:
    """Watches the dispatch chat's queue and lists new tickets in digests when it is long."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        digests: Digests,
        *,
        pace: ChatPace | None = None,
        wait: timedelta = BURST_WAIT,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = database
        self._routing = routing
        self._digests = digests
        self._pace = pace or ChatPace()
        self._wait = wait.total_seconds()
        self._clock = clock
        self._monotonic = monotonic
        # Look once after a start: cards queued before it may still be waiting.
        self._awake_until = monotonic() + AWAKE_SECONDS

    def subscribe(self, events: TicketLog) -> None:
        """New and reopened tickets may bring new cards: look at the queue for a while."""
        events.subscribe((EventKind.CREATED, EventKind.REOPENED), self._on_new)

    async def _on_new(self, _uow: UnitOfWork, _ticket: TicketRow, _event: TicketEvent) -> None:
        self._awake_until = self._monotonic() + AWAKE_SECONDS

    async def run_pass(self) -> BurstPass:
        """List the new tickets whose cards would wait too long (a scheduler job)."""
        if self._monotonic() > self._awake_until:
            return BurstPass()
        async with self._db.unit_of_work() as uow:
            result = await self._pass(uow, self._clock())
            if result.withdrawn:
                await uow.commit()
        if result.withdrawn:
            log.info("cards.burst_digest", withdrawn=result.withdrawn, digests=result.digests)
        return result

    async def _pass(self, uow: UnitOfWork, now: datetime) -> BurstPass:
        chat_id = self._routing.dispatch.chat_id
        queue = await uow.outbox.chat_queue(chat_id=chat_id, limit=QUEUE_LIMIT)
        if not any(_new_card(call) for call in queue):
            return BurstPass()
        await uow.sync_state.lock(key=STATE_KEY)
        # Read again under the lock: another instance's pass may have just listed them.
        queue = await uow.outbox.chat_queue(chat_id=chat_id, limit=QUEUE_LIMIT)
        waiting = [call for call in queue if not call.sending]
        waits = self._pace.waits(
            await self._recent(uow, now, in_flight=len(queue) - len(waiting)),
            len(waiting),
            group=chat_id < 0,
        )
        room, last = await self._digests.burst_state(uow, key=STATE_KEY)
        chosen = plan_withdrawal(
            waiting,
            waits,
            limit=self._wait,
            urgent=self._routing.dispatch.always_nag_priorities,
            room=room,
            busy=last is not None and (now - last).total_seconds() < GROUP_WINDOW,
        )
        if not chosen:
            return BurstPass()
        withdrawn = await uow.outbox.withdraw(row_ids=[call.outbox_id for call in chosen])
        await uow.messages.mark_withdrawn(message_row_ids=[w.message_row_id for w in withdrawn])
        tickets = await uow.tickets.get_many(ticket_ids=[w.ticket_id for w in withdrawn])
        items = [digest_item(ticket, now, self._routing) for ticket in tickets]
        posted = await self._digests.append(uow, key=STATE_KEY, items=items)
        return BurstPass(withdrawn=len(withdrawn), digests=posted)

    async def _recent(self, uow: UnitOfWork, now: datetime, *, in_flight: int) -> list[float]:
        """Seconds since each call of the last minute to the dispatch chat (0: in flight)."""
        sent = await uow.outbox.recent_sends(
            chat_id=self._routing.dispatch.chat_id,
            since=now - timedelta(seconds=GROUP_WINDOW),
            limit=self._pace.group_per_minute,
        )
        return [(now - stamp).total_seconds() for stamp in sent] + [0.0] * in_flight
