"""Pure helpers of the Bitrix24 connector: webhook URL, answers, outbound events.

Bitrix24 takes UPPER_CASE keys on input and answers tasks in camelCase with
numbers as strings; old-card comments come UPPER_CASE, task-chat messages
snake_case. Events are form-encoded POSTs carrying only ids and
``auth[application_token]`` (no signature).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from connectors.base import PermanentError
from connectors.payload import PayloadError
from connectors.trackers import TrackerComment, TrackerTask

__all__ = [
    "CHAT_PREFIX",
    "EVENTS",
    "Bitrix24Event",
    "WebhookUrl",
    "chat_comments",
    "old_card_comments",
    "parse_bitrix_datetime",
    "parse_event",
    "parse_webhook_url",
    "positive_id",
    "task_from_bitrix",
]

EVENTS = frozenset({"ONTASKUPDATE", "ONTASKCOMMENTADD"})
#: Task-chat messages and old-card comments have separate id spaces.
CHAT_PREFIX = "msg-"
#: Task status codes (reference §4; 1 and 7 seen on portals, not documented there).
STATUS_NAMES: dict[int, str] = {
    1: "new",
    2: "pending",
    3: "in progress",
    4: "awaiting control",
    5: "completed",
    6: "deferred",
    7: "declined",
}
_TOKEN_KEY = "auth[application_token]"  # noqa: S105 - a form key, not a secret
_WEBHOOK_PATH = re.compile(r"^/rest/(\d+)/([^/]+)/?$")
# Only the formatting tags Bitrix24 puts into comments; other brackets stay as typed.
_BBCODE = re.compile(
    r"\[/?(?:B|I|U|S|USER|URL|QUOTE|CODE|COLOR|SIZE|FONT|P|LIST|\*|DISK|IMG|CHAT|"
    r"ICON|SEND|PUT|CALL|BR|TABLE|TR|TD|LEFT|RIGHT|CENTER|JUSTIFY)(?:=[^\]]*)?(?: [^\]]*)?\]",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class WebhookUrl:
    """An incoming-webhook URL split up; ``root`` ends with a slash."""

    root: str
    origin: str
    user_id: str


@dataclass(frozen=True, slots=True)
class Bitrix24Event:
    """An authenticated outbound event: which task, and which comment if any.

    ``comment_id`` is set for old-card comments, ``message_id`` for task-chat
    messages (new card: ``ID`` is 0). ``comment_ref`` matches the
    ``TrackerComment.external_id`` that ``list_comments`` gives the same comment.
    """

    event: str
    task_id: str
    comment_id: str | None = None
    message_id: str | None = None

    @property
    def comment_ref(self) -> str | None:
        """The comment's id as ``list_comments`` spells it, or None for a task event."""
        if self.message_id is not None:
            return f"{CHAT_PREFIX}{self.message_id}"
        return self.comment_id


def positive_id(value: object) -> int | None:
    """A positive integer from an int or a decimal string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    text = value.strip() if isinstance(value, str) else ""
    return int(text) if text.isascii() and text.isdecimal() and int(text) > 0 else None


def parse_webhook_url(url: str) -> WebhookUrl:
    """Split ``https://<portal>/rest/<user id>/<code>/``; the error never echoes the URL."""
    parts = urlsplit(url.strip())
    match = _WEBHOOK_PATH.match(parts.path)
    if parts.scheme != "https" or not parts.netloc or match is None or parts.query:
        # The URL holds the webhook's secret code: say what is wrong, not what was given.
        raise ValueError(
            "the Bitrix24 webhook URL must look like https://<portal>/rest/<id>/<code>/"
        )
    origin = f"https://{parts.netloc}"
    return WebhookUrl(f"{origin}/rest/{match[1]}/{match[2]}/", origin, match[1])


def parse_bitrix_datetime(value: object) -> datetime | None:
    """An ISO 8601 date of Bitrix24 (with its offset) as aware UTC; None when unset."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: in UTC it falls off the calendar
        return None


def _text(value: object) -> str:
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip() if isinstance(value, str | int | float) else ""


def _plain(text: str) -> str:
    return _BBCODE.sub("", text).replace("\r\n", "\n").strip()


def task_from_bitrix(
    raw: Mapping[str, object], *, done_statuses: frozenset[int], url_template: str
) -> TrackerTask:
    """A ``result.task`` (camelCase) as a TrackerTask; ``closed`` = status in done_statuses."""
    task_id = positive_id(raw.get("id"))
    if task_id is None:
        raise PermanentError("Bitrix24 answered a task without a numeric id")
    code = positive_id(raw.get("status"))
    assignee = positive_id(raw.get("responsibleId"))
    return TrackerTask(
        external_id=str(task_id),
        url=url_template.format(id=task_id),
        status=STATUS_NAMES.get(code, str(code)) if code is not None else "",
        closed=code in done_statuses,
        assignee_ref=str(assignee) if assignee is not None else None,
        updated_at=parse_bitrix_datetime(raw.get("changedDate")),
    )


def old_card_comments(items: list[object]) -> list[TrackerComment]:
    """``task.commentitem.getlist`` items (UPPER_CASE) as comments."""
    comments = []
    for item in items:
        if not isinstance(item, dict) or positive_id(item.get("ID")) is None:
            continue
        author = positive_id(item.get("AUTHOR_ID"))
        comments.append(
            TrackerComment(
                external_id=str(positive_id(item.get("ID"))),
                author_ref=str(author) if author is not None else None,
                author_name=_text(item.get("AUTHOR_NAME")),
                text=_plain(_text(item.get("POST_MESSAGE"))),
                created_at=parse_bitrix_datetime(item.get("POST_DATE")),
            )
        )
    return comments


def chat_comments(result: Mapping[str, object]) -> list[TrackerComment]:
    """``im.dialog.messages.get`` messages as comments, system messages (author 0) left out."""
    users = result.get("users")
    names = {
        _text(user.get("id")): _text(user.get("name"))
        for user in (users if isinstance(users, list) else [])
        if isinstance(user, dict)
    }
    messages = result.get("messages")
    comments = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        message_id, author = positive_id(message.get("id")), positive_id(message.get("author_id"))
        if message_id is None or author is None:
            continue
        comments.append(
            TrackerComment(
                external_id=f"{CHAT_PREFIX}{message_id}",
                author_ref=str(author),
                author_name=names.get(str(author), ""),
                text=_plain(_text(message.get("text"))),
                created_at=parse_bitrix_datetime(message.get("date")),
            )
        )
    return comments


def _check_token(form: Mapping[str, str], app_token: str) -> None:
    given = form.get(_TOKEN_KEY, "")
    if not app_token:
        raise PayloadError(_TOKEN_KEY, "no application token is configured; events are refused")
    if not given:
        raise PayloadError(_TOKEN_KEY, "missing")
    # surrogatepass: a key that cannot be UTF-8 still compares (unequal) rather than raise.
    if not hmac.compare_digest(given.encode(errors="surrogatepass"), app_token.encode()):
        raise PayloadError(_TOKEN_KEY, "does not match the outgoing webhook's token")


def _field_id(form: Mapping[str, str], name: str) -> int | None:
    return positive_id(form.get(f"data[FIELDS_AFTER][{name}]"))


def parse_event(form: Mapping[str, str], *, app_token: str) -> Bitrix24Event:
    """Check ``auth[application_token]`` in constant time, then read the ids of the event.

    ``form`` is the form-encoded body with its bracketed keys as they came
    (``data[FIELDS_AFTER][TASK_ID]``). A wrong or missing token raises
    PayloadError for ``auth[application_token]`` before anything else is read.
    """
    _check_token(form, app_token)
    event = form.get("event", "").strip().upper()
    if event not in EVENTS:
        raise PayloadError("event", f"unsupported event {event!r}; expected {sorted(EVENTS)}")
    if event == "ONTASKUPDATE":
        task_id = _field_id(form, "ID") or positive_id(form.get("data[FIELDS_BEFORE][ID]"))
        if task_id is None:
            raise PayloadError("data[FIELDS_AFTER][ID]", "missing or not a task id")
        return Bitrix24Event(event, str(task_id))
    task_id = _field_id(form, "TASK_ID")
    if task_id is None:
        raise PayloadError("data[FIELDS_AFTER][TASK_ID]", "missing or not a task id")
    comment_id, message_id = _field_id(form, "ID"), _field_id(form, "MESSAGE_ID")
    if comment_id is None and message_id is None:
        raise PayloadError("data[FIELDS_AFTER][ID]", "neither a comment id nor a MESSAGE_ID")
    return Bitrix24Event(
        event,
        str(task_id),
        comment_id=str(comment_id) if comment_id is not None else None,
        message_id=str(message_id) if message_id is not None else None,
    )
