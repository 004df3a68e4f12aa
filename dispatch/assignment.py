"""Dispatch taps: browse a department, assign a person, retry a write-back.

Only people with the ``dispatcher`` role may dispatch. The first assignment
wins through a compare-and-set in the database; a later or concurrent one is
told who took the ticket and when.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import structlog

from config.routing import Department, Person, Role, RoutingConfig
from dispatch.cards import CardPublisher
from dispatch.models import TicketState, WritebackState
from dispatch.reminders import NagTracker
from storage.db import Database, UnitOfWork
from storage.models import TicketRow
from storage.types import utcnow

log = structlog.get_logger(__name__)

#: Job that writes an assignment back to the helpdesk.
WRITEBACK_JOB = "helpdesk.assign"


class TapOutcome(StrEnum):
    """How a dispatch tap ended, for the adapter to tell the user."""

    OK = "ok"
    NOT_DISPATCHER = "not_dispatcher"
    UNKNOWN_TICKET = "unknown_ticket"
    UNKNOWN_CHOICE = "unknown_choice"
    ALREADY_TAKEN = "already_taken"
    CLOSED = "closed"
    NOTHING_TO_RETRY = "nothing_to_retry"


@dataclass(frozen=True, slots=True)
class TapResult:
    """The outcome, and for ``ALREADY_TAKEN`` who took the ticket and when."""

    outcome: TapOutcome
    taken_by: str | None = None
    taken_at: datetime | None = None
    assignee: str | None = None


class AssignmentService:
    """Handles the dispatch buttons."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        cards: CardPublisher,
        nags: NagTracker,
        *,
        writes_back: bool,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._cards = cards
        self._nags = nags
        self._writes_back = writes_back
        self._clock = clock

    def dispatcher(self, telegram_id: int) -> Person | None:
        """The dispatcher with this Telegram id, or None."""
        person = self._routing.person_by_telegram_id(telegram_id)
        return person if person is not None and Role.DISPATCHER in person.roles else None

    async def browse(
        self, *, ticket_id: int, department_key: str | None, actor_telegram_id: int
    ) -> TapResult:
        """Show a department's people on the card (``None``: back to the departments)."""
        if self.dispatcher(actor_telegram_id) is None:
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
            await self._cards.refresh_card(uow, ticket, browsing=None if refused else department)
            await uow.commit()
        return refused or TapResult(TapOutcome.OK)

    async def assign(
        self, *, ticket_id: int, department_key: str, person_key: str, actor_telegram_id: int
    ) -> TapResult:
        """Assign the ticket to a member of a department; the first tap wins."""
        actor = self.dispatcher(actor_telegram_id)
        if actor is None:
            return TapResult(TapOutcome.NOT_DISPATCHER)
        department = self._routing.department(department_key)
        person = self._routing.person(person_key)
        if department is None or person is None or person.key not in department.members:
            return TapResult(TapOutcome.UNKNOWN_CHOICE)
        async with self._db.unit_of_work() as uow:
            claimed = await uow.tickets.claim_assignment(
                ticket_id=ticket_id,
                department_key=department.key,
                assignee_key=person.key,
                assigned_by=actor.key,
                at=self._clock(),
                writeback=self._initial_writeback(),
            )
            ticket = await uow.tickets.get(ticket_id=ticket_id)
            if ticket is None:
                return TapResult(TapOutcome.UNKNOWN_TICKET)
            if not claimed:
                return self._refusal(ticket) or TapResult(TapOutcome.UNKNOWN_TICKET)
            await self._after_assignment(uow, ticket, department)
            await uow.commit()
        log.info(
            "dispatch.assigned",
            ticket_id=ticket_id,
            department=department.key,
            assignee=person.key,
            by=actor.key,
        )
        return TapResult(TapOutcome.OK, assignee=person.name)

    async def retry_writeback(self, *, ticket_id: int, actor_telegram_id: int) -> TapResult:
        """Try again to write an assignment back after it failed for good."""
        if self.dispatcher(actor_telegram_id) is None:
            return TapResult(TapOutcome.NOT_DISPATCHER)
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id, for_update=True)
            if ticket is None:
                return TapResult(TapOutcome.UNKNOWN_TICKET)
            if ticket.writeback != WritebackState.FAILED:
                return TapResult(TapOutcome.NOTHING_TO_RETRY)
            ticket.writeback = WritebackState.PENDING
            ticket.writeback_error = None
            self._enqueue_writeback(uow, ticket)
            await self._cards.refresh_card(uow, ticket)
            await uow.commit()
        return TapResult(TapOutcome.OK)

    async def _after_assignment(
        self, uow: UnitOfWork, ticket: TicketRow, department: Department
    ) -> None:
        if self._writes_back:
            self._enqueue_writeback(uow, ticket)
        await self._nags.stop(uow, ticket)
        await self._cards.refresh_card(uow, ticket)
        await self._cards.notify_assignee(uow, ticket)

    def _enqueue_writeback(self, uow: UnitOfWork, ticket: TicketRow) -> None:
        uow.jobs.enqueue(
            kind=WRITEBACK_JOB,
            ticket_id=ticket.id,
            payload={"ticket_id": ticket.id, "version": ticket.version},
        )

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
