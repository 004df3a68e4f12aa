"""HTTP intake: helpdesk webhooks and the health check.

Every webhook is untrusted: the shared secret is checked (constant time)
before the body is read, the body is size-limited and validated, and a
delivery seen before answers 200 without doing anything again. The answer
comes as soon as the event is committed; Telegram and helpdesk calls happen
after it, in the outbox sender and the job runner.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from connectors.generic import parse_generic_webhook
from connectors.helpdeskeddy import parse_webhook as parse_id_webhook
from connectors.payload import PayloadError
from dispatch.intake import Intake, IntakeService
from dispatch.models import HelpdeskEvent
from storage.db import Database

log = structlog.get_logger(__name__)

_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
#: What a refusal names when the fault is not in the body.
_SECRET_FIELD = "X-Webhook-Secret"  # noqa: S105 - a header name, not a secret
_TYPE_FIELD = "Content-Type"


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """What the webhook endpoints need to know."""

    secret: str | None
    max_body_bytes: int
    generic_source: str
    #: The helpdesk whose webhooks only name a ticket, fetched through its API.
    fetch_source: str | None


class WebhookError(Exception):
    """Turns into a JSON error answer; nothing has been stored."""

    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.field = field


class WebhookHandlers:
    """The aiohttp handlers of the helpdesk webhooks."""

    def __init__(self, config: WebhookConfig, intake: IntakeService) -> None:
        self._config = config
        self._intake = intake

    async def generic(self, request: web.Request) -> web.Response:
        """``POST /webhooks/generic``: the ticket travels in the body."""
        return await self._handle(request, "generic", self._accept_generic)

    async def helpdeskeddy(self, request: web.Request) -> web.Response:
        """``POST /webhooks/helpdeskeddy``: the body names a ticket; a job fetches it."""
        return await self._handle(request, "helpdeskeddy", self._accept_fetch("helpdeskeddy"))

    async def rt(self, request: web.Request) -> web.Response:
        """``POST /webhooks/rt``: an RT scrip names a ticket; a job fetches it."""
        return await self._handle(request, "rt", self._accept_fetch("rt"))

    async def _handle(
        self,
        request: web.Request,
        source: str,
        accept: Callable[[web.Request, bytes], Awaitable[tuple[Intake, str]]],
    ) -> web.Response:
        started = time.perf_counter()
        try:
            self._check_secret(request)
            body = await self._read_body(request)
            outcome, external_id = await accept(request, body)
        except WebhookError as exc:
            log.info(
                "webhook",
                source=source,
                status=exc.status,
                error=exc.error,
                field=exc.field,
                ms=_ms(started),
            )
            payload: dict[str, Any] = {"error": exc.error}
            if exc.field:
                payload["field"] = exc.field
            return web.json_response(payload, status=exc.status)
        log.info(
            "webhook",
            source=source,
            status=200,
            outcome=outcome.value,
            external_id=external_id,
            ms=_ms(started),
        )
        return web.json_response({"status": outcome.value})

    def _check_secret(self, request: web.Request) -> None:
        expected = self._config.secret
        if not expected:
            raise WebhookError(
                401, "webhooks are disabled: HELPDESK_WEBHOOK_SECRET is not set", _SECRET_FIELD
            )
        given = request.headers.get("X-Webhook-Secret") or request.query.get("secret") or ""
        # surrogatepass: aiohttp hands undecodable header bytes over as surrogates.
        if not hmac.compare_digest(given.encode(errors="surrogatepass"), expected.encode()):
            raise WebhookError(401, "missing or wrong webhook secret", _SECRET_FIELD)

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self._config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise WebhookError(413, f"body larger than {limit} bytes", "$")
        try:
            # read() keeps the bytes, so request.post() can still parse a form later;
            # the app's client_max_size (limit + 1) stops a chunked body that lies.
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise WebhookError(413, f"body larger than {limit} bytes", "$") from exc
        if len(body) > limit:
            raise WebhookError(413, f"body larger than {limit} bytes", "$")
        return body

    async def _accept_generic(self, request: web.Request, body: bytes) -> tuple[Intake, str]:
        data = _json_body(request, body)
        try:
            kind, ticket, delivery_id = parse_generic_webhook(data)
        except PayloadError as exc:
            raise WebhookError(400, exc.message, exc.field) from exc
        event = HelpdeskEvent(
            source=self._config.generic_source,
            kind=kind,
            ticket=ticket,
            delivery_key=delivery_key(delivery_id, body),
        )
        return await self._intake.accept_event(event), ticket.external_id

    def _accept_fetch(
        self, source: str
    ) -> Callable[[web.Request, bytes], Awaitable[tuple[Intake, str]]]:
        async def accept(request: web.Request, body: bytes) -> tuple[Intake, str]:
            if self._config.fetch_source != source:
                raise WebhookError(503, f"the {source} helpdesk is not configured")
            fields = await _fields(request, body)
            try:
                kind, ticket_id, delivery_id = parse_id_webhook(fields)
            except PayloadError as exc:
                raise WebhookError(400, exc.message, exc.field) from exc
            outcome = await self._intake.accept_fetch_request(
                source=source,
                kind=kind,
                external_id=ticket_id,
                delivery_key=delivery_key(delivery_id, body, fetch_at=time.time()),
            )
            return outcome, ticket_id

        return accept


def _json_body(request: web.Request, body: bytes) -> object:
    if request.content_type != _JSON:
        given = request.content_type or "nothing"
        raise WebhookError(415, f"expected {_JSON}, got {given}", _TYPE_FIELD)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookError(400, f"malformed JSON: {exc}", "$") from exc
    except RecursionError:
        raise WebhookError(400, "malformed JSON: nested too deeply", "$") from None
    _check_storable(data)
    return data


def _check_storable(value: object, path: str = "") -> None:
    """Refuse text no database can store: NUL characters, unpaired UTF-16 surrogates.

    JSON can carry both (``\\u0000``, ``\\ud800``); PostgreSQL refuses the first,
    UTF-8 the second, so either would fail the request after it was half done.
    The refusal names the dotted path of the text (a bad key: its object's path).
    """
    if isinstance(value, str):
        if "\x00" in value or (not value.isascii() and _has_surrogate(value)):
            raise WebhookError(
                400, "text holds a NUL character or an unpaired surrogate", path or "$"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, path)
            _check_storable(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_storable(item, f"{path}.{index}" if path else str(index))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


async def _fields(request: web.Request, body: bytes) -> dict[str, str]:
    if request.content_type == _JSON:
        data = _json_body(request, body)
        if not isinstance(data, dict):
            raise WebhookError(400, "expected a JSON object", "$")
        return {str(k): "" if v is None else str(v) for k, v in data.items()}
    if request.content_type == _FORM:
        try:
            form = await request.post()
        except UnicodeDecodeError as exc:
            raise WebhookError(400, f"form data is not UTF-8: {exc.reason}", "$") from None
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        _check_storable(fields)
        return fields
    raise WebhookError(415, "expected JSON or form-encoded data", _TYPE_FIELD)


#: How long an identical id-less body that only names a ticket counts as the same delivery.
FETCH_DEDUPE_SECONDS = 600


def delivery_key(delivery_id: str | None, body: bytes, *, fetch_at: float | None = None) -> str:
    """What identifies a delivery: its id, else its body.

    A body that only names a ticket (``fetch_at`` given) is the same delivery only
    within a few minutes: the next "updated" about that ticket has the very same
    body and must fetch it again (a fetch is harmless to repeat).
    """
    if delivery_id:
        return "id:" + delivery_id[:120]
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    if fetch_at is None:
        return digest
    return f"{digest}:{int(fetch_at // FETCH_DEDUPE_SECONDS)}"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def healthz(request: web.Request) -> web.Response:
    """``GET /healthz``: the database answers and how much the outbox holds."""
    database: Database = request.app[DATABASE_KEY]
    try:
        async with database.unit_of_work() as uow:
            backlog = await uow.outbox.backlog()
            oldest = await uow.outbox.oldest_pending()
    except Exception as exc:
        log.error("healthz.database_down", error=repr(exc))
        return web.json_response({"status": "error", "database": "down"}, status=503)
    age = round(time.time() - oldest.timestamp(), 1) if oldest else 0.0
    return web.json_response(
        {"status": "ok", "database": "ok", "outbox_backlog": backlog, "outbox_oldest_s": age}
    )


DATABASE_KEY = web.AppKey("database", Database)


def build_web_app(handlers: WebhookHandlers, database: Database, max_body: int) -> web.Application:
    """The aiohttp application with the intake routes."""
    app = web.Application(client_max_size=max_body + 1)
    app[DATABASE_KEY] = database
    app.router.add_post("/webhooks/generic", handlers.generic)
    app.router.add_post("/webhooks/helpdeskeddy", handlers.helpdeskeddy)
    app.router.add_post("/webhooks/rt", handlers.rt)
    app.router.add_get("/healthz", healthz)
    return app
