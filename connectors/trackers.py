"""The task tracker interface: developer tasks linked to a ticket.

A specialist creates a task from a ticket; the developer's comments and completion flow
back. Connectors raise only :mod:`connectors.base` errors; refs are tracker user ids.
The vendors (``connectors.bitrix24``, ``connectors.redmine``) implement this base;
``connectors.registry`` knows them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from connectors.plugin import Capabilities, ConnectorKind


@dataclass(frozen=True, slots=True)
class TaskDraft:
    """What Modest asks a tracker to create; ``project`` overrides the configured one."""

    title: str
    description: str
    assignee_ref: str | None
    creator_ref: str | None
    project: str | None = None


@dataclass(frozen=True, slots=True)
class TrackerTask:
    """A task as the tracker has it now; ``closed`` means the developer is done."""

    external_id: str
    url: str | None
    status: str
    closed: bool
    assignee_ref: str | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class TrackerComment:
    """One comment on a task; ``external_id`` is unique within its task."""

    external_id: str
    author_ref: str | None
    author_name: str
    text: str
    created_at: datetime | None


class TrackerConnector(ABC):
    """A tracker Modest creates developer tasks in and reads them back from."""

    slug: ClassVar[str]
    #: The system's name as people know it ("Redmine"), for messages.
    title: ClassVar[str] = "tracker"
    capabilities: ClassVar[Capabilities] = Capabilities()

    @abstractmethod
    async def create_task(self, draft: TaskDraft) -> TrackerTask:
        """Create a task and return it as the tracker stored it."""

    @abstractmethod
    async def get_task(self, external_id: str) -> TrackerTask:
        """Read one task; PermanentError when it does not exist or is not visible."""

    @abstractmethod
    async def list_comments(self, external_id: str) -> list[TrackerComment]:
        """Every comment of the task, oldest first."""

    @abstractmethod
    async def add_comment(self, external_id: str, text: str) -> str:
        """Add a comment and return its id (so Modest can recognise its own echo)."""

    async def check_access(self) -> None:  # noqa: B027 - optional: nothing to check by default
        """One cheap authenticated call: AccessDenied when the credentials are refused."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Release network resources."""


#: The kind of every task tracker: ``tracker.kind`` in the routing file picks one.
TRACKER: ConnectorKind[TrackerConnector] = ConnectorKind("tracker")
