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
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

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
from storage.sla_repository import DueClock
from storage.types import utcnow

log = structlog.get_logger(__name__)

LIST_LIMIT = 30
_AT_RISK_ROWS = 2_000
#: A check found early by float rounding is looked at again this much later.
_RETRY = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class SlaPass:
    """What one pass did."""

    checked: int = 0
    warned: int = 0
    breached: int = 0


@dataclass(frozen=True, slots=True)
class _Found:
    notice: SlaNotice
    due: DueClock


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
            checks, found = self._check(due, now)
            await uow.sla.record_checks(checks=checks)
            await self._announce(uow, found)
            await self._record(uow, found)
            await uow.commit()
        breached = sum(item.notice.breach for item in found)
        result = SlaPass(len(due), len(found) - breached, breached)
        log.info("sla.pass", checked=result.checked, warned=result.warned, breached=breached)
        return result

    def _check(
        self, due: Sequence[DueClock], now: datetime
    ) -> tuple[list[dict[str, Any]], list[_Found]]:
        warn_at = self._routing.sla.warn_at
        checks: list[dict[str, Any]] = []
        found: list[_Found] = []
        for item in due:
            calendar = self._calendars[item.calendar]
            counted = clock.counted(item.used_s, item.since, calendar, now)
            warned, breached = item.warned, item.breached
            fired = False
            if not breached and counted >= item.target_s - SLACK_S:
                warned = breached = fired = True  # a warning after the breach is noise
            elif not warned and counted >= item.target_s * warn_at - SLACK_S:
                warned = fired = True
            threshold = clock.pending_threshold(
                item.target_s, warn_at, warned=warned, breached=breached
            )
            next_at = clock.check_at(item.since, item.used_s, calendar, threshold)
            if not fired and next_at is not None and next_at <= now:
                next_at = now + _RETRY
            checks.append(
                {
                    "ticket_id": item.ticket_id,
                    "target": item.target,
                    "warned": warned,
                    "breached": breached,
                    "next_check_at": next_at,
                }
            )
            if fired:
                found.append(_Found(_notice(item, counted, breach=breached), item))
        return checks, found

    async def _announce(self, uow: UnitOfWork, found: Sequence[_Found]) -> None:
        by_chat: dict[int, list[_Found]] = defaultdict(list)
        for item in found:
            for chat in self._recipients(item):
                by_chat[chat].append(item)
        dispatch = self._routing.dispatch.chat_id
        for chat, items in by_chat.items():
            if len(items) > self._routing.dispatch.digest_threshold:
                notices = sorted((item.notice for item in items), key=lambda n: n.left)
                payload = self._renderer.sla_digest(notices, buttons=chat == dispatch)
                uow.outbox.enqueue_plain(chat_id=chat, payload=payload)
                continue
            for item in items:
                await self._tell(uow, chat, item)

    def _recipients(self, item: _Found) -> list[int]:
        dispatch = self._routing.dispatch.chat_id
        if not item.notice.breach:
            person = self._routing.person(item.due.assignee_key or "")
            assigned = item.due.state == TicketState.ASSIGNED
            if assigned and person is not None and person.telegram_id is not None:
                return [person.telegram_id]
            return [dispatch]
        leads = [
            p.telegram_id
            for p in self._routing.people
            if Role.LEAD in p.roles and p.telegram_id is not None
        ]
        return list(dict.fromkeys([dispatch, *leads]))

    async def _tell(self, uow: UnitOfWork, chat: int, item: _Found) -> None:
        assignee = self._routing.person(item.due.assignee_key or "")
        if assignee is not None and chat == assignee.telegram_id and not item.notice.breach:
            payload = self._renderer.sla_warning(item.notice, url=item.due.url)
            uow.outbox.enqueue_plain(chat_id=chat, payload=payload)
            return
        ticket = await uow.tickets.get(ticket_id=item.due.ticket_id)
        if ticket is not None:
            await self._cards.post_copy(uow, ticket, chat_id=chat, alert=item.notice)

    async def _record(self, uow: UnitOfWork, found: Sequence[_Found]) -> None:
        groups: dict[tuple[EventKind, str], list[int]] = defaultdict(list)
        for item in found:
            kind = EventKind.SLA_BREACHED if item.notice.breach else EventKind.SLA_WARNED
            groups[kind, item.notice.target].append(item.notice.ticket_id)
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
            by_ticket: dict[int, list[Any]] = defaultdict(list)
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


def _notice(item: DueClock, counted: float, *, breach: bool) -> SlaNotice:
    return SlaNotice(
        ticket_id=item.ticket_id,
        number=item.number,
        subject=item.subject,
        target=SlaTarget(item.target),
        breach=breach,
        left=timedelta(seconds=round(item.target_s - counted)),
        target_time=timedelta(seconds=item.target_s),
    )
