"""Ticket intake: helpdesk events become tickets and ticket events.

Each accepted delivery is remembered in the same transaction as its effects,
so a repeated delivery answers "duplicate" and changes nothing. What changed
is recorded in the ticket event log (:mod:`dispatch.events`); the cards,
reminders and time prompts follow from there, as its subscribers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import structlog

from config.routing import RoutingConfig
from dispatch.batching import Batcher
from dispatch.events import Actor, Change, EventKind, Source, TicketLog
from dispatch.job_payloads import FetchTicket, enqueue
from dispatch.models import HelpdeskEvent, ReplyAuthor, TicketData, TicketEventKind, TicketState
from dispatch.sla.stages import StatusModel
from storage.db import Database, UnitOfWork
from storage.errors import ConflictError
from storage.models import TicketRow
from storage.types import utcnow

log = structlog.get_logger(__name__)

_REPLY_KINDS = (EventKind.FIRST_STAFF_REPLY, EventKind.STAFF_REPLIED, EventKind.CLIENT_REPLIED)
#: Ticket fields whose change is an "updated" event (status has its own kind).
_TRACKED = (
    "number",
    "subject",
    "body",
    "priority",
    "type",
    "channel",
    "client_name",
    "client_email",
    "client_company",
    "url",
    "helpdesk_department",
)
_SHOWN_CHARS = 200


class Intake(StrEnum):
    """What became of a delivery."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"


class IntakeService:
    """Accepts helpdesk events and applies them to tickets."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        events: TicketLog,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._statuses = StatusModel(routing)
        self._events = events
        self._clock = clock
        self._batcher: Batcher[HelpdeskEvent, Intake] = Batcher(
            self._accept_batch, self._accept_webhook
        )

    async def accept_event(self, event: HelpdeskEvent, *, via: Source = Source.WEBHOOK) -> Intake:
        """Record a delivery that carries the whole ticket and apply it, atomically.

        Webhooks arriving at the same moment are applied together, in one transaction
        (:meth:`_accept_batch`); each is answered after that commit.
        """
        if via == Source.WEBHOOK:
            return await self._batcher.submit(event)
        return await self._accept_one(event, via)

    async def _accept_webhook(self, event: HelpdeskEvent) -> Intake:
        return await self._accept_one(event, Source.WEBHOOK)

    async def _accept_batch(self, events: Sequence[HelpdeskEvent]) -> list[Intake]:
        """Deliveries in one transaction: one multi-row INSERT remembers them all, one
        SELECT finds their tickets, one multi-row INSERT creates the new ones; then each
        ticket's events are recorded (subscribers included) as on the single path."""
        keys = [(event.source, event.delivery_key) for event in events]
        outcomes = [Intake.DUPLICATE] * len(events)
        async with self._db.unit_of_work() as uow:
            fresh = await uow.deliveries.remember_many(keys=list(dict.fromkeys(keys)))
            accepted: list[tuple[int, HelpdeskEvent]] = []
            for n, (key, event) in enumerate(zip(keys, events, strict=True)):
                if key in fresh:
                    fresh.discard(key)  # the same key again in this batch: a duplicate
                    outcomes[n] = Intake.ACCEPTED
                    accepted.append((n, event))
            tickets = await self._apply_many(uow, [event for _, event in accepted])
            await uow.commit()
        for (_, event), ticket in zip(accepted, tickets, strict=True):
            self._log_accepted(event, ticket)
        return outcomes

    async def _apply_many(
        self, uow: UnitOfWork, events: Sequence[HelpdeskEvent]
    ) -> list[TicketRow]:
        """Apply accepted events in one unit of work; the ticket of each, in order."""
        actor = Actor.helpdesk(None, Source.WEBHOOK)
        known = await self._tickets_of(uow, events)
        first: dict[tuple[str, str], int] = {}  # each new ticket: its first event
        later: list[int] = []  # updates, and a new ticket's events after its first
        for n, event in enumerate(events):
            key = (event.source, event.ticket.external_id)
            if key in known or key in first:
                later.append(n)
            else:
                first[key] = n
        new = {n: self._new_row(events[n].source, events[n].ticket) for n in first.values()}
        await uow.tickets.create_many(list(new.values()))
        result: dict[int, TicketRow] = {}
        for n, ticket in new.items():
            data = events[n].ticket
            await self._record_created(uow, ticket, data, actor)
            await self._record_replies(uow, ticket, data, Source.WEBHOOK, fresh=True)
            result[n] = ticket
        for n in later:  # in arrival order, on the single path
            result[n] = await self._apply(uow, events[n], Source.WEBHOOK)
        await uow.flush()
        return [result[n] for n in range(len(events))]

    async def _tickets_of(
        self, uow: UnitOfWork, events: Sequence[HelpdeskEvent]
    ) -> dict[tuple[str, str], TicketRow]:
        """The stored tickets these events are about, locked for update, by key."""
        by_source: dict[str, list[str]] = {}
        for event in events:
            by_source.setdefault(event.source, []).append(event.ticket.external_id)
        found: dict[tuple[str, str], TicketRow] = {}
        for source, external_ids in by_source.items():
            rows = await uow.tickets.get_many_by_external(
                source=source, external_ids=external_ids, for_update=True
            )
            found.update({(row.source, row.external_id): row for row in rows})
        return found

    def _log_accepted(self, event: HelpdeskEvent, ticket: TicketRow) -> None:
        log.info(
            "intake.accepted",
            source=event.source,
            kind=event.kind.value,
            ticket_id=ticket.id,
            external_id=event.ticket.external_id,
            state=ticket.state,
        )

    async def _accept_one(self, event: HelpdeskEvent, via: Source) -> Intake:
        """One delivery in its own transaction (the portal's, and a failed batch's items)."""
        for attempt in (1, 2):
            try:
                async with self._db.unit_of_work() as uow:
                    if not await uow.deliveries.remember(
                        source=event.source, delivery_key=event.delivery_key
                    ):
                        return Intake.DUPLICATE
                    ticket = await self._apply(uow, event, via)
                    await uow.commit()
                break
            except ConflictError:
                # Another delivery created the same new ticket at the same moment
                # (PostgreSQL): once again, it is an update of that ticket.
                if attempt == 2:
                    raise
        self._log_accepted(event, ticket)
        return Intake.ACCEPTED

    async def accept_fetch_request(
        self, *, source: str, kind: TicketEventKind, external_id: str, delivery_key: str
    ) -> Intake:
        """Record a delivery that carries only a ticket id; a job fetches the ticket."""
        async with self._db.unit_of_work() as uow:
            if not await uow.deliveries.remember(source=source, delivery_key=delivery_key):
                return Intake.DUPLICATE
            enqueue(uow, FetchTicket(source=source, kind=kind, external_id=external_id))
            await uow.commit()
        log.info("intake.fetch_queued", source=source, kind=kind.value, external_id=external_id)
        return Intake.ACCEPTED

    async def apply_fetched(
        self,
        *,
        source: str,
        kind: TicketEventKind,
        data: TicketData,
        via: Source = Source.WEBHOOK,
    ) -> None:
        """Apply an event whose ticket was fetched from the helpdesk (``via``: why it was)."""
        event = HelpdeskEvent(source=source, kind=kind, delivery_key="", ticket=data)
        for attempt in (1, 2):
            try:
                async with self._db.unit_of_work() as uow:
                    ticket = await self._apply(uow, event, via)
                    await uow.commit()
                break
            except ConflictError:
                if attempt == 2:  # the same race as in accept_event
                    raise
        log.info(
            "intake.applied",
            source=source,
            kind=kind.value,
            ticket_id=ticket.id,
            external_id=data.external_id,
            state=ticket.state,
        )

    async def _apply(self, uow: UnitOfWork, event: HelpdeskEvent, via: Source) -> TicketRow:
        data = event.ticket
        actor = Actor.helpdesk(None, via)
        ticket = await uow.tickets.get_by_external(
            source=event.source, external_id=data.external_id, for_update=True
        )
        fresh = ticket is None
        if ticket is None:
            ticket = await self._create(uow, event.source, data, actor)
        elif _older(data, ticket):
            # A listing or fetch from before the last change we applied: it would undo it
            # (and, for a close, ask for the time twice).
            log.info(
                "intake.stale_snapshot",
                ticket_id=ticket.id,
                snapshot=str(data.updated_at),
                applied=str(ticket.helpdesk_updated_at),
            )
            return ticket
        else:
            await self._update(uow, ticket, data, actor)
        await self._record_replies(uow, ticket, data, via, fresh=fresh)
        await uow.flush()
        return ticket

    async def _update(
        self, uow: UnitOfWork, ticket: TicketRow, data: TicketData, actor: Actor
    ) -> None:
        old_status, old_assignee_ref = ticket.status, ticket.helpdesk_assignee
        changes = _copy_fields(ticket, data)
        if changes:
            await self._events.record(uow, ticket, EventKind.UPDATED, actor, changes=changes)
        if data.status != old_status:
            await self._events.record(
                uow,
                ticket,
                EventKind.STATUS_CHANGED,
                actor,
                changes={"status": (old_status, data.status)},
            )
        if data.closed:
            if ticket.state != TicketState.CLOSED:
                await self._close(uow, ticket, actor)
        elif ticket.state == TicketState.CLOSED:
            await self._reopen(uow, ticket, data, actor)
        elif data.assignee_ref and not (
            # Handed back in Modest, or passed on to the next line: the helpdesk still
            # names the one who had it, and nobody assigned it anew.
            ticket.state == TicketState.UNASSIGNED and data.assignee_ref == old_assignee_ref
        ):
            await self._assigned_in_helpdesk(uow, ticket, data, actor)

    async def _create(
        self, uow: UnitOfWork, source: str, data: TicketData, actor: Actor
    ) -> TicketRow:
        ticket = self._new_row(source, data)
        await uow.tickets.create(ticket)
        await self._record_created(uow, ticket, data, actor)
        return ticket

    def _new_row(self, source: str, data: TicketData) -> TicketRow:
        """A new ticket as the helpdesk shows it, not yet stored."""
        ticket = TicketRow(
            source=source,
            external_id=data.external_id,
            number=_storable(data.number, _SHORT_COLUMN),
            subject=_storable(data.subject),
            received_at=self._clock(),
        )
        _copy_fields(ticket, data)
        if data.closed:
            ticket.state = TicketState.CLOSED
        elif data.assignee_ref:
            self._take_helpdesk_assignment(ticket, data)
        # Stored with the ticket: the status model's subscriber then finds it in place
        # and the ticket needs no UPDATE of its stage right after its INSERT.
        ticket.stage = self._statuses.stage_of(ticket.status, ticket.state)
        return ticket

    async def _record_created(
        self, uow: UnitOfWork, ticket: TicketRow, data: TicketData, actor: Actor
    ) -> None:
        """The events of a ticket just stored: created (and assigned, when it came so)."""
        detail = {"state": ticket.state, "status": data.status, "priority": data.priority}
        await self._events.record(
            uow, ticket, EventKind.CREATED, actor, detail={**detail, "channel": data.channel}
        )
        if ticket.state == TicketState.ASSIGNED:
            await self._record_assignment(uow, ticket, data, actor, was=TicketState.UNASSIGNED)

    async def _close(self, uow: UnitOfWork, ticket: TicketRow, actor: Actor) -> None:
        was = ticket.state
        ticket.state = TicketState.CLOSED
        ticket.closed_at = self._clock()
        await self._events.record(
            uow, ticket, EventKind.CLOSED, actor, changes={"state": (was, ticket.state)}
        )

    async def _reopen(
        self, uow: UnitOfWork, ticket: TicketRow, data: TicketData, actor: Actor
    ) -> None:
        old_assignee = ticket.assignee_key
        if data.assignee_ref or ticket.assignee_key:
            ticket.state = TicketState.ASSIGNED
            if data.assignee_ref:
                self._take_helpdesk_assignment(ticket, data)
        else:
            ticket.state = TicketState.UNASSIGNED
        changes: dict[str, Change] = {"state": (TicketState.CLOSED, ticket.state)}
        if ticket.assignee_key != old_assignee:
            changes["assignee"] = (old_assignee, ticket.assignee_key)
        await self._events.record(uow, ticket, EventKind.REOPENED, actor, changes=changes)

    async def _assigned_in_helpdesk(
        self, uow: UnitOfWork, ticket: TicketRow, data: TicketData, actor: Actor
    ) -> None:
        person = self._routing.person_by_helpdesk_id(data.assignee_ref or "")
        same = person is not None and person.key == ticket.assignee_key
        if ticket.state == TicketState.ASSIGNED and (same or ticket.writeback == "pending"):
            # Our own write-back echoing back, or a stale view of it: nothing changed.
            return
        if ticket.state == TicketState.ASSIGNED and person is None and ticket.assignee_key is None:
            return  # still the same unmapped helpdesk user
        await self._assign_from_helpdesk(uow, ticket, data, actor)

    async def _assign_from_helpdesk(
        self, uow: UnitOfWork, ticket: TicketRow, data: TicketData, actor: Actor
    ) -> None:
        was, old_assignee, old_department = (
            ticket.state,
            ticket.assignee_key,
            ticket.department_key,
        )
        self._take_helpdesk_assignment(ticket, data)
        await self._record_assignment(
            uow, ticket, data, actor, was=was, old=(old_assignee, old_department)
        )

    async def _record_assignment(
        self,
        uow: UnitOfWork,
        ticket: TicketRow,
        data: TicketData,
        actor: Actor,
        *,
        was: str,
        old: tuple[str | None, str | None] = (None, None),
    ) -> None:
        kind = EventKind.REASSIGNED if was == TicketState.ASSIGNED else EventKind.ASSIGNED
        changes: dict[str, Change] = {
            "assignee": (old[0], ticket.assignee_key),
            "department": (old[1], ticket.department_key),
        }
        detail = {"how": "helpdesk", "helpdesk_assignee": data.assignee_ref}
        await self._events.record(uow, ticket, kind, actor, changes=changes, detail=detail)

    def _take_helpdesk_assignment(self, ticket: TicketRow, data: TicketData) -> None:
        person = self._routing.person_by_helpdesk_id(data.assignee_ref or "")
        department = (
            self._routing.department_by_helpdesk_id(data.department_ref)
            if data.department_ref
            else None
        )
        if department is None and person is not None:
            departments = self._routing.departments_of(person.key)
            department = departments[0] if departments else None
        ticket.state = TicketState.ASSIGNED
        ticket.assignee_key = person.key if person else None
        ticket.department_key = department.key if department else None
        ticket.assigned_by = "helpdesk"
        ticket.assigned_at = self._clock()
        ticket.writeback = "none"
        ticket.writeback_error = None
        ticket.version += 1

    async def _record_replies(
        self,
        uow: UnitOfWork,
        ticket: TicketRow,
        data: TicketData,
        via: Source,
        *,
        fresh: bool = False,
    ) -> None:
        """Each reply the helpdesk shows, once: the first staff reply, later ones, the client's.

        ``fresh``: the ticket was created just now, so none is recorded yet.
        """
        if not data.replies:
            return
        assert ticket.id is not None
        known = (
            [] if fresh else await uow.events.for_ticket(ticket_id=ticket.id, kinds=_REPLY_KINDS)
        )
        seen = {str(row.detail.get("reply")) for row in known}
        answered = any(row.kind == EventKind.FIRST_STAFF_REPLY for row in known)
        far_past = datetime.min.replace(tzinfo=UTC)
        for reply in sorted(data.replies, key=lambda r: r.at or far_past):
            if reply.external_id in seen:
                continue
            seen.add(reply.external_id)
            if reply.author == ReplyAuthor.CLIENT:
                kind, actor = EventKind.CLIENT_REPLIED, Actor.helpdesk(None, via)
            else:
                kind = EventKind.STAFF_REPLIED if answered else EventKind.FIRST_STAFF_REPLY
                answered = True
                person = self._routing.person_by_helpdesk_id(reply.author_ref or "")
                actor = (
                    Actor.person(person.key, via)
                    if person is not None
                    else Actor.helpdesk(reply.author_ref, via)
                )
            detail = {"reply": reply.external_id, "author": reply.author_name}
            if reply.author == ReplyAuthor.STAFF and reply.text:
                detail["text"] = reply.text  # what the quality check of replies reads
            await self._events.record(uow, ticket, kind, actor, detail=detail, at=reply.at)


def _shown(value: Any) -> Any:
    return value[:_SHOWN_CHARS] if isinstance(value, str) else value


#: The length of the short columns (number, status, priority, type, helpdesk refs).
_SHORT_COLUMN = 64
#: The length of the channel column.
_CHANNEL_COLUMN = 32


def _storable(text: str, limit: int | None = None) -> str:
    """Helpdesk text as a database can store it: no NUL, no lone surrogate, not too long.

    A fetched ticket cannot be refused the way a webhook can (it would never get a
    card), so text PostgreSQL or UTF-8 cannot hold is cleaned instead.
    """
    clean = text.replace("\x00", "")
    if not clean.isascii():
        clean = clean.encode("utf-8", "replace").decode("utf-8")
    return clean[:limit]


def _storable_ref(ref: str | None) -> str | None:
    return None if ref is None else _storable(ref, _SHORT_COLUMN)


def _copy_fields(ticket: TicketRow, data: TicketData) -> dict[str, Change]:
    """Copy the helpdesk's view onto the ticket; the tracked fields that changed."""
    before = {name: getattr(ticket, name) for name in _TRACKED}
    ticket.number = _storable(data.number, _SHORT_COLUMN)
    ticket.subject = _storable(data.subject)
    if data.body:
        ticket.body = _storable(data.body)
    ticket.status = _storable(data.status, _SHORT_COLUMN)
    ticket.priority = _storable(data.priority, _SHORT_COLUMN)
    ticket.type = _storable(data.type, _SHORT_COLUMN)
    ticket.channel = _storable(data.channel, _CHANNEL_COLUMN) if data.channel else ticket.channel
    ticket.client_name = _storable(data.client.name)
    ticket.client_email = _storable(data.client.email)
    ticket.client_company = _storable(data.client.company)
    ticket.url = _storable(data.url) if data.url else ticket.url
    ticket.helpdesk_department = _storable_ref(data.department_ref)
    ticket.helpdesk_assignee = _storable_ref(data.assignee_ref)
    if data.created_at is not None:
        ticket.created_at = data.created_at
    if data.updated_at is not None:
        ticket.helpdesk_updated_at = data.updated_at
    return {
        name: (_shown(old), _shown(getattr(ticket, name)))
        for name, old in before.items()
        if old != getattr(ticket, name)
    }


def _older(data: TicketData, ticket: TicketRow) -> bool:
    return (
        data.updated_at is not None
        and ticket.helpdesk_updated_at is not None
        and data.updated_at < ticket.helpdesk_updated_at
    )
