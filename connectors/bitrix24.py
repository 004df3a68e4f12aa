"""Bitrix24 tasks through an incoming webhook: create, read, comment, read comments.

Calls, limits and errors are ``connectors.bitrix24_rest`` (shared with the CRM
connector). Facts this relies on (``shared/reference/bitrix24-rest.md``): task
input keys are UPPER_CASE, output camelCase (§4, §9.2); ``tasks.task.get``
answers ``result: []`` for a task that does not exist or is not visible;
old-card comments come from ``task.commentitem.getlist``, new-card ones live in
the task chat, read with ``im.dialog.messages.get`` and ``DIALOG_ID=chat<chatId>``
(§5, §9.6: the webhook needs the ``task`` and ``im`` scopes).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import ClassVar

import httpx
import structlog

from connectors.base import PermanentError
from connectors.bitrix24_parse import (
    CHAT_PREFIX,
    STATUS_NAMES,
    Bitrix24Event,
    chat_comments,
    old_card_comments,
    parse_event,
    parse_webhook_url,
    positive_id,
    task_from_bitrix,
)
from connectors.bitrix24_rest import Bitrix24Rest, PortalRateLimiter, Sleep
from connectors.plugin import Capabilities
from connectors.trackers import TaskDraft, TrackerComment, TrackerConnector, TrackerTask

__all__ = ["Bitrix24Connector", "Bitrix24Event", "PortalRateLimiter", "parse_event"]

log = structlog.get_logger(__name__)

#: ``task.commentitem.getlist`` and ``im.dialog.messages.get`` serve at most 50 a page.
PAGE_SIZE = 50
_MAX_PAGES = 200
_EPOCH = datetime.min.replace(tzinfo=UTC)


def _task_id(value: str) -> int:
    number = positive_id(value)
    if number is None:
        raise PermanentError(f"a Bitrix24 task id must be a positive integer: {value!r}")
    return number


def _ref_id(name: str, value: str) -> int:
    number = positive_id(value)
    if number is None:
        raise PermanentError(f"{name} must be a numeric Bitrix24 id: {value!r}")
    return number


def _comment_order(comment: TrackerComment) -> tuple[datetime, bool, int]:
    # Old-card comments and chat messages have separate id spaces: time first, then kind.
    is_chat = comment.external_id.startswith(CHAT_PREFIX)
    return (
        comment.created_at or _EPOCH,
        is_chat,
        int(comment.external_id.removeprefix(CHAT_PREFIX)),
    )


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


class Bitrix24Connector(TrackerConnector):
    """A Bitrix24 portal reached through an incoming webhook.

    ``done_statuses`` are the status codes that count as finished: 5 (completed),
    and 4 (awaiting control) where the portal's tasks need the creator's approval.
    ``limiter`` may be shared; ``sleep`` and ``wall_clock`` are injectable for tests.
    """

    slug: ClassVar[str] = "bitrix24"
    title: ClassVar[str] = "Bitrix24"
    capabilities: ClassVar[Capabilities] = Capabilities(accepts_events=True)

    def __init__(
        self,
        *,
        webhook_url: str,
        done_statuses: frozenset[int] = frozenset({5}),
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: PortalRateLimiter | None = None,
        retry_attempts: int = 4,
        retry_wait: float = 1.0,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not done_statuses or not done_statuses <= STATUS_NAMES.keys():
            raise ValueError(f"done_statuses must be status codes 1..7, got {set(done_statuses)}")
        webhook = parse_webhook_url(webhook_url)
        self._done = frozenset(done_statuses)
        self._url_template = (
            f"{webhook.origin}/company/personal/user/{webhook.user_id}/tasks/task/view/{{id}}/"
        )
        self._rest = Bitrix24Rest(
            root=webhook.root,
            limiter=limiter if limiter is not None else PortalRateLimiter(sleep=sleep),
            timeout=timeout,
            transport=transport,
            retry_attempts=retry_attempts,
            retry_wait=retry_wait,
            sleep=sleep,
            wall_clock=wall_clock,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._rest.aclose()

    async def check_access(self) -> None:
        """``profile``: the webhook's own user, allowed to every webhook."""
        await self._call("profile", {})

    async def create_task(self, draft: TaskDraft) -> TrackerTask:
        """``tasks.task.add``; ``draft.project`` is the workgroup id (GROUP_ID)."""
        fields: dict[str, object] = {"TITLE": draft.title, "DESCRIPTION": draft.description}
        if draft.assignee_ref is not None:
            fields["RESPONSIBLE_ID"] = _ref_id("assignee_ref", draft.assignee_ref)
        if draft.creator_ref is not None:
            fields["CREATED_BY"] = _ref_id("creator_ref", draft.creator_ref)
        if draft.project is not None:
            fields["GROUP_ID"] = _ref_id("project", draft.project)
        result = await self._call("tasks.task.add", {"fields": fields})
        return self._task(self._task_of(result, "tasks.task.add"))

    async def get_task(self, external_id: str) -> TrackerTask:
        """``tasks.task.get``: status, responsible, change date."""
        return self._task(await self._raw_task(_task_id(external_id)))

    async def list_comments(self, external_id: str) -> list[TrackerComment]:
        """Old-card comments and task-chat messages together, oldest first.

        On a new-card portal ``task.commentitem.getlist`` does not work; when the
        task has a chat, a refusal there is logged and the chat alone is read.
        """
        task_id = _task_id(external_id)
        chat_id = positive_id((await self._raw_task(task_id)).get("chatId"))
        try:
            comments = await self._old_comments(task_id)
        except PermanentError as exc:
            if chat_id is None:
                raise
            log.warning("bitrix24.old_comments_unreadable", task_id=task_id, reason=str(exc))
            comments = []
        if chat_id is not None:
            comments += await self._chat_messages(chat_id)
        return sorted(comments, key=_comment_order)

    async def add_comment(self, external_id: str, text: str) -> str:
        """``task.commentitem.add``; returns the new comment's id."""
        if not text.strip():
            raise PermanentError("a comment needs some text")
        payload = {"TASKID": _task_id(external_id), "FIELDS": {"POST_MESSAGE": text}}
        result = await self._call("task.commentitem.add", payload)
        comment_id = positive_id(result)
        if comment_id is None:
            raise PermanentError("Bitrix24 task.commentitem.add answered without a comment id")
        return str(comment_id)

    def _task(self, raw: Mapping[str, object]) -> TrackerTask:
        return task_from_bitrix(raw, done_statuses=self._done, url_template=self._url_template)

    @staticmethod
    def _task_of(result: object, method: str) -> Mapping[str, object]:
        task = result.get("task") if isinstance(result, dict) else None
        if not isinstance(task, dict):
            # tasks.task.get answers "result": [] for a missing or invisible task.
            raise PermanentError(f"Bitrix24 {method}: no such task, or not visible to the webhook")
        return task

    async def _raw_task(self, task_id: int) -> Mapping[str, object]:
        return self._task_of(
            await self._call("tasks.task.get", {"taskId": task_id}), "tasks.task.get"
        )

    async def _old_comments(self, task_id: int) -> list[TrackerComment]:
        """Every old-card comment, paged by id (the parameter order matters to Bitrix24)."""
        comments: list[TrackerComment] = []
        last = 0
        for _ in range(_MAX_PAGES):
            params = {"TASKID": task_id, "ORDER": {"ID": "asc"}, "FILTER": {">ID": last}}
            result = await self._call("task.commentitem.getlist", params)
            items = _list(result)
            page = old_card_comments(items)
            comments += [c for c in page if int(c.external_id) > last]
            newest = max((int(c.external_id) for c in page), default=last)
            if len(items) < PAGE_SIZE or newest <= last:
                break
            last = newest
        return comments

    async def _chat_messages(self, chat_id: int) -> list[TrackerComment]:
        """Every message of the task chat, read forwards from the first."""
        seen: dict[str, TrackerComment] = {}
        first = 0
        for _ in range(_MAX_PAGES):
            params = {"DIALOG_ID": f"chat{chat_id}", "FIRST_ID": first, "LIMIT": PAGE_SIZE}
            result = await self._call("im.dialog.messages.get", params)
            raw = result.get("messages") if isinstance(result, dict) else None
            ids = [positive_id(m.get("id")) for m in _list(raw) if isinstance(m, dict)]
            newest = max((i for i in ids if i is not None), default=first)
            if isinstance(result, dict):
                seen.update((c.external_id, c) for c in chat_comments(result))
            if len(ids) < PAGE_SIZE or newest <= first:
                break
            first = newest
        return list(seen.values())

    async def _call(self, method: str, params: Mapping[str, object]) -> object:
        return await self._rest.call(method, params)
