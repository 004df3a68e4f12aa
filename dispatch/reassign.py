"""After the assignment: reassign (a dispatcher), hand back (the assignee).

A dispatcher presses "Reassign" on an assigned ticket's card, picks a department and
a person again; the change is written back to the helpdesk like an assignment, and
the old and the new assignee are told. The assignee presses "Hand back" on their
private message: the ticket returns to dispatch (its card says who handed it back,
reminders start again, the helpdesk gets a note). Each is a ticket event
(``reassigned``, ``unassigned``); the card, the messages, the reminders and the
write-back follow as its subscribers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from config.routing import Department, Person, RoutingConfig
from dispatch.assignment import TapOutcome, TapResult, dispatcher_of
from dispatch.cards import CardPublisher
from dispatch.events import Actor, EventKind, TicketLog
from dispatch.helpdesk_notes import HelpdeskNotes
from dispatch.job_payloads import HelpdeskNote, enqueue
from dispatch.models import TicketState, WritebackState
from storage.db import Database, UnitOfWork
from storage.models import TicketRow
from storage.types import utcnow

log = structlog.get_logger(__name__)


class Reassignment:
    """Handles "Reassign" on the card and "Hand back" on the assignee's message."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        cards: CardPublisher,
        events: TicketLog,
        *,
        writes_back: bool,
        notes: HelpdeskNotes | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._cards = cards
        self._events = events
        self._writes_back = writes_back
        self._notes = notes
        self._clock = clock

    async def browse(
        self, *, ticket_id: int, department_key: str | None, actor: Actor
    ) -> TapResult:
        """Reassigning: the departments (``None``), or one department's people, on the card."""
        if dispatcher_of(self._routing, actor) is None:
            return TapResult(TapOutcome.NOT_DISPATCHER)
        department = self._routing.department(department_key) if department_key else None
        if department_key and department is None:
            return TapResult(TapOutcome.UNKNOWN_CHOICE)
        return await self._on_card(ticket_id, department, reassigning=True)

    async def cancel(self, *, ticket_id: int, actor: Actor) -> TapResult:
        """Leave reassigning: the card as it was."""
        if dispatcher_of(self._routing, actor) is None:
            return TapResult(TapOutcome.NOT_DISPATCHER)
        return await self._on_card(ticket_id, None, reassigning=False)

    async def reassign(
        self, *, ticket_id: int, department_key: str, person_key: str, actor: Actor
    ) -> TapResult:
        """Give an assigned ticket to a member of a department."""
        dispatcher = dispatcher_of(self._routing, actor)
        if dispatcher is None:
            return TapResult(TapOutcome.NOT_DISPATCHER)
        department = self._routing.department(department_key)
        person = self._routing.person(person_key)
        if department is None or person is None or person.key not in department.members:
            return TapResult(TapOutcome.UNKNOWN_CHOICE)
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id, for_update=True)
            refused = _not_assigned(ticket)
            if refused is not None or ticket is None:
                if ticket is not None:  # the reassign buttons are out of date: redraw
                    await self._cards.refresh_card(uow, ticket)
                    await uow.commit()
                return refused or TapResult(TapOutcome.UNKNOWN_TICKET)
            if (ticket.assignee_key, ticket.department_key) == (person.key, department.key):
                await self._cards.refresh_card(uow, ticket)
                await uow.commit()
                return TapResult(TapOutcome.UNCHANGED, assignee=person.name)
            await self._move(uow, ticket, department, person, dispatcher, actor)
            await uow.commit()
        log.info("dispatch.reassigned", ticket_id=ticket_id, assignee=person.key)
        return TapResult(TapOutcome.OK, assignee=person.name)

    async def hand_back(self, *, ticket_id: int, actor: Actor) -> TapResult:
        """The assignee gives the ticket back to dispatch."""
        person = self._routing.person(actor.person_key) if actor.person_key else None
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id, for_update=True)
            if ticket is None:
                return TapResult(TapOutcome.UNKNOWN_TICKET)
            if ticket.state == TicketState.CLOSED:
                return TapResult(TapOutcome.CLOSED)
            mine = person is not None and ticket.assignee_key == person.key
            if ticket.state != TicketState.ASSIGNED or not mine or person is None:
                return TapResult(TapOutcome.NOT_YOURS)
            await self._release(uow, ticket, actor)
            if self._notes is not None and self._writes_back:
                assert ticket.id is not None
                note = self._notes.hand_back_note(who=person.name)
                enqueue(uow, HelpdeskNote(ticket_id=ticket.id, text=note))
            await uow.commit()
        log.info("dispatch.handed_back", ticket_id=ticket_id, by=person.key)
        return TapResult(TapOutcome.HANDED_BACK)

    async def _on_card(
        self, ticket_id: int, department: Department | None, *, reassigning: bool
    ) -> TapResult:
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id, for_update=True)
            if ticket is None:
                return TapResult(TapOutcome.UNKNOWN_TICKET)
            refused = _not_assigned(ticket) if reassigning else None
            # The card's own navigation: drawn here, not by a subscriber.
            await self._cards.refresh_card(
                uow,
                ticket,
                browsing=department if refused is None else None,
                reassigning=reassigning and refused is None,
            )
            await uow.commit()
        return refused or TapResult(TapOutcome.OK)

    async def _move(
        self,
        uow: UnitOfWork,
        ticket: TicketRow,
        department: Department,
        person: Person,
        dispatcher: Person,
        actor: Actor,
    ) -> None:
        old = (ticket.assignee_key, ticket.department_key)
        ticket.assignee_key = person.key
        ticket.department_key = department.key
        ticket.assigned_by = dispatcher.key
        ticket.assigned_at = self._clock()
        ticket.writeback = WritebackState.PENDING if self._writes_back else WritebackState.NONE
        ticket.writeback_error = None
        ticket.version += 1
        await self._events.record(
            uow,
            ticket,
            EventKind.REASSIGNED,
            actor,
            changes={"assignee": (old[0], person.key), "department": (old[1], department.key)},
            detail={"how": "button"},
        )

    async def _release(self, uow: UnitOfWork, ticket: TicketRow, actor: Actor) -> None:
        old = (ticket.assignee_key, ticket.department_key)
        ticket.state = TicketState.UNASSIGNED
        ticket.assignee_key = None
        ticket.department_key = None
        ticket.assigned_by = None
        ticket.assigned_at = None
        ticket.writeback = WritebackState.NONE
        ticket.writeback_error = None
        ticket.version += 1
        await self._events.record(
            uow,
            ticket,
            EventKind.UNASSIGNED,
            actor,
            changes={
                "state": (TicketState.ASSIGNED, TicketState.UNASSIGNED),
                "assignee": (old[0], None),
                "department": (old[1], None),
            },
            detail={"how": "hand_back"},
        )


def _not_assigned(ticket: TicketRow | None) -> TapResult | None:
    """Why an assigned ticket's buttons no longer apply; None when they do."""
    if ticket is None:
        return TapResult(TapOutcome.UNKNOWN_TICKET)
    if ticket.state == TicketState.CLOSED:
        return TapResult(TapOutcome.CLOSED)
    if ticket.state != TicketState.ASSIGNED:
        return TapResult(TapOutcome.UNKNOWN_CHOICE)
    return None
