"""Passing a ticket to the next support line.

The assignee taps "pass to line N+1" on their ticket: a question comes with a
button per department of line N+1; a reply to it is a comment for the next line.
Picking the department hands the ticket over (a compare-and-set: a double tap, or
two at once, passes it once): it goes back to dispatch, unassigned, on line N+1,
with its history and its SLA clocks running, and the hand-over is an event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

import structlog

from config.routing import Department, RoutingConfig
from dispatch.actors import People
from dispatch.events import Actor, EventKind, TicketEvent, TicketLog
from dispatch.helpdesk_notes import HelpdeskNotes
from dispatch.job_payloads import HelpdeskNote, enqueue
from dispatch.lines.views import LineMessages, LineQuestion, Payload, next_line_departments
from dispatch.models import TicketState, WritebackState
from storage.db import Database, UnitOfWork
from storage.models import LineHandoverRow, TelegramMessageRow, TicketRow
from storage.types import utcnow

log = structlog.get_logger(__name__)

LINE_QUESTION = "line_question"
COMMENT_CHARS = 1000


class LineOutcome(StrEnum):
    """How a hand-over step ended."""

    OK = "ok"
    NOT_YOURS = "not_yours"
    NO_NEXT_LINE = "no_next_line"
    DONE_ALREADY = "done_already"
    UNKNOWN = "unknown"


class LineTracker:
    """Subscriber: an assigned ticket is on its department's line."""

    def __init__(self, routing: RoutingConfig) -> None:
        self._routing = routing

    def subscribe(self, events: TicketLog) -> None:
        """Follow assignments (before the cards, which show the line)."""
        events.subscribe((EventKind.ASSIGNED, EventKind.REASSIGNED), self._on_assigned)

    async def _on_assigned(self, uow: UnitOfWork, ticket: TicketRow, _: TicketEvent) -> None:
        department = self._routing.department(ticket.department_key or "")
        if department is not None:
            ticket.line = department.line


class LineService:
    """The steps from the "pass to line N+1" button to the ticket back in dispatch."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        renderer: LineMessages,
        events: TicketLog,
        *,
        notes: HelpdeskNotes | None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._people = People(routing)
        self._renderer = renderer
        self._events = events
        self._notes = notes
        self._clock = clock

    async def start(self, *, ticket_id: int, actor: Actor) -> LineOutcome:
        """Ask the assignee which department of the next line takes the ticket."""
        person, chat = self._people.person(actor), self._people.chat_of(actor)
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id)
            if ticket is None:
                return LineOutcome.UNKNOWN
            if person is None or chat is None or not _holds(ticket, person.key):
                return LineOutcome.NOT_YOURS
            departments = next_line_departments(self._routing, ticket.line)
            if not departments:
                return LineOutcome.NO_NEXT_LINE
            question = await uow.messages.create(
                ticket_id=ticket_id, kind=LINE_QUESTION, chat_id=chat
            )
            row = await uow.lines.create(
                LineHandoverRow(
                    ticket_id=ticket_id,
                    person_key=person.key,
                    from_line=ticket.line,
                    to_line=ticket.line + 1,
                    question_id=question.id,
                )
            )
            payload = self._question(row, ticket)
            await uow.outbox.enqueue_send(message=question, payload=payload, ticket_id=ticket_id)
            await uow.commit()
        return LineOutcome.OK

    async def comment(
        self, *, chat_id: int, reply_to_message_id: int, text: str, actor: Actor
    ) -> LineOutcome | None:
        """A reply to the question: the comment for the next line; None if it is not one."""
        async with self._db.unit_of_work() as uow:
            question = await uow.messages.get_by_telegram(
                chat_id=chat_id, message_id=reply_to_message_id
            )
            if question is None or question.kind != LINE_QUESTION or question.id is None:
                return None
            row = await uow.lines.by_question(question_id=question.id)
            if row is None:
                return None
            if row.person_key != actor.person_key:
                return LineOutcome.NOT_YOURS
            if row.state != "asked":
                return LineOutcome.DONE_ALREADY
            row.comment = text.strip()[:COMMENT_CHARS]
            ticket = await uow.tickets.get(ticket_id=row.ticket_id)
            assert ticket is not None
            await self._edit_question(uow, question, row, ticket)
            await uow.commit()
        return LineOutcome.OK

    async def pass_on(self, *, handover_id: int, department_key: str, actor: Actor) -> LineOutcome:
        """Hand the ticket to a department of the next line."""
        department = self._routing.department(department_key)
        async with self._db.unit_of_work() as uow:
            row = await uow.lines.get(handover_id=handover_id)
            if row is None or department is None or department.line != row.to_line:
                return LineOutcome.UNKNOWN
            if row.person_key != actor.person_key:
                return LineOutcome.NOT_YOURS
            ticket = await uow.tickets.get(ticket_id=row.ticket_id, for_update=True)
            assert ticket is not None
            # The compare-and-set first: of a double tap, the second finds it taken.
            if not await uow.lines.finish(
                handover_id=handover_id, department_key=department.key, at=self._clock()
            ):
                return LineOutcome.DONE_ALREADY
            if not _holds(ticket, row.person_key) or ticket.line != row.from_line:
                return LineOutcome.NOT_YOURS  # reassigned meanwhile; nothing is committed
            await self._hand_over(uow, ticket, row, department, actor)
            await uow.commit()
        log.info(
            "line.passed", ticket_id=row.ticket_id, line=row.to_line, department=department.key
        )
        return LineOutcome.OK

    async def _hand_over(
        self,
        uow: UnitOfWork,
        ticket: TicketRow,
        row: LineHandoverRow,
        department: Department,
        actor: Actor,
    ) -> None:
        old_assignee, old_department = ticket.assignee_key, ticket.department_key
        holder = self._routing.person(old_assignee or "")
        if ticket.writeback == WritebackState.DONE and holder is not None:
            # The helpdesk has them as the assignee (our write-back), even if no snapshot
            # said so yet: the next one still will, and that is no new assignment.
            ticket.helpdesk_assignee = self._routing.person_ref(holder)
        ticket.state = TicketState.UNASSIGNED
        ticket.assignee_key = None
        ticket.assigned_by = None
        ticket.assigned_at = None
        ticket.department_key = department.key
        ticket.line = row.to_line
        ticket.writeback = WritebackState.NONE
        ticket.writeback_error = None
        ticket.version += 1  # write-backs of the old assignment are stale now
        await self._events.record(
            uow,
            ticket,
            EventKind.PASSED_TO_LINE,
            actor,
            changes={
                "line": (row.from_line, row.to_line),
                "state": (TicketState.ASSIGNED, TicketState.UNASSIGNED),
                "assignee": (old_assignee, None),
                "department": (old_department, department.key),
            },
            detail={"comment": row.comment},
        )
        question = await uow.messages.get(message_row_id=row.question_id or 0)
        if question is not None:
            await self._edit_question(uow, question, row, ticket, passed_to=department.name)
        if self._notes is not None:
            assert ticket.id is not None
            who = self._people.person(actor)
            text = self._notes.line_note(
                line=row.to_line,
                department=department.name,
                who=who.name if who else row.person_key,
                comment=row.comment,
            )
            enqueue(uow, HelpdeskNote(ticket_id=ticket.id, text=text))

    def _question(
        self, row: LineHandoverRow, ticket: TicketRow, passed_to: str | None = None
    ) -> Payload:
        assert row.id is not None
        question = LineQuestion(
            row.id, ticket.number, ticket.subject, row.to_line, row.comment, passed_to
        )
        departments = [] if passed_to else next_line_departments(self._routing, row.from_line)
        return self._renderer.line_question(question, departments)

    async def _edit_question(
        self,
        uow: UnitOfWork,
        question: TelegramMessageRow,
        row: LineHandoverRow,
        ticket: TicketRow,
        *,
        passed_to: str | None = None,
    ) -> None:
        payload = self._question(row, ticket, passed_to)
        await uow.outbox.enqueue_edit(message=question, payload=payload, ticket_id=ticket.id)


def _holds(ticket: TicketRow, person_key: str) -> bool:
    return ticket.state == TicketState.ASSIGNED and ticket.assignee_key == person_key
