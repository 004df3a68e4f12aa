"""Ticket intake: helpdesk events become tickets, cards and card updates.

Each accepted delivery is remembered in the same transaction as its effects,
so a repeated delivery answers "duplicate" and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

import structlog
from sqlalchemy.exc import IntegrityError

from config.routing import RoutingConfig
from dispatch.cards import CardPublisher
from dispatch.models import HelpdeskEvent, TicketData, TicketEventKind, TicketState
from dispatch.reminders import NagTracker
from dispatch.time_tracking import TimeTracker
from storage.db import Database, UnitOfWork
from storage.models import TicketRow
from storage.types import utcnow

log = structlog.get_logger(__name__)

#: Job that fetches a ticket from the helpdesk API, then applies the event.
FETCH_JOB = "helpdesk.fetch"


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
        cards: CardPublisher,
        nags: NagTracker,
        *,
        time: TimeTracker | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._cards = cards
        self._nags = nags
        self._time = time
        self._clock = clock

    async def accept_event(self, event: HelpdeskEvent) -> Intake:
        """Record a delivery that carries the whole ticket and apply it, atomically."""
        for attempt in (1, 2):
            try:
                async with self._db.unit_of_work() as uow:
                    if not await uow.deliveries.remember(
                        source=event.source, delivery_key=event.delivery_key
                    ):
                        return Intake.DUPLICATE
                    ticket = await self._apply(uow, event)
                    await uow.commit()
                break
            except IntegrityError:
                # Another delivery created the same new ticket at the same moment
                # (PostgreSQL): once again, it is an update of that ticket.
                if attempt == 2:
                    raise
        log.info(
            "intake.accepted",
            source=event.source,
            kind=event.kind.value,
            ticket_id=ticket.id,
            external_id=event.ticket.external_id,
            state=ticket.state,
        )
        return Intake.ACCEPTED

    async def accept_fetch_request(
        self, *, source: str, kind: TicketEventKind, external_id: str, delivery_key: str
    ) -> Intake:
        """Record a delivery that carries only a ticket id; a job fetches the ticket."""
        async with self._db.unit_of_work() as uow:
            if not await uow.deliveries.remember(source=source, delivery_key=delivery_key):
                return Intake.DUPLICATE
            uow.jobs.enqueue(
                kind=FETCH_JOB,
                payload={"source": source, "kind": kind.value, "external_id": external_id},
                ticket_id=None,
            )
            await uow.commit()
        log.info("intake.fetch_queued", source=source, kind=kind.value, external_id=external_id)
        return Intake.ACCEPTED

    async def apply_fetched(self, *, source: str, kind: TicketEventKind, data: TicketData) -> None:
        """Apply an event whose ticket was fetched from the helpdesk."""
        event = HelpdeskEvent(source=source, kind=kind, delivery_key="", ticket=data)
        for attempt in (1, 2):
            try:
                async with self._db.unit_of_work() as uow:
                    ticket = await self._apply(uow, event)
                    await uow.commit()
                break
            except IntegrityError:
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

    async def _apply(self, uow: UnitOfWork, event: HelpdeskEvent) -> TicketRow:
        data = event.ticket
        ticket = await uow.tickets.get_by_external(
            source=event.source, external_id=data.external_id, for_update=True
        )
        if ticket is None:
            return await self._create(uow, event.source, data)
        if _older(data, ticket):
            # A listing or fetch from before the last change we applied: it would undo it
            # (and, for a close, ask for the time twice).
            log.info(
                "intake.stale_snapshot",
                ticket_id=ticket.id,
                snapshot=str(data.updated_at),
                applied=str(ticket.helpdesk_updated_at),
            )
            return ticket
        was = ticket.state
        _copy_fields(ticket, data)
        await self._apply_changes(uow, ticket, data)
        if was != ticket.state:
            await self._sync_nag(uow, ticket)
        await uow.session.flush()
        return ticket

    async def _apply_changes(self, uow: UnitOfWork, ticket: TicketRow, data: TicketData) -> None:
        if data.closed:
            if ticket.state != TicketState.CLOSED:
                ticket.state = TicketState.CLOSED
                await self._cards.refresh_card(uow, ticket)
        elif ticket.state == TicketState.CLOSED:
            await self._reopen(uow, ticket, data)
        elif data.assignee_ref:
            await self._assigned_in_helpdesk(uow, ticket, data)

    async def _sync_nag(self, uow: UnitOfWork, ticket: TicketRow) -> None:
        if ticket.state == TicketState.UNASSIGNED:
            await self._nags.start(uow, ticket)
        else:
            await self._nags.stop(uow, ticket)
        if ticket.state == TicketState.CLOSED:
            ticket.closed_at = self._clock()
            if self._time is not None:
                await self._time.on_closed(uow, ticket)

    async def _create(self, uow: UnitOfWork, source: str, data: TicketData) -> TicketRow:
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
        await uow.tickets.create(ticket)
        if ticket.state == TicketState.UNASSIGNED:
            await self._cards.post_card(uow, ticket)
            await self._nags.start(uow, ticket, fresh=True)
        elif ticket.state == TicketState.ASSIGNED:
            await self._cards.notify_assignee(uow, ticket)
        return ticket

    async def _reopen(self, uow: UnitOfWork, ticket: TicketRow, data: TicketData) -> None:
        if data.assignee_ref or ticket.assignee_key:
            ticket.state = TicketState.ASSIGNED
            if data.assignee_ref:
                self._take_helpdesk_assignment(ticket, data)
            await self._cards.refresh_card(uow, ticket)
            await self._cards.notify_assignee(uow, ticket)
        else:
            ticket.state = TicketState.UNASSIGNED
            await self._cards.show_card(uow, ticket)

    async def _assigned_in_helpdesk(
        self, uow: UnitOfWork, ticket: TicketRow, data: TicketData
    ) -> None:
        person = self._routing.person_by_helpdesk_id(data.assignee_ref or "")
        same = person is not None and person.key == ticket.assignee_key
        if ticket.state == TicketState.ASSIGNED and (same or ticket.writeback == "pending"):
            # Our own write-back echoing back, or a stale view of it: nothing changed.
            return
        if ticket.state == TicketState.ASSIGNED and person is None and ticket.assignee_key is None:
            return  # still the same unmapped helpdesk user
        self._take_helpdesk_assignment(ticket, data)
        await self._cards.refresh_card(uow, ticket)
        await self._cards.notify_assignee(uow, ticket)

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


#: The length of the short columns (number, status, priority, type, helpdesk refs).
_SHORT_COLUMN = 64


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


def _copy_fields(ticket: TicketRow, data: TicketData) -> None:
    ticket.number = _storable(data.number, _SHORT_COLUMN)
    ticket.subject = _storable(data.subject)
    if data.body:
        ticket.body = _storable(data.body)
    ticket.status = _storable(data.status, _SHORT_COLUMN)
    ticket.priority = _storable(data.priority, _SHORT_COLUMN)
    ticket.type = _storable(data.type, _SHORT_COLUMN)
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


def _older(data: TicketData, ticket: TicketRow) -> bool:
    return (
        data.updated_at is not None
        and ticket.helpdesk_updated_at is not None
        and data.updated_at < ticket.helpdesk_updated_at
    )
