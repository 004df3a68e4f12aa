"""Developer tasks: a specialist hands a ticket to a developer in a tracker.

The specialist taps "Developer task" on their ticket, replies with what the
developer should do (or takes the ticket text), and picks a developer. A job
creates the task in the tracker (Bitrix24, Redmine), links it to the ticket,
notes it in the helpdesk (internal, never client-visible) and tells the
developer. Comments and completion flow back in ``dispatch.dev_sync``.
"""

from __future__ import annotations

import json
from enum import StrEnum

import structlog

from config.routing import Person, Role, RoutingConfig
from connectors.base import HelpdeskConnector, TransientError
from connectors.trackers import TRACKER, TaskDraft, TrackerConnector
from dispatch.actors import People
from dispatch.events import Actor, EventKind, Source, TicketLog
from dispatch.helpdesk_notes import HelpdeskNotes
from dispatch.job_payloads import CreateDevTask, HelpdeskNote, enqueue
from dispatch.views import DevTaskMessages, DevTaskView, TicketView
from storage.db import Database, UnitOfWork
from storage.job_repository import RetryJob
from storage.models import DevTaskRow, JobRow, TicketRow

log = structlog.get_logger(__name__)

DEV_QUESTION = "dev_question"
_DRAFT = "devdraft.{}"


class DevOutcome(StrEnum):
    """How a developer-task step ended."""

    OK = "ok"
    NOT_ALLOWED = "not_allowed"
    UNKNOWN = "unknown"
    NO_TRACKER = "no_tracker"


class DevTaskService:
    """The steps from the "Developer task" button to a task in the tracker."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        renderer: DevTaskMessages,
        tracker: TrackerConnector | None,
        helpdesk: HelpdeskConnector,
        events: TicketLog,
        *,
        notes: HelpdeskNotes,
    ) -> None:
        self._notes = notes
        self._db = database
        self._routing = routing
        self._people = People(routing)
        self._events = events
        self._renderer = renderer
        self._tracker = tracker
        self._helpdesk = helpdesk

    @property
    def enabled(self) -> bool:
        """Whether a tracker is configured (else the button is not shown)."""
        return self._tracker is not None

    async def start(self, *, ticket_id: int, actor: Actor) -> DevOutcome:
        """Ask the specialist what the developer should do."""
        if self._tracker is None:
            return DevOutcome.NO_TRACKER
        chat = self._people.chat_of(actor)
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id)
            if ticket is None:
                return DevOutcome.UNKNOWN
            if chat is None or not self._may_hand_over(ticket, actor):
                return DevOutcome.NOT_ALLOWED
            question = await uow.messages.create(
                ticket_id=ticket_id, kind=DEV_QUESTION, chat_id=chat
            )
            assert question.id is not None
            payload = self._renderer.dev_question(self._view(ticket), question_id=question.id)
            await uow.outbox.enqueue_send(message=question, payload=payload, ticket_id=ticket_id)
            await uow.commit()
        return DevOutcome.OK

    def _may_hand_over(self, ticket: TicketRow, actor: Actor) -> bool:
        person = self._people.person(actor)
        if person is None:
            return False
        return person.key == ticket.assignee_key or Role.DISPATCHER in person.roles

    async def statement(
        self, *, chat_id: int, reply_to_message_id: int, text: str, actor: Actor
    ) -> DevOutcome | None:
        """A reply to the question: the statement; None if the reply is to something else."""
        async with self._db.unit_of_work() as uow:
            question = await uow.messages.get_by_telegram(
                chat_id=chat_id, message_id=reply_to_message_id
            )
            if question is None or question.kind != DEV_QUESTION or question.id is None:
                return None
            outcome = await self._ask_developer(uow, question.id, text.strip(), actor)
            await uow.commit()
        return outcome

    async def use_ticket_text(self, *, question_id: int, actor: Actor) -> DevOutcome:
        """ "Use the ticket text" instead of typing a statement."""
        async with self._db.unit_of_work() as uow:
            question = await uow.messages.get(message_row_id=question_id)
            if question is None or question.kind != DEV_QUESTION or question.ticket_id is None:
                return DevOutcome.UNKNOWN
            ticket = await uow.tickets.get(ticket_id=question.ticket_id)
            assert ticket is not None
            outcome = await self._ask_developer(
                uow, question_id, ticket.body or ticket.subject, actor
            )
            await uow.commit()
        return outcome

    async def _ask_developer(
        self, uow: UnitOfWork, question_id: int, statement: str, actor: Actor
    ) -> DevOutcome:
        question = await uow.messages.get(message_row_id=question_id)
        if question is None or question.ticket_id is None:
            return DevOutcome.UNKNOWN
        chat = self._people.chat_of(actor)
        if chat is None or question.chat_id != chat:
            return DevOutcome.NOT_ALLOWED
        ticket = await uow.tickets.get(ticket_id=question.ticket_id)
        assert ticket is not None
        specialist = self._people.person(actor)
        draft = {
            "ticket": ticket.id,
            "statement": statement[:4000],
            "specialist": specialist.key if specialist else None,
        }
        await uow.sync_state.put(key=_DRAFT.format(question_id), value=json.dumps(draft))
        developers = [p for p in self._routing.people if Role.DEVELOPER in p.roles]
        payload = self._renderer.dev_pick(self._view(ticket), developers, draft=question_id)
        uow.outbox.enqueue_plain(chat_id=chat, payload=payload)
        return DevOutcome.OK

    async def pick(self, *, draft: int, developer_key: str, actor: Actor) -> DevOutcome:
        """The developer was chosen: queue the task's creation."""
        developer = self._routing.person(developer_key)
        if developer is None or Role.DEVELOPER not in developer.roles:
            return DevOutcome.UNKNOWN
        async with self._db.unit_of_work() as uow:
            question = await uow.messages.get(message_row_id=draft)
            raw = await uow.sync_state.get(key=_DRAFT.format(draft))
            if question is None or raw is None:
                return DevOutcome.UNKNOWN
            if question.chat_id != self._people.chat_of(actor):
                return DevOutcome.NOT_ALLOWED
            data = json.loads(raw)
            # Take the draft in a compare-and-set: a double tap (or two at once) makes one task.
            if not data or not await uow.sync_state.replace(
                key=_DRAFT.format(draft), old=raw, new="{}"
            ):
                return DevOutcome.UNKNOWN
            enqueue(uow, CreateDevTask(**data, developer=developer.key, draft=draft))
            await uow.commit()
        return DevOutcome.OK

    async def create(self, job: JobRow) -> None:
        """The job: create the task in the tracker, link it, note it, tell the developer."""
        assert self._tracker is not None
        order = CreateDevTask.of(job)
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=order.ticket)
        if ticket is None:
            return
        developer = self._routing.person(order.developer)
        specialist = self._routing.person(order.specialist) if order.specialist else None
        draft = self._draft(ticket, order.statement, developer, specialist)
        try:
            task = await self._tracker.create_task(draft)
        except TransientError as exc:
            raise RetryJob(str(exc)) from exc
        async with self._db.unit_of_work() as uow:
            row = DevTaskRow(
                ticket_id=ticket.id or 0,
                tracker=self._tracker.slug,
                external_id=task.external_id,
                url=task.url,
                developer_key=developer.key if developer else None,
                specialist_key=specialist.key if specialist else None,
                statement=order.statement,
                status=task.status,
                closed=task.closed,
            )
            await uow.dev_tasks.create(row)
            await self._announce(uow, row, ticket)
            await self._events.record(
                uow,
                ticket,
                EventKind.DEV_TASK_CREATED,
                Actor.person(row.specialist_key, Source.BOT)
                if row.specialist_key
                else Actor.system(Source.TRACKER),
                detail={
                    "tracker": row.tracker,
                    "task": row.external_id,
                    "developer": row.developer_key,
                    "url": row.url,
                },
            )
            await uow.commit()
        log.info(
            "dev_task.created",
            ticket_id=ticket.id,
            tracker=self._tracker.slug,
            task=task.external_id,
        )

    def _draft(
        self,
        ticket: TicketRow,
        statement: str,
        developer: Person | None,
        specialist: Person | None,
    ) -> TaskDraft:
        dev_ref = self._tracker_ref(developer)
        spec_ref = self._tracker_ref(specialist)
        department = (
            self._routing.department(ticket.department_key) if ticket.department_key else None
        )
        project = (
            department.tracker_project
            if department and department.tracker_project
            else self._routing.tracker.project
        )
        client = ", ".join(p for p in (ticket.client_company, ticket.client_name) if p)
        description = "\n\n".join(
            part
            for part in (
                statement,
                f"Ticket #{ticket.number}: {ticket.subject}" + (f" ({client})" if client else ""),
                ticket.body,
                ticket.url or "",
            )
            if part
        )
        return TaskDraft(
            title=f"[#{ticket.number}] {ticket.subject}"[:250],
            description=description,
            assignee_ref=dev_ref,
            creator_ref=spec_ref,
            project=project,
        )

    def _tracker_ref(self, person: Person | None) -> str | None:
        """The person's user id in the configured tracker (by the key it declares)."""
        return self._routing.person_ref(person, TRACKER.name) if person else None

    async def _announce(self, uow: UnitOfWork, row: DevTaskRow, ticket: TicketRow) -> None:
        view = self.view(row, ticket)
        note = self._notes.dev_note("created", url=row.url)
        assert ticket.id is not None
        enqueue(uow, HelpdeskNote(ticket_id=ticket.id, text=note))
        for key, for_developer in ((row.developer_key, True), (row.specialist_key, False)):
            person = self._routing.person(key) if key else None
            if person is not None and person.telegram_id is not None:
                uow.outbox.enqueue_plain(
                    chat_id=person.telegram_id,
                    payload=self._renderer.dev_created(view, for_developer=for_developer),
                )

    def _view(self, ticket: TicketRow) -> TicketView:
        return TicketView.of(ticket, self._routing)

    def view(self, row: DevTaskRow, ticket: TicketRow) -> DevTaskView:
        """How a linked task is shown."""
        developer = self._routing.person(row.developer_key) if row.developer_key else None
        return DevTaskView(
            row.id or 0,
            self._view(ticket),
            row.url,
            developer.name if developer else None,
            row.statement,
            row.closed,
        )
