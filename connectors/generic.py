"""The "generic" helpdesk: anything that can POST a documented JSON body.

There is no API to call back, so the ticket arrives whole in the webhook,
``fetch_ticket`` is unavailable and assignments stay in Modest only. The body
is documented in ``docs/webhooks.md``; :func:`parse_generic_webhook` enforces it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar
from urllib.parse import urlsplit

import structlog
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictStr,
    StringConstraints,
    ValidationError,
)
from pydantic_core import ErrorDetails

from connectors.base import HelpdeskConnector, PermanentError
from connectors.payload import PayloadError, known_event_names, parse_event_kind
from connectors.plugin import Capabilities
from connectors.types import Client, Reply, ReplyAuthor, TicketData, TicketEventKind

__all__ = ["GenericHelpdeskConnector", "parse_generic_webhook"]

log = structlog.get_logger(__name__)

# Ids, refs and short texts are stored in columns of 64 characters.
MAX_ID = 64
MAX_SHORT = 64
MAX_DELIVERY_ID = 200
MAX_CHANNEL = 32  # the ticket's channel column
MAX_SUBJECT = 1000
MAX_BODY = 200_000
MAX_CLIENT_FIELD = 500
MAX_URL = 2000


def _id_value(value: object) -> object:
    # Ids may come as JSON numbers; bools are ints in Python but never ids.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError("must be a string or an integer")
    return value


def _none_to_empty(value: object) -> object:
    return "" if value is None else value


def _event(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    kind = parse_event_kind(value)
    if kind is None:
        raise ValueError(f"unknown event {value[:50]!r}; expected one of {known_event_names()}")
    return kind


def _created_at(value: object) -> object:
    # Only ISO 8601 strings: numbers would silently be read as Unix timestamps.
    if value is not None and not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string or null")
    return value or None


def _in_utc(value: datetime | None) -> datetime | None:
    # Naive means UTC; "0001-01-01T00:00+01:00" has no UTC moment (year 0) to store.
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be a date-time between the years 1 and 9999 in UTC") from None


def _http_url(value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("must be an http(s) URL or null")
    return value


def _truncate_body(value: str) -> str:
    # A long body is still a ticket: keep the start rather than refuse it.
    return value[:MAX_BODY]


def _text(max_length: int) -> object:
    return StringConstraints(strip_whitespace=True, max_length=max_length)


# Constraints first, validators last: a BeforeValidator listed last runs first.
IdText = Annotated[
    StrictStr,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID),
    BeforeValidator(_id_value),
]
RefText = Annotated[StrictStr, _text(MAX_ID), BeforeValidator(_id_value)]
ShortText = Annotated[StrictStr, _text(MAX_SHORT), BeforeValidator(_none_to_empty)]
BodyText = Annotated[StrictStr, AfterValidator(_truncate_body), BeforeValidator(_none_to_empty)]
ClientText = Annotated[StrictStr, _text(MAX_CLIENT_FIELD), BeforeValidator(_none_to_empty)]
ChannelText = Annotated[StrictStr, _text(MAX_CHANNEL), BeforeValidator(_none_to_empty)]
UtcDateTime = Annotated[datetime | None, BeforeValidator(_created_at), AfterValidator(_in_utc)]


class _ClientBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: ClientText = ""
    email: ClientText = ""
    company: ClientText = ""


class _TicketBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: IdText
    number: ShortText = ""
    subject: Annotated[StrictStr, _text(MAX_SUBJECT)]
    body: Annotated[StrictStr, BeforeValidator(_none_to_empty), AfterValidator(_truncate_body)] = (
        ""
    )
    status: ShortText = ""
    priority: ShortText = ""
    type: ShortText = ""
    department: RefText | None = None
    assignee: RefText | None = None
    closed: StrictBool | None = None
    client: _ClientBody | None = None
    url: Annotated[Annotated[StrictStr, _text(MAX_URL)] | None, AfterValidator(_http_url)] = None
    created_at: UtcDateTime = None
    channel: ChannelText = ""


class _ReplyBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: IdText
    author: ReplyAuthor
    at: UtcDateTime = None
    author_id: RefText | None = None
    author_name: ClientText = ""
    text: BodyText = ""


class _GenericBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event: Annotated[TicketEventKind, BeforeValidator(_event)]
    delivery_id: Annotated[StrictStr, _text(MAX_DELIVERY_ID)] | None = None
    ticket: _TicketBody
    reply: _ReplyBody | None = None


def _error_message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return "must be an object"
    if kind == "string_type":
        return "must be a string"
    if kind == "bool_type":
        return "must be true or false"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return "must not be empty"
    if kind.startswith("datetime_"):
        return "must be an ISO 8601 date-time, e.g. 2026-11-22T10:00:00+03:00"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


def _to_reply(raw: _ReplyBody) -> Reply:
    return Reply(
        external_id=raw.id,
        author=raw.author,
        at=raw.at,
        author_ref=raw.author_id or None,
        author_name=raw.author_name,
        text=raw.text,
    )


def _to_ticket(event: TicketEventKind, raw: _TicketBody, reply: _ReplyBody | None) -> TicketData:
    client = raw.client or _ClientBody()
    return TicketData(
        external_id=raw.id,
        number=raw.number or raw.id,
        subject=raw.subject,
        body=raw.body,
        status=raw.status,
        priority=raw.priority,
        type=raw.type,
        department_ref=raw.department or None,
        assignee_ref=raw.assignee or None,
        client=Client(name=client.name, email=client.email, company=client.company),
        url=raw.url,
        created_at=raw.created_at,
        closed=raw.closed if raw.closed is not None else event is TicketEventKind.CLOSED,
        channel=raw.channel,
        replies=(_to_reply(reply),) if reply is not None else (),
    )


def parse_generic_webhook(data: object) -> tuple[TicketEventKind, TicketData, str | None]:
    """Validate a generic webhook body (already JSON-decoded).

    Returns (event kind, ticket, delivery id or None). Raises PayloadError whose
    ``field`` is the dotted path of the first bad field (``"$"`` for the body).
    """
    if not isinstance(data, dict):
        raise PayloadError("$", "the body must be a JSON object")
    try:
        parsed = _GenericBody.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "$"
        raise PayloadError(field, _error_message(first)) from None
    if parsed.event is TicketEventKind.REPLIED and parsed.reply is None:
        raise PayloadError("reply", "is required for ticket.replied")
    ticket = _to_ticket(parsed.event, parsed.ticket, parsed.reply)
    return parsed.event, ticket, parsed.delivery_id or None


class GenericHelpdeskConnector(HelpdeskConnector):
    """A webhook-only helpdesk: tickets come in whole, nothing is written back."""

    slug: ClassVar[str] = "generic"
    #: ``ticket.replied`` carries each reply (see docs/webhooks.md).
    capabilities: ClassVar[Capabilities] = Capabilities(accepts_events=True, tells_replies=True)

    async def fetch_ticket(self, external_id: str) -> TicketData:
        """Always fails: the generic helpdesk has no API to read from."""
        raise PermanentError("the generic helpdesk cannot be asked for a ticket")

    async def assign(
        self, external_id: str, *, department_ref: str | None, assignee_ref: str | None
    ) -> None:
        """Nothing to do: assignments are kept in Modest only."""
        log.debug(
            "generic.assign_skipped",
            ticket_id=external_id,
            department_ref=department_ref,
            assignee_ref=assignee_ref,
        )

    async def add_internal_note(self, external_id: str, text: str) -> None:
        """Nothing to do: the generic helpdesk has nowhere to put a note."""
        log.debug("generic.note_skipped", ticket_id=external_id, length=len(text))
