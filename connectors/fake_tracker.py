"""An in-memory task tracker for tests: a developer's comments and completion on demand."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import ClassVar, Literal

from connectors.base import ConnectorError, PermanentError
from connectors.plugin import Capabilities
from connectors.trackers import TaskDraft, TrackerComment, TrackerConnector, TrackerTask

Operation = Literal["create_task", "get_task", "list_comments", "add_comment"]

OPEN = "open"
DONE = "done"
#: Who Modest's own comments are written as.
MODEST_REF = "modest"


class FakeTracker(TrackerConnector):
    """Tasks live in ``tasks``, their comments in ``comments``; ids count up from 1.

    ``drafts`` records every created draft and ``added`` every ``add_comment`` call
    (task id, text), in order. ``fail`` makes the next calls of one operation raise.
    """

    slug: ClassVar[str] = "fake-tracker"
    capabilities: ClassVar[Capabilities] = Capabilities(accepts_events=True)

    def __init__(self, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.tasks: dict[str, TrackerTask] = {}
        self.comments: dict[str, list[TrackerComment]] = {}
        self.drafts: list[TaskDraft] = []
        self.added: list[tuple[str, str]] = []
        self.closed = False
        self._now = now
        self._next_task = 1
        self._next_comment = 1
        self._failures: dict[str, list[ConnectorError]] = {}

    def fail(self, operation: Operation, times: int, error: ConnectorError) -> None:
        """Make the next ``times`` calls of ``operation`` raise ``error`` (nothing changes)."""
        self._failures.setdefault(operation, []).extend([error] * times)

    def add_developer_comment(
        self,
        task_id: str,
        text: str,
        *,
        author_ref: str = "dev-1",
        author_name: str = "Developer",
    ) -> str:
        """A comment the developer writes in the tracker; returns its id."""
        return self._comment(task_id, text, author_ref, author_name)

    def complete(self, task_id: str) -> TrackerTask:
        """The developer finishes the task."""
        return self._set(task_id, status=DONE, closed=True)

    def reopen(self, task_id: str) -> TrackerTask:
        """The task is reopened in the tracker."""
        return self._set(task_id, status=OPEN, closed=False)

    async def create_task(self, draft: TaskDraft) -> TrackerTask:
        """Store a new open task."""
        self._maybe_fail("create_task")
        task_id = str(self._next_task)
        self._next_task += 1
        self.drafts.append(draft)
        task = TrackerTask(
            external_id=task_id,
            url=f"https://tracker.test/tasks/{task_id}",
            status=OPEN,
            closed=False,
            assignee_ref=draft.assignee_ref,
            updated_at=self._now(),
        )
        self.tasks[task_id] = task
        self.comments[task_id] = []
        return task

    async def get_task(self, external_id: str) -> TrackerTask:
        """The stored task; PermanentError for an unknown id."""
        self._maybe_fail("get_task")
        return self._task(external_id)

    async def list_comments(self, external_id: str) -> list[TrackerComment]:
        """The task's comments, oldest first."""
        self._maybe_fail("list_comments")
        self._task(external_id)
        return list(self.comments[external_id])

    async def add_comment(self, external_id: str, text: str) -> str:
        """Store Modest's comment and return its id."""
        self._maybe_fail("add_comment")
        comment_id = self._comment(external_id, text, MODEST_REF, "Modest")
        self.added.append((external_id, text))
        return comment_id

    async def aclose(self) -> None:
        """Remember that it was closed, so tests can check cleanup."""
        self.closed = True

    def _maybe_fail(self, operation: str) -> None:
        pending = self._failures.get(operation)
        if pending:
            raise pending.pop(0)

    def _task(self, task_id: str) -> TrackerTask:
        try:
            return self.tasks[task_id]
        except KeyError:
            raise PermanentError(f"fake tracker has no task {task_id!r}") from None

    def _set(self, task_id: str, *, status: str, closed: bool) -> TrackerTask:
        task = replace(self._task(task_id), status=status, closed=closed, updated_at=self._now())
        self.tasks[task_id] = task
        return task

    def _comment(self, task_id: str, text: str, author_ref: str, author_name: str) -> str:
        self._task(task_id)
        comment_id = str(self._next_comment)
        self._next_comment += 1
        comment = TrackerComment(comment_id, author_ref, author_name, text, self._now())
        self.comments[task_id].append(comment)
        self._set(task_id, status=self.tasks[task_id].status, closed=self.tasks[task_id].closed)
        return comment_id
