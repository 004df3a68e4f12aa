"""Task trackers (Bitrix24, Redmine): developer tasks linked to a ticket.

A specialist creates a task from a ticket; the developer's comments and completion flow
back. Connectors raise only :mod:`connectors.base` errors; refs are tracker user ids.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar


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

    async def aclose(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Release network resources."""


@dataclass(frozen=True, slots=True)
class TrackerOptions:
    """Everything a tracker factory may need; unused fields are ignored."""

    bitrix24_webhook_url: str | None = field(default=None, repr=False)  # its path is a secret
    bitrix24_done_statuses: frozenset[int] = frozenset({5})
    redmine_url: str | None = None
    redmine_api_key: str | None = field(default=None, repr=False)
    redmine_project: str | None = None
    redmine_tracker_id: int | None = None
    redmine_max_requests_per_minute: int = 120


TrackerFactory = Callable[[TrackerOptions], TrackerConnector]


def build_bitrix24(options: TrackerOptions) -> TrackerConnector:
    """A Bitrix24 connector; ValueError when the webhook URL is missing."""
    # Imported here: the vendor modules import this one for the base class.
    from connectors.bitrix24 import Bitrix24Connector

    if not options.bitrix24_webhook_url:
        raise ValueError("Bitrix24 needs bitrix24_webhook_url")
    return Bitrix24Connector(
        webhook_url=options.bitrix24_webhook_url, done_statuses=options.bitrix24_done_statuses
    )


def build_redmine(options: TrackerOptions) -> TrackerConnector:
    """A Redmine connector; ValueError names the first missing setting."""
    from connectors.redmine import RedmineConnector

    if not options.redmine_url or not options.redmine_api_key:
        raise ValueError("Redmine needs redmine_url and redmine_api_key")
    return RedmineConnector(
        base_url=options.redmine_url,
        api_key=options.redmine_api_key,
        project=options.redmine_project,
        tracker_id=options.redmine_tracker_id,
        max_requests_per_minute=options.redmine_max_requests_per_minute,
    )


class TrackerRegistry:
    """Tracker factories by slug."""

    def __init__(self) -> None:
        self._factories: dict[str, TrackerFactory] = {}

    def register(self, slug: str, factory: TrackerFactory, *, replace: bool = False) -> None:
        """Add a factory; registering a taken slug needs ``replace=True``."""
        if slug in self._factories and not replace:
            raise ValueError(f"tracker {slug!r} is already registered")
        self._factories[slug] = factory

    def create(self, slug: str, options: TrackerOptions) -> TrackerConnector:
        """Build the connector for ``slug``; ValueError lists the known slugs."""
        try:
            factory = self._factories[slug]
        except KeyError:
            known = ", ".join(self.slugs()) or "none"
            raise ValueError(f"unknown tracker {slug!r}; known: {known}") from None
        return factory(options)

    def slugs(self) -> list[str]:
        """Registered slugs, sorted."""
        return sorted(self._factories)


def default_tracker_registry() -> TrackerRegistry:
    """A new registry with the built-in trackers: ``bitrix24`` and ``redmine``."""
    registry = TrackerRegistry()
    registry.register("bitrix24", build_bitrix24)
    registry.register("redmine", build_redmine)
    return registry
