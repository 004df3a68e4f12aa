"""A ticket's history as people read it: the event log with names resolved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Protocol

from config.routing import Role, RoutingConfig
from dispatch.actors import People
from dispatch.events import Actor, ActorKind, EventKind
from dispatch.views import Payload
from storage.db import Database, UnitOfWork
from storage.models import TicketEventRow, TicketRow


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event of a ticket's history, its actor named."""

    at: datetime
    kind: EventKind
    actor_kind: ActorKind
    actor_name: str
    source: str
    changes: Mapping[str, tuple[Any, Any]]
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Timeline:
    """A ticket and its history, oldest event first."""

    ticket_id: int
    number: str
    subject: str
    assignee_key: str | None
    entries: Sequence[TimelineEntry]


class TicketHistory:
    """Reads timelines (``modest history``, ``/history``)."""

    def __init__(self, database: Database, routing: RoutingConfig) -> None:
        self._db = database
        self._routing = routing

    async def by_reference(self, reference: str) -> Timeline | None:
        """The timeline of the ticket with this helpdesk id or number (``#`` allowed)."""
        reference = reference.strip().removeprefix("#")
        async with self._db.unit_of_work() as uow:
            found = await uow.tickets.find_by_reference(reference=reference)
            if not found:
                return None
            return await self._timeline(uow, found[0])

    async def by_id(self, ticket_id: int) -> Timeline | None:
        """The timeline of the ticket with Modest's id."""
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id)
            if ticket is None:
                return None
            return await self._timeline(uow, ticket)

    async def _timeline(self, uow: UnitOfWork, ticket: TicketRow) -> Timeline:
        assert ticket.id is not None
        rows = await uow.events.for_ticket(ticket_id=ticket.id)
        entries = [self._entry(row) for row in rows]
        return Timeline(ticket.id, ticket.number, ticket.subject, ticket.assignee_key, entries)

    def _entry(self, row: TicketEventRow) -> TimelineEntry:
        actor_kind = ActorKind(row.actor_kind)
        changes = {name: (pair[0], pair[1]) for name, pair in row.changes.items()}
        return TimelineEntry(
            at=row.at,
            kind=EventKind(row.kind),
            actor_kind=actor_kind,
            actor_name=self.actor_name(actor_kind, row.actor),
            source=row.source,
            changes=changes,
            detail=dict(row.detail),
        )

    def actor_name(self, kind: ActorKind, ref: str | None) -> str:
        """A person's name; a helpdesk or tracker user mapped to a person where known."""
        if kind == ActorKind.PERSON and ref:
            person = self._routing.person(ref)
            return person.name if person else ref
        if kind == ActorKind.HELPDESK:
            person = self._routing.person_by_helpdesk_id(ref) if ref else None
            return person.name if person else ("helpdesk" + (f" #{ref}" if ref else ""))
        if kind == ActorKind.TRACKER:
            return "tracker" + (f" #{ref}" if ref else "")
        return "system"

    def person_name(self, key: Any) -> str:
        """A person key in a change, as a name (``—`` for none)."""
        if key is None or key == "":
            return "—"
        person = self._routing.person(str(key))
        return person.name if person else str(key)


def format_line(entry: TimelineEntry, history: TicketHistory, tz: tzinfo) -> str:
    """``YYYY-MM-DD HH:MM  <kind>  <actor>  <details>`` in the time zone ``tz``."""
    when = entry.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return f"{when}  {entry.kind.value}  {entry.actor_name}  {details(entry, history)}".rstrip()


#: Fields of a change that hold a person key, shown by name.
PERSON_FIELDS = frozenset({"assignee"})


def details(entry: TimelineEntry, history: TicketHistory) -> str:
    """What changed (``field: old → new``) and what else the event tells, in one line."""
    parts = []
    for name, (old, new) in entry.changes.items():
        if name in PERSON_FIELDS:
            old, new = history.person_name(old), history.person_name(new)
        parts.append(f"{name}: {_value(old)} → {_value(new)}")
    parts.extend(
        f"{name}={_value(value)}"
        for name, value in entry.detail.items()
        if value not in (None, "", {}) and name not in ("url", "text")
    )
    parts.append(f"via {entry.source}")
    return "; ".join(parts)


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"


class HistoryRenderer(Protocol):
    """Draws a timeline as a message (the bot's implementation lives in ``bot``)."""

    def history(self, timeline: Timeline, history: TicketHistory) -> Payload:
        """The timeline as one message."""
        ...

    def history_not_found(self, reference: str) -> Payload:
        """No ticket with that number."""
        ...


#: Who may read any ticket's history outside the dispatch chat (the assignee always may).
_READERS = frozenset({Role.DISPATCHER, Role.LEAD, Role.MANAGER, Role.ADMIN})


class HistoryCommand:
    """``/history N``: in the dispatch chat, and privately for the assignee and leads."""

    def __init__(
        self, database: Database, routing: RoutingConfig, renderer: HistoryRenderer
    ) -> None:
        self._db = database
        self._routing = routing
        self._history = TicketHistory(database, routing)
        self._renderer = renderer
        self._people = People(routing)

    async def send(self, *, reference: str, actor: Actor, chat_id: int) -> bool:
        """Send the timeline to ``chat_id``; False when the actor may not read it there."""
        in_dispatch = chat_id == self._routing.dispatch.chat_id
        person = self._people.person(actor)
        if not in_dispatch and (person is None or person.telegram_id != chat_id):
            return False
        timeline = await self._history.by_reference(reference)
        if timeline is not None and not in_dispatch:
            assert person is not None
            if person.key != timeline.assignee_key and not _READERS & set(person.roles):
                return False
        payload = (
            self._renderer.history(timeline, self._history)
            if timeline is not None
            else self._renderer.history_not_found(reference)
        )
        async with self._db.unit_of_work() as uow:
            uow.outbox.enqueue_plain(chat_id=chat_id, payload=payload)
            await uow.commit()
        return True
