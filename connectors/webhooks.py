"""Webhooks as data: a connector declares its route, how a request proves itself, and a
pure parser from headers, body bytes and form fields to a typed result.

No server code here: the HTTP adapter reads the request (size-limited), calls
``admit`` before the body is read and ``parse`` after, and hands the result to
the service that takes that kind of result. Both raise :class:`WebhookRejected`
(or :class:`~connectors.payload.PayloadError`, a 400) and change nothing.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from connectors.environment import HelpdeskWebhookEnvironment
from connectors.types import TicketData, TicketEventKind

S = TypeVar("S")

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
#: What a refusal names when the fault is not in the body.
SECRET_HEADER = "X-Webhook-Secret"  # noqa: S105 - a header name, not a secret
TYPE_HEADER = "Content-Type"


@dataclass(frozen=True, slots=True)
class RequestHead:
    """What can be checked before the body is read: headers (case-insensitive) and query."""

    headers: Mapping[str, str]
    query: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A whole request as a parser sees it; ``form`` holds the fields of a form body."""

    head: RequestHead
    content_type: str
    body: bytes
    form: Mapping[str, str]


class WebhookRejected(Exception):
    """The request is refused with ``status``; the answer is ``{"error": ..., "field": ...}``."""

    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.field = field


class WebhookResult:
    """Base of what a webhook parses into; each subclass goes to one service."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class TicketDelivered(WebhookResult):
    """The body carries the whole ticket."""

    kind: TicketEventKind
    ticket: TicketData
    delivery_id: str | None


@dataclass(frozen=True, slots=True)
class TicketNamed(WebhookResult):
    """The body only names a ticket; the configured helpdesk fetches it."""

    kind: TicketEventKind
    external_id: str
    delivery_id: str | None


@dataclass(frozen=True, slots=True)
class TaskNamed(WebhookResult):
    """A tracker says a task changed; ``event`` is its own name for what happened."""

    external_id: str
    event: str = ""


@dataclass(frozen=True, slots=True)
class Webhook(Generic[S]):
    """One route a connector serves; ``S`` is the connector's settings model.

    ``only_when_configured``: the route works only while its connector is the
    configured one of its kind (else 503, after the request has proved itself).
    """

    path: str
    parse: Callable[[WebhookRequest, S], WebhookResult]
    admit: Callable[[RequestHead, S], None] | None = None
    only_when_configured: bool = False


def admit_shared_secret(head: RequestHead, settings: HelpdeskWebhookEnvironment) -> None:
    """Check ``HELPDESK_WEBHOOK_SECRET`` (header ``X-Webhook-Secret`` or ``?secret=``)."""
    secret = settings.helpdesk_webhook_secret
    expected = secret.get_secret_value() if secret is not None else ""
    if not expected:
        raise WebhookRejected(
            401, "webhooks are disabled: HELPDESK_WEBHOOK_SECRET is not set", SECRET_HEADER
        )
    given = head.headers.get(SECRET_HEADER) or head.query.get("secret") or ""
    # surrogatepass: aiohttp hands undecodable header bytes over as surrogates.
    if not hmac.compare_digest(given.encode(errors="surrogatepass"), expected.encode()):
        raise WebhookRejected(401, "missing or wrong webhook secret", SECRET_HEADER)


def json_body(request: WebhookRequest) -> object:
    """The body as JSON; 415 unless it says it is JSON, 400 when it is not valid."""
    if request.content_type != JSON:
        given = request.content_type or "nothing"
        raise WebhookRejected(415, f"expected {JSON}, got {given}", TYPE_HEADER)
    try:
        data = json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookRejected(400, f"malformed JSON: {exc}", "$") from exc
    except RecursionError:
        raise WebhookRejected(400, "malformed JSON: nested too deeply", "$") from None
    check_storable(data)
    return data


def check_storable(value: object, path: str = "") -> None:
    """Refuse text no database can store: NUL characters, unpaired UTF-16 surrogates.

    JSON can carry both (``\\u0000``, ``\\ud800``); PostgreSQL refuses the first,
    UTF-8 the second, so either would fail the request after it was half done.
    The refusal names the dotted path of the text (a bad key: its object's path).
    """
    if isinstance(value, str):
        if "\x00" in value or (not value.isascii() and _has_surrogate(value)):
            raise WebhookRejected(
                400, "text holds a NUL character or an unpaired surrogate", path or "$"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, path)
            check_storable(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_storable(item, f"{path}.{index}" if path else str(index))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def flat_fields(request: WebhookRequest) -> dict[str, str]:
    """A JSON object or form body as text fields (a JSON null reads as empty)."""
    if request.content_type == JSON:
        data = json_body(request)
        if not isinstance(data, dict):
            raise WebhookRejected(400, "expected a JSON object", "$")
        return {str(k): "" if v is None else str(v) for k, v in data.items()}
    if request.content_type == FORM:
        fields = dict(request.form)
        check_storable(fields)
        return fields
    raise WebhookRejected(415, "expected JSON or form-encoded data", TYPE_HEADER)
