"""Developer tasks flowing back: comments and completion reach the ticket and the specialist.

Each new tracker comment becomes an internal note in the helpdesk ticket and a
message to the specialist (with a button to reply into the task). A comment
is carried exactly once, however often a task is read (events, polls): its id
is recorded in the same transaction that queues its note. Comments Modest wrote
itself are recorded when written, so they are never echoed back.
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from config.routing import RoutingConfig
from connectors.base import TransientError
from connectors.trackers import TrackerComment, TrackerConnector, TrackerTask
from dispatch.actors import People
from dispatch.dev_tasks import DevOutcome, DevTaskService
from dispatch.events import Actor, EventKind, TicketLog
from dispatch.helpdesk_notes import HelpdeskNotes
from dispatch.job_payloads import HelpdeskNote, HelpdeskStatus, SyncDevTask, enqueue
from dispatch.views import DevTaskMessages
from storage.db import Database, UnitOfWork
from storage.job_repository import RetryJob
from storage.models import DevTaskRow, JobRow, TicketRow
from storage.types import utcnow

log = structlog.get_logger(__name__)

REOPEN_WINDOW = timedelta(days=14)
DEV_REPLY = "dev_reply"


class DevTaskSync:
    """Reads linked tasks and carries what changed into the ticket."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        renderer: DevTaskMessages,
        tracker: TrackerConnector | None,
        tasks: DevTaskService,
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
        self._tasks = tasks

    async def sync_open(self) -> int:
        """Read every open linked task (the periodic poll); how many were read."""
        if self._tracker is None:
            return 0
        # Done tasks are read for a while too: a task reopened in the tracker must be seen.
        recently = utcnow() - REOPEN_WINDOW
        async with self._db.unit_of_work() as uow:
            rows = await uow.dev_tasks.open_or_changed_since(
                tracker=self._tracker.slug, since=recently
            )
        for row in rows:
            try:
                await self.sync_task(row.external_id)
            except TransientError as exc:
                # The tracker is down: nothing is lost, the next poll reads it again.
                log.warning("dev_task.sync_failed", task=row.external_id, error=str(exc))
                return 0
        log.info("dev_task.polled", tasks=len(rows))
        return len(rows)

    async def queue_sync(self, *, external_id: str) -> bool:
        """A tracker event named a task: read it soon, in a job; False if it is not ours."""
        if self._tracker is None:
            return False
        async with self._db.unit_of_work() as uow:
            known = await uow.dev_tasks.get_by_external(
                tracker=self._tracker.slug, external_id=external_id
            )
            if known is None:
                return False
            enqueue(uow, SyncDevTask(task=external_id))
            await uow.commit()
        return True

    async def sync_job(self, job: JobRow) -> None:
        """The job queued by a tracker event for one task."""
        try:
            await self.sync_task(SyncDevTask.of(job).task)
        except TransientError as exc:
            raise RetryJob(str(exc)) from exc

    async def sync_task(self, external_id: str) -> None:
        """Read one task and apply its new comments and its state."""
        assert self._tracker is not None
        task = await self._tracker.get_task(external_id)
        comments = await self._tracker.list_comments(external_id)
        async with self._db.unit_of_work() as uow:
            row = await uow.dev_tasks.get_by_external(
                tracker=self._tracker.slug, external_id=external_id, for_update=True
            )
            if row is None:
                return
            ticket = await uow.tickets.get(ticket_id=row.ticket_id)
            assert ticket is not None
            for comment in comments:
                await self._carry_comment(uow, row, ticket, comment)
            await self._apply_state(uow, row, ticket, task)
            await uow.commit()

    async def _carry_comment(
        self, uow: UnitOfWork, row: DevTaskRow, ticket: TicketRow, comment: TrackerComment
    ) -> None:
        assert row.id is not None
        if not await uow.dev_tasks.remember_comment(
            task_id=row.id, external_id=comment.external_id, ours=False
        ):
            return  # carried before, or written by Modest itself
        note = self._notes.dev_note(
            "comment", url=row.url, author=comment.author_name, text=comment.text
        )
        assert ticket.id is not None
        enqueue(uow, HelpdeskNote(ticket_id=ticket.id, text=note))
        specialist = self._routing.person(row.specialist_key) if row.specialist_key else None
        if specialist is not None and specialist.telegram_id is not None:
            view = self._tasks.view(row, ticket)
            uow.outbox.enqueue_plain(
                chat_id=specialist.telegram_id,
                payload=self._renderer.dev_comment(
                    view, author=comment.author_name, text=comment.text
                ),
            )
        await self._events.record(
            uow,
            ticket,
            EventKind.DEV_TASK_COMMENTED,
            Actor.tracker(comment.author_ref),
            detail={
                "task": row.external_id,
                "comment": comment.external_id,
                "author": comment.author_name,
            },
        )
        log.info(
            "dev_task.comment_carried",
            ticket_id=ticket.id,
            task=row.external_id,
            comment=comment.external_id,
        )

    async def _apply_state(
        self, uow: UnitOfWork, row: DevTaskRow, ticket: TicketRow, task: TrackerTask
    ) -> None:
        row.status = task.status
        if task.closed == row.closed:
            return
        row.closed = task.closed
        row.updated_at = utcnow()
        kind = "done" if task.closed else "reopened"
        assert ticket.id is not None
        note = self._notes.dev_note(kind, url=row.url)
        enqueue(uow, HelpdeskNote(ticket_id=ticket.id, text=note))
        if task.closed and self._routing.tracker.done_status:
            status = self._routing.tracker.done_status
            enqueue(uow, HelpdeskStatus(ticket_id=ticket.id, status=status))
        specialist = self._routing.person(row.specialist_key) if row.specialist_key else None
        if specialist is not None and specialist.telegram_id is not None:
            uow.outbox.enqueue_plain(
                chat_id=specialist.telegram_id,
                payload=self._renderer.dev_state(self._tasks.view(row, ticket)),
            )
        await self._events.record(
            uow,
            ticket,
            EventKind.DEV_TASK_DONE if task.closed else EventKind.DEV_TASK_REOPENED,
            Actor.tracker(task.assignee_ref),
            changes={"status": (None, task.status)},
            detail={"task": row.external_id},
        )
        log.info("dev_task.state", ticket_id=ticket.id, task=row.external_id, closed=task.closed)

    async def reply_start(self, *, task_id: int, actor: Actor) -> DevOutcome:
        """ "Reply in the task": ask for the text, by reply."""
        chat = self._people.chat_of(actor)
        async with self._db.unit_of_work() as uow:
            row = await uow.dev_tasks.get(task_id=task_id)
            if row is None:
                return DevOutcome.UNKNOWN
            if chat is None or actor.person_key not in (row.specialist_key, row.developer_key):
                return DevOutcome.NOT_ALLOWED
            ticket = await uow.tickets.get(ticket_id=row.ticket_id)
            assert ticket is not None
            question = await uow.messages.create(
                ticket_id=row.ticket_id, kind=DEV_REPLY, chat_id=chat
            )
            await uow.sync_state.put(key=f"devreply.{question.id}", value=str(task_id))
            await uow.outbox.enqueue_send(
                message=question,
                ticket_id=row.ticket_id,
                payload=self._renderer.dev_reply_question(self._tasks.view(row, ticket)),
            )
            await uow.commit()
        return DevOutcome.OK

    async def reply_text(
        self, *, chat_id: int, reply_to_message_id: int, text: str, actor: Actor
    ) -> DevOutcome | None:
        """The reply's text goes into the task as a comment (never echoed back)."""
        async with self._db.unit_of_work() as uow:
            question = await uow.messages.get_by_telegram(
                chat_id=chat_id, message_id=reply_to_message_id
            )
            if question is None or question.kind != DEV_REPLY:
                return None
            task_ref = await uow.sync_state.get(key=f"devreply.{question.id}")
            row = await uow.dev_tasks.get(task_id=int(task_ref)) if task_ref else None
        if row is None or self._tracker is None or not text.strip():
            return DevOutcome.UNKNOWN
        comment_id = await self._tracker.add_comment(row.external_id, text.strip())
        assert row.id is not None
        async with self._db.unit_of_work() as uow:
            await uow.dev_tasks.remember_comment(task_id=row.id, external_id=comment_id, ours=True)
            ticket = await uow.tickets.get(ticket_id=row.ticket_id)
            if ticket is not None:
                await self._events.record(
                    uow,
                    ticket,
                    EventKind.DEV_TASK_COMMENTED,
                    actor,
                    detail={"task": row.external_id, "comment": comment_id, "ours": True},
                )
            await uow.commit()
        return DevOutcome.OK

    async def send_my_tasks(self, *, actor: Actor) -> bool:
        """``/tasks``: my tasks as developer, and the tasks of my tickets as specialist."""
        person = self._people.person(actor)
        if person is None or person.telegram_id is None:
            return False
        telegram_id = person.telegram_id
        async with self._db.unit_of_work() as uow:
            rows = await uow.dev_tasks.of_person(person_key=person.key)
            views = [self._tasks.view(row, ticket) for row, ticket in rows]
            uow.outbox.enqueue_plain(
                chat_id=telegram_id, payload=self._renderer.dev_task_list(views)
            )
            await uow.commit()
        return True
