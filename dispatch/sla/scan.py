"""The SLA pass: a warning before a target, a message at its breach; and ``/sla``.

The pass is a scheduler job. Clock state is in the ``sla_clock`` table and due
clocks are claimed with row locks (SKIP LOCKED), their flags set in the same
transaction as the messages: a restart or a second instance neither loses nor
doubles a warning. At ``warn_at`` of a target the assignee gets a private message
(the dispatch chat when nobody has the ticket); at the breach the dispatch chat
and every ``lead`` get the ticket's card headed by the news, with its buttons.
Each once per ticket and target, and again after a reopen. More than
``digest_threshold`` at once for one chat become one digest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

import structlog

from config.routing import Role, RoutingConfig
from dispatch.cards import CardPublisher
from dispatch.events import Actor, EventKind, TicketLog
from dispatch.models import TicketState
from dispatch.sla import clock
from dispatch.sla.clock import SLACK_S, Calendars
from dispatch.sla.policies import SlaTarget
from dispatch.sla.status import SlaReader
from dispatch.sla.views import AtRisk, SlaMessages, SlaNotice
from storage.db import Database, UnitOfWork
from storage.models import SlaClockRow, TicketRow
from storage.sla_repository import ClockCheck, DueClock, Headline
from storage.types import utcnow

log = structlog.get_logger(__name__)

#: The most urgent notices a digest names (the rest are counted).
DIGEST_LINES = 30
_AT_RISK_ROWS = 2_000
#: A check found early by float rounding is looked at again this much later.
_RETRY = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class SlaPass:
    """What one pass did."""

    checked: int = 0
    warned: int = 0
    breached: int = 0


class _Found(NamedTuple):
    """A clock with news: a warning, or a breach (a tuple: a pass may find thousands)."""

    due: DueClock
    breach: bool
    #: Whole seconds left to the target (negative: overdue).
    left_s: int


class ShowOutcome(StrEnum):
    """How a press on a ticket's button in ``/sla`` ended."""

    OK = "ok"
    NOT_ALLOWED = "not_allowed"
    UNKNOWN = "unknown"


class SlaService:
    """Runs SLA passes and answers ``/sla``."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        cards: CardPublisher,
        renderer: SlaMessages,
        events: TicketLog,
        *,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 20_000,
    ) -> None:
        self._db = database
        self._routing = routing
        self._cards = cards
        self._renderer = renderer
        self._events = events
        self._clock = clock
        self._batch = batch
        self._calendars = Calendars(routing)
        self._reader = SlaReader(routing)
        self._leads = [
            p.telegram_id for p in routing.people if Role.LEAD in p.roles and p.telegram_id
        ]
        # Looked up once per clock with news (ten thousand after downtime): plain dicts.
        self._dispatch = routing.dispatch.chat_id
        self._private = {p.key: p.telegram_id for p in routing.people if p.telegram_id}
        self._breach_chats = list(dict.fromkeys([self._dispatch, *self._leads]))

    @property
    def enabled(self) -> bool:
        """Whether any SLA policy is configured (else there is nothing to scan)."""
        return self._routing.sla.enabled

    async def run_pass(self, now: datetime | None = None) -> SlaPass:
        """Check every due clock once: warnings, breaches, the next check."""
        now = now or self._clock()
        async with self._db.unit_of_work() as uow:
            due = await uow.sla.claim_due(now=now, limit=self._batch)
            if not due:
                return SlaPass()
            found, stale = self._check(due, now)
            warned = [(f.due.ticket_id, f.due.target) for f in found if not f.breach]
            await uow.sla.mark_warned(clocks=warned)
            breached = [(f.due.ticket_id, f.due.target) for f in found if f.breach]
            await uow.sla.mark_breached(clocks=breached)
            await uow.sla.reschedule_checks(checks=stale)
            await self._announce(uow, found)
            await self._record(uow, found)
            await uow.commit()
        result = SlaPass(len(due), len(warned), len(breached))
        log.info("sla.pass", checked=result.checked, warned=result.warned, breached=len(breached))
        return result

    def _check(
        self, due: Sequence[DueClock], now: datetime
    ) -> tuple[list[_Found], list[ClockCheck]]:
        """Which clocks have news, and which came up early (float rounding) or stale."""
        warn_at = self._routing.sla.warn_at
        found: list[_Found] = []
        stale: list[ClockCheck] = []
        now_s = now.timestamp()
        for item in due:
            calendar = self._calendars[item.calendar]
            counted: float = item.used_s
            if item.since_s is not None:
                counted += calendar.elapsed_s(item.since_s, now_s)
            left_s = round(item.target_s - counted)
            if not item.breached and counted >= item.target_s - SLACK_S:
                found.append(_Found(item, breach=True, left_s=left_s))  # no warning after it
            elif not item.warned and counted >= item.target_s * warn_at - SLACK_S:
                found.append(_Found(item, breach=False, left_s=left_s))
            else:
                threshold = clock.pending_threshold(
                    item.target_s, warn_at, warned=item.warned, breached=item.breached
                )
                since = None if item.since_s is None else datetime.fromtimestamp(item.since_s, UTC)
                next_at = clock.check_at(since, item.used_s, calendar, threshold)
                if next_at is not None and next_at <= now:
                    next_at = now + _RETRY
                stale.append(ClockCheck(item.ticket_id, item.target, next_at))
        return found, stale

    async def _announce(self, uow: UnitOfWork, found: Sequence[_Found]) -> None:
        by_chat: dict[int, list[_Found]] = defaultdict(list)
        for item in found:
            for chat in self._recipients(item):
                by_chat[chat].append(item)
        threshold = self._routing.dispatch.digest_threshold
        digests = {chat: items for chat, items in by_chat.items() if len(items) > threshold}
        for items in digests.values():
            items.sort(key=lambda item: item.left_s)
        shown = [
            item.due.ticket_id
            for chat, items in by_chat.items()
            for item in (items[:DIGEST_LINES] if chat in digests else items)
        ]
        headlines = await uow.sla.headlines(ticket_ids=shown)
        dispatch = self._routing.dispatch.chat_id
        for chat, items in by_chat.items():
            if chat in digests:
                notices = [_notice(item, headlines) for item in items[:DIGEST_LINES]]
                payload = self._renderer.sla_digest(
                    notices, total=len(items), buttons=chat == dispatch
                )
                uow.outbox.enqueue_plain(chat_id=chat, payload=payload)
                continue
            for item in items:
                await self._tell(uow, chat, _notice(item, headlines), headlines)

    def _recipients(self, item: _Found) -> list[int]:
        if item.breach:
            return self._breach_chats
        if item.due.state == TicketState.ASSIGNED:
            chat = self._private.get(item.due.assignee_key or "")
            if chat is not None:
                return [chat]
        return [self._dispatch]

    async def _tell(
        self, uow: UnitOfWork, chat: int, notice: SlaNotice, headlines: dict[int, Headline]
    ) -> None:
        if not notice.breach and chat != self._routing.dispatch.chat_id:
            # The assignee's own warning; the dispatch chat and the leads get the card.
            url = headlines[notice.ticket_id].url if notice.ticket_id in headlines else None
            payload = self._renderer.sla_warning(notice, url=url)
            uow.outbox.enqueue_plain(chat_id=chat, payload=payload)
            return
        ticket = await uow.tickets.get(ticket_id=notice.ticket_id)
        if ticket is not None:
            await self._cards.post_copy(uow, ticket, chat_id=chat, alert=notice)

    async def _record(self, uow: UnitOfWork, found: Sequence[_Found]) -> None:
        groups: dict[tuple[EventKind, str], list[int]] = defaultdict(list)
        for item in found:
            kind = EventKind.SLA_BREACHED if item.breach else EventKind.SLA_WARNED
            groups[kind, item.due.target].append(item.due.ticket_id)
        for (kind, target), ticket_ids in groups.items():
            await self._events.record_each(
                uow, ticket_ids, kind, Actor.system(), detail={"target": target}
            )

    async def send_list(self, *, chat_id: int) -> bool:
        """``/sla``: tickets past a warning or overdue, most urgent first; False elsewhere."""
        if chat_id != self._routing.dispatch.chat_id:
            return False
        now = self._clock()
        async with self._db.unit_of_work() as uow:
            rows = await uow.sla.warned_open(limit=_AT_RISK_ROWS)
            by_ticket: dict[int, list[tuple[SlaClockRow, TicketRow]]] = defaultdict(list)
            for row, ticket in rows:
                by_ticket[row.ticket_id].append((row, ticket))
            items = []
            for pairs in by_ticket.values():
                note = self._reader.note([row for row, _ in pairs], now)
                ticket = pairs[0][1]
                if note is None or ticket.id is None:
                    continue
                person = self._routing.person(ticket.assignee_key or "")
                name = person.name if person else None
                items.append(AtRisk(ticket.id, ticket.number, ticket.subject, name, note))
            items.sort(key=lambda item: item.note.left)
            uow.outbox.enqueue_plain(chat_id=chat_id, payload=self._renderer.sla_list(items))
            await uow.commit()
        return True

    async def show_card(self, *, ticket_id: int, actor: Actor) -> ShowOutcome:
        """Post a ticket's card again in the dispatch chat (the ``/sla`` buttons)."""
        person = self._routing.person(actor.person_key or "")
        if person is None or not {Role.DISPATCHER, Role.LEAD} & person.roles:
            return ShowOutcome.NOT_ALLOWED
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id)
            if ticket is None:
                return ShowOutcome.UNKNOWN
            await self._cards.post_copy(uow, ticket, chat_id=self._routing.dispatch.chat_id)
            await uow.commit()
        return ShowOutcome.OK


def _notice(item: _Found, headlines: dict[int, Headline]) -> SlaNotice:
    headline = headlines.get(item.due.ticket_id)
    return SlaNotice(
        ticket_id=item.due.ticket_id,
        number=headline.number if headline else "?",
        subject=headline.subject if headline else "",
        target=SlaTarget(item.due.target),
        breach=item.breach,
        left=timedelta(seconds=item.left_s),
        target_time=timedelta(seconds=item.due.target_s),
    )
