"""The ticket event log: every change of a ticket is recorded and announced here.

A service that changes a ticket calls :meth:`TicketLog.record` inside its unit
of work. The event is appended to the ``ticket_event`` table in the same
transaction, then handed to every feature subscribed to its kind (cards,
reminders, time prompts, the helpdesk write-back; SLA and analytics later), which
queue their own messages and jobs in that same transaction. No feature hooks
itself into intake or assignment: it subscribes here (see ``modest.domain``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from storage.db import UnitOfWork
from storage.models import TicketRow
from storage.types import utcnow


class EventKind(StrEnum):
    """What happened to a ticket."""

    CREATED = "created"
    UPDATED = "updated"
    STATUS_CHANGED = "status_changed"
    DEPARTMENT_CHOSEN = "department_chosen"
    ASSIGNED = "assigned"
    REASSIGNED = "reassigned"
    UNASSIGNED = "unassigned"
    WRITEBACK_RETRIED = "writeback_retried"
    WRITEBACK_DONE = "writeback_done"
    WRITEBACK_FAILED = "writeback_failed"
    REMINDED = "reminded"
    ESCALATED = "escalated"
    FIRST_STAFF_REPLY = "first_staff_reply"
    STAFF_REPLIED = "staff_replied"
    CLIENT_REPLIED = "client_replied"
    DEV_TASK_CREATED = "dev_task_created"
    DEV_TASK_COMMENTED = "dev_task_commented"
    DEV_TASK_DONE = "dev_task_done"
    DEV_TASK_REOPENED = "dev_task_reopened"
    CLOSED = "closed"
    REOPENED = "reopened"
    TIME_RECORDED = "time_recorded"
    TIME_CHANGED = "time_changed"
    #: A staff reply held a word or pattern of ``quality`` (see ``dispatch.stats.quality``).
    FORBIDDEN_WORD = "forbidden_word"
    STAGE_CHANGED = "stage_changed"
    SLA_WARNED = "sla_warned"
    SLA_BREACHED = "sla_breached"
    PASSED_TO_LINE = "passed_to_line"


class Source(StrEnum):
    """Where the news of a change came from."""

    WEBHOOK = "webhook"
    POLL = "poll"
    RECONCILE = "reconcile"
    BOT = "bot"
    TRACKER = "tracker"
    CLI = "cli"
    PORTAL = "portal"
    SCHEDULER = "scheduler"
    BACKFILL = "backfill"


class ActorKind(StrEnum):
    """Who made a change: a routing-file person, a helpdesk or tracker user, Modest."""

    PERSON = "person"
    HELPDESK = "helpdesk"
    TRACKER = "tracker"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, and through which adapter.

    Services take an ``Actor``, never a Telegram id, so the bot, the CLI and a web
    page act through the same code. ``person_key`` is None for someone the routing
    file does not know (every service refuses them what needs a role).
    """

    kind: ActorKind
    ref: str | None
    via: Source

    @classmethod
    def person(cls, key: str | None, via: Source) -> Actor:
        """A person of the routing file (``key`` None: an unknown user)."""
        return cls(ActorKind.PERSON, key, via)

    @classmethod
    def helpdesk(cls, user_ref: str | None, via: Source) -> Actor:
        """A helpdesk user (by the helpdesk's id, when it tells)."""
        return cls(ActorKind.HELPDESK, user_ref, via)

    @classmethod
    def tracker(cls, user_ref: str | None) -> Actor:
        """A task tracker's user (a developer commenting or closing a task)."""
        return cls(ActorKind.TRACKER, user_ref, Source.TRACKER)

    @classmethod
    def system(cls, via: Source = Source.SCHEDULER) -> Actor:
        """Modest itself (reminders, reconciliation)."""
        return cls(ActorKind.SYSTEM, None, via)

    @property
    def person_key(self) -> str | None:
        """The routing-file key of a person actor, else None."""
        return self.ref if self.kind == ActorKind.PERSON else None


#: A field's value before and after a change.
Change = tuple[Any, Any]


@dataclass(frozen=True, slots=True)
class TicketEvent:
    """One recorded change, as the subscribers see it."""

    ticket_id: int
    kind: EventKind
    actor: Actor
    at: datetime
    changes: Mapping[str, Change] = field(default_factory=dict)
    detail: Mapping[str, Any] = field(default_factory=dict)


Subscriber = Callable[[UnitOfWork, TicketRow, TicketEvent], Awaitable[None]]


class TicketLog:
    """Records ticket events and notifies the features subscribed to their kinds."""

    def __init__(self, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock
        self._subscribers: dict[EventKind, list[Subscriber]] = defaultdict(list)

    def subscribe(self, kinds: Iterable[EventKind], subscriber: Subscriber) -> None:
        """Call ``subscriber`` for every event of these kinds, in subscription order."""
        for kind in kinds:
            self._subscribers[kind].append(subscriber)

    async def record(
        self,
        uow: UnitOfWork,
        ticket: TicketRow,
        kind: EventKind,
        actor: Actor,
        *,
        changes: Mapping[str, Change] | None = None,
        detail: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> TicketEvent:
        """Append the event in ``uow``'s transaction, then run its subscribers.

        ``at`` is when it happened, when the helpdesk says (a reply's time); else now.
        """
        assert ticket.id is not None
        event = TicketEvent(
            ticket_id=ticket.id,
            kind=kind,
            actor=actor,
            at=at or self._clock(),
            changes=dict(changes or {}),
            detail=dict(detail or {}),
        )
        uow.events.queue(_values(event))
        for subscriber in self._subscribers.get(kind, ()):
            await subscriber(uow, ticket, event)
        return event

    async def record_each(
        self,
        uow: UnitOfWork,
        ticket_ids: Iterable[int],
        kind: EventKind,
        actor: Actor,
        *,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """The same event for many tickets in one statement (a reminder digest).

        Only for kinds no feature subscribes to: there are no ticket rows to hand over.
        """
        if self._subscribers.get(kind):
            raise ValueError(f"{kind} has subscribers; record it ticket by ticket")
        shared = _values(TicketEvent(0, kind, actor, self._clock(), detail=dict(detail or {})))
        del shared["ticket_id"]
        await uow.events.append_for_tickets(ticket_ids=list(ticket_ids), values=shared)


def _values(event: TicketEvent) -> dict[str, Any]:
    """The event's columns: the log takes them without a row object each."""
    return {
        "ticket_id": event.ticket_id,
        "at": event.at,
        "kind": event.kind.value,
        "actor_kind": event.actor.kind.value,
        "actor": event.actor.ref,
        "source": event.actor.via.value,
        "changes": {
            name: [_plain(old), _plain(new)] for name, (old, new) in event.changes.items()
        },
        "detail": {name: _plain(value) for name, value in event.detail.items()},
    }


def _plain(value: Any) -> Any:
    # The log is JSON: dates as ISO strings, enums as their values.
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value
