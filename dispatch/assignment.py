"""Dispatch taps: browse a department, assign a person, retry a write-back.

Only people with the ``dispatcher`` role may dispatch. The first assignment
wins through a compare-and-set in the database; a later or concurrent one is
told who took the ticket and when. Each step is a ticket event; the card, the
reminders and the helpdesk write-back follow as its subscribers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import structlog

from config.routing import Department, Person, Role, RoutingConfig
from dispatch.cards import CardPublisher
from dispatch.events import Actor, EventKind, TicketEvent, TicketLog
from dispatch.job_payloads import WriteBack, enqueue
from dispatch.lines.views import line_departments
from dispatch.models import TicketState, WritebackState
from storage.db import Database, UnitOfWork
from storage.models import TicketRow
from storage.types import utcnow

log = structlog.get_logger(__name__)


class TapOutcome(StrEnum):
    """How a dispatch tap ended, for the adapter to tell the user."""

    OK = "ok"
    NOT_DISPATCHER = "not_dispatcher"
    UNKNOWN_TICKET = "unknown_ticket"
    UNKNOWN_CHOICE = "unknown_choice"
    ALREADY_TAKEN = "already_taken"
    CLOSED = "closed"
    NOTHING_TO_RETRY = "nothing_to_retry"
    #: Reassigned to whoever already had it.
    UNCHANGED = "unchanged"
    #: "Hand back" from someone who no longer has the ticket.
    NOT_YOURS = "not_yours"
    HANDED_BACK = "handed_back"
    #: "Take it myself" from a dispatcher in no department.
    NOT_A_MEMBER = "not_a_member"


@dataclass(frozen=True, slots=True)
class TapResult:
    """The outcome, and for ``ALREADY_TAKEN`` who took the ticket and when."""

    outcome: TapOutcome
    taken_by: str | None = None
    taken_at: datetime | None = None
    assignee: str | None = None


def dispatcher_of(routing: RoutingConfig, actor: Actor) -> Person | None:
    """The dispatcher who acts, or None when the actor is not one."""
    key = actor.person_key
    person = routing.person(key) if key else None
    return person if person is not None and Role.DISPATCHER in person.roles else None


class AssignmentService:
    """Handles the dispatch buttons, for an :class:`Actor`."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        cards: CardPublisher,
        events: TicketLog,
        *,
        writes_back: bool,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._cards = cards
        self._events = events
        self._writes_back = writes_back
        self._clock = clock

    def dispatcher(self, actor: Actor) -> Person | None:
        """The dispatcher who acts, or None when the actor is not one."""
        return dispatcher_of(self._routing, actor)

    async def browse(
        self, *, ticket_id: int, department_key: str | None, actor: Actor
    ) -> TapResult:
        """Show a department's people on the card (``None``: back to the departments)."""
        if self.dispatcher(actor) is None:
            return TapResult(TapOutcome.NOT_DISPATCHER)
        department = self._routing.department(department_key) if department_key else None
        if department_key and department is None:
            return TapResult(TapOutcome.UNKNOWN_CHOICE)
        async with self._db.unit_of_work() as uow:
            # Locked: an assignment committing meanwhile must not be painted over.
            ticket = await uow.tickets.get(ticket_id=ticket_id, for_update=True)
            if ticket is None:
                return TapResult(TapOutcome.UNKNOWN_TICKET)
            refused = self._refusal(ticket)
            if department is not None and refused is None:
                await self._events.record(
                    uow,
                    ticket,
                    EventKind.DEPARTMENT_CHOSEN,
                    actor,
                    detail={"department": department.key},
                )
            # Browsing is the card's own navigation: it is drawn here, not by a subscriber.
            await self._cards.refresh_card(uow, ticket, browsing=None if refused else department)
            await uow.commit()
        return refused or TapResult(TapOutcome.OK)

    async def assign(
        self, *, ticket_id: int, department_key: str, person_key: str, actor: Actor
    ) -> TapResult:
        """Assign the ticket to a member of a department; the first tap wins."""
        dispatcher = self.dispatcher(actor)
        if dispatcher is None:
            return TapResult(TapOutcome.NOT_DISPATCHER)
        department = self._routing.department(department_key)
        person = self._routing.person(person_key)
        if department is None or person is None or person.key not in department.members:
            return TapResult(TapOutcome.UNKNOWN_CHOICE)
        return await self._claim(ticket_id, department, person, dispatcher, actor, how="button")

    async def take(self, *, ticket_id: int, actor: Actor) -> TapResult:
        """A dispatcher who is also a specialist takes the ticket; the first tap wins.

        The department is the one the helpdesk files the ticket under when they are in
        it, else their first department on the ticket's support line.
        """
        dispatcher = self.dispatcher(actor)
        if dispatcher is None:
            return TapResult(TapOutcome.NOT_DISPATCHER)
        departments = self._routing.departments_of(dispatcher.key)
        if not departments:
            return TapResult(TapOutcome.NOT_A_MEMBER)
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id)
        if ticket is not None:
            on_line = {d.key for d in line_departments(self._routing, ticket.line)}
            departments = [d for d in departments if d.key in on_line]
            if not departments:
                return TapResult(TapOutcome.NOT_A_MEMBER)
        filed = ticket.helpdesk_department if ticket is not None else None
        department = self._routing.department_by_helpdesk_id(filed) if filed else None
        if department is None or department not in departments:
            department = departments[0]
        return await self._claim(ticket_id, department, dispatcher, dispatcher, actor, how="take")

    async def _claim(
        self,
        ticket_id: int,
        department: Department,
        person: Person,
        dispatcher: Person,
        actor: Actor,
        *,
        how: str,
    ) -> TapResult:
        async with self._db.unit_of_work() as uow:
            claimed = await uow.tickets.claim_assignment(
                ticket_id=ticket_id,
                department_key=department.key,
                assignee_key=person.key,
                assigned_by=dispatcher.key,
                at=self._clock(),
                writeback=self._initial_writeback(),
            )
            ticket = await uow.tickets.get(ticket_id=ticket_id)
            if ticket is None:
                return TapResult(TapOutcome.UNKNOWN_TICKET)
            if not claimed:
                return self._refusal(ticket) or TapResult(TapOutcome.UNKNOWN_TICKET)
            await self._events.record(
                uow,
                ticket,
                EventKind.ASSIGNED,
                actor,
                changes={"assignee": (None, person.key), "department": (None, department.key)},
                detail={"how": how},
            )
            await uow.commit()
        log.info(
            "dispatch.assigned",
            ticket_id=ticket_id,
            department=department.key,
            assignee=person.key,
            by=dispatcher.key,
        )
        return TapResult(TapOutcome.OK, assignee=person.name)

    async def retry_writeback(self, *, ticket_id: int, actor: Actor) -> TapResult:
        """Try again to write an assignment back after it failed for good."""
        if self.dispatcher(actor) is None:
            return TapResult(TapOutcome.NOT_DISPATCHER)
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id, for_update=True)
            if ticket is None:
                return TapResult(TapOutcome.UNKNOWN_TICKET)
            if ticket.writeback != WritebackState.FAILED:
                return TapResult(TapOutcome.NOTHING_TO_RETRY)
            ticket.writeback = WritebackState.PENDING
            ticket.writeback_error = None
            await self._events.record(uow, ticket, EventKind.WRITEBACK_RETRIED, actor)
            await uow.commit()
        return TapResult(TapOutcome.OK)

    def _initial_writeback(self) -> str:
        return WritebackState.PENDING if self._writes_back else WritebackState.NONE

    def _refusal(self, ticket: TicketRow) -> TapResult | None:
        if ticket.state == TicketState.CLOSED:
            return TapResult(TapOutcome.CLOSED)
        if ticket.state == TicketState.ASSIGNED:
            taker = self._routing.person(ticket.assigned_by) if ticket.assigned_by else None
            assignee = self._routing.person(ticket.assignee_key) if ticket.assignee_key else None
            return TapResult(
                TapOutcome.ALREADY_TAKEN,
                taken_by=taker.name if taker else ticket.assigned_by,
                taken_at=ticket.assigned_at,
                assignee=assignee.name if assignee else ticket.assignee_key,
            )
        return None


class WritebackQueue:
    """Subscriber: an assignment made in Modest is queued for the helpdesk."""

    def __init__(self, *, writes_back: bool) -> None:
        self._writes_back = writes_back

    def subscribe(self, events: TicketLog) -> None:
        """Listen to assignments and to retries of a failed write-back."""
        events.subscribe(
            (EventKind.ASSIGNED, EventKind.REASSIGNED, EventKind.WRITEBACK_RETRIED), self.on_event
        )

    async def on_event(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        """Queue the write-back job of a button assignment or a retry."""
        made_here = event.kind == EventKind.WRITEBACK_RETRIED or event.detail.get("how") in (
            "button",
            "take",
        )
        if self._writes_back and made_here:
            assert ticket.id is not None
            enqueue(uow, WriteBack(ticket_id=ticket.id, version=ticket.version))
