"""HTTP intake: the webhooks the connectors declare, and the health check.

Every webhook is untrusted: it proves itself (the connector's ``admit``, before
the body is read), the body is size-limited, the connector's parser validates
it, and a delivery seen before answers 200 without doing anything again. The
answer comes as soon as the event is committed; Telegram, helpdesk and tracker
calls happen after it, in the outbox sender and the job runner. Which routes
exist is the connectors' business (``connectors.webhooks``); this module only
serves them, generically.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from aiohttp import web

from connectors.base import HelpdeskConnector
from connectors.payload import PayloadError
from connectors.plugin import ConnectorPlugin
from connectors.webhooks import (
    FORM,
    TYPE_HEADER,
    RequestHead,
    TaskNamed,
    TicketDelivered,
    TicketNamed,
    Webhook,
    WebhookRejected,
    WebhookRequest,
    WebhookResult,
)
from dispatch.dev_sync import DevTaskSync
from dispatch.health.watch import ConnectorWatch, intake_blocked
from dispatch.intake import IntakeService
from dispatch.models import HelpdeskEvent
from dispatch.views import ConnectorStatus
from modest.metrics import Metrics
from storage.db import Database

log = structlog.get_logger(__name__)

_MULTIPART = "multipart/form-data"
R = TypeVar("R", bound=WebhookResult)


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """One declared webhook with its connector's settings, ready to be served."""

    source: str
    kind: str
    webhook: Webhook[Any]
    settings: object
    #: Whether the webhook's connector is the configured one of its kind.
    configured: bool

    @classmethod
    def of(
        cls, plugin: ConnectorPlugin[Any, Any], settings: object, *, configured: bool
    ) -> list[WebhookEndpoint]:
        """The endpoints of every webhook ``plugin`` declares."""
        return [
            cls(plugin.slug, plugin.kind.name, hook, settings, configured)
            for hook in plugin.webhooks
        ]


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a service made of a webhook: the answer's ``status`` and the id it was about."""

    status: str
    external_id: str


Deliver = Callable[[R, bytes], Awaitable[Delivery]]


class Deliveries:
    """Which service takes each kind of webhook result."""

    def __init__(self) -> None:
        self._by_type: dict[type[WebhookResult], Deliver[Any]] = {}

    def add(self, result_type: type[R], deliver: Deliver[R]) -> None:
        """Send every ``result_type`` to ``deliver`` (it gets the raw body too)."""
        self._by_type[result_type] = deliver

    async def deliver(self, result: WebhookResult, body: bytes) -> Delivery:
        """Hand ``result`` to its service; 503 when nothing here takes that kind."""
        deliver = self._by_type.get(type(result))
        if deliver is None:
            raise WebhookRejected(503, f"nothing here takes {type(result).__name__}")
        return await deliver(result, body)


def ticket_deliveries(
    deliveries: Deliveries, intake: IntakeService, helpdesk: HelpdeskConnector
) -> None:
    """Tickets from helpdesk webhooks go to intake, in the configured helpdesk's name."""

    async def whole(result: TicketDelivered, body: bytes) -> Delivery:
        event = HelpdeskEvent(
            source=helpdesk.slug,
            kind=result.kind,
            ticket=result.ticket,
            delivery_key=delivery_key(result.delivery_id, body),
        )
        outcome = await intake.accept_event(event)
        return Delivery(outcome.value, result.ticket.external_id)

    async def named(result: TicketNamed, body: bytes) -> Delivery:
        if not helpdesk.capabilities.fetches_tickets:
            raise WebhookRejected(503, f"the {helpdesk.slug} helpdesk cannot fetch tickets")
        outcome = await intake.accept_fetch_request(
            source=helpdesk.slug,
            kind=result.kind,
            external_id=result.external_id,
            delivery_key=delivery_key(result.delivery_id, body, fetch_at=time.time()),
        )
        return Delivery(outcome.value, result.external_id)

    deliveries.add(TicketDelivered, whole)
    deliveries.add(TicketNamed, named)


def task_deliveries(deliveries: Deliveries, dev_sync: DevTaskSync) -> None:
    """Tracker events queue a read of the task they name, if it is one of ours."""

    async def named(result: TaskNamed, body: bytes) -> Delivery:
        queued = await dev_sync.queue_sync(external_id=result.external_id)
        return Delivery("accepted" if queued else "ignored", result.external_id)

    deliveries.add(TaskNamed, named)


#: A refused webhook's reason in the metrics, by its status.
REFUSALS = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    413: "too_large",
    415: "unsupported_type",
    503: "unavailable",
}


class WebhookServer:
    """Serves declared webhooks: admit, read the body, parse, deliver, answer JSON."""

    def __init__(
        self, deliveries: Deliveries, max_body_bytes: int, *, metrics: Metrics | None = None
    ) -> None:
        self._deliveries = deliveries
        self._max = max_body_bytes
        self._metrics = metrics

    def handler(
        self, endpoint: WebhookEndpoint
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The aiohttp handler of one endpoint."""

        async def handle(request: web.Request) -> web.Response:
            return await self._serve(endpoint, request)

        return handle

    async def _serve(self, endpoint: WebhookEndpoint, request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            delivery = await self._accept(endpoint, request)
        except WebhookRejected as exc:
            reason = REFUSALS.get(exc.status, f"http_{exc.status}")
            self._count(endpoint.source, "refused", reason, started)
            log.info(
                "webhook",
                source=endpoint.source,
                status=exc.status,
                error=exc.error,
                field=exc.field,
                ms=_ms(started),
            )
            payload: dict[str, Any] = {"error": exc.error}
            if exc.field:
                payload["field"] = exc.field
            return web.json_response(payload, status=exc.status)
        except Exception:
            self._count(endpoint.source, "error", "exception", started)
            raise
        self._count(endpoint.source, delivery.status, "", started)
        log.info(
            "webhook",
            source=endpoint.source,
            status=200,
            outcome=delivery.status,
            external_id=delivery.external_id,
            ms=_ms(started),
        )
        return web.json_response({"status": delivery.status})

    def _count(self, source: str, outcome: str, reason: str, started: float) -> None:
        if self._metrics is not None:
            self._metrics.webhook(source, outcome, reason, time.perf_counter() - started)

    async def _accept(self, endpoint: WebhookEndpoint, request: web.Request) -> Delivery:
        hook = endpoint.webhook
        head = RequestHead(headers=request.headers, query=request.query)
        if hook.admit is not None:
            hook.admit(head, endpoint.settings)
        body = await self._read_body(request)
        if hook.only_when_configured and not endpoint.configured:
            raise WebhookRejected(503, f"the {endpoint.source} {endpoint.kind} is not configured")
        parsed = WebhookRequest(head, request.content_type, body, await _form(request))
        try:
            result = hook.parse(parsed, endpoint.settings)
        except PayloadError as exc:
            raise WebhookRejected(400, exc.message, exc.field) from exc
        return await self._deliveries.deliver(result, body)

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self._max
        if request.content_length is not None and request.content_length > limit:
            raise WebhookRejected(413, f"body larger than {limit} bytes")
        try:
            # read() keeps the bytes, so request.post() can still parse a form later;
            # the app's client_max_size (limit + 1) stops a chunked body that lies.
            body = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise WebhookRejected(413, f"body larger than {limit} bytes") from exc
        if len(body) > limit:
            raise WebhookRejected(413, f"body larger than {limit} bytes")
        return body


async def _form(request: web.Request) -> dict[str, str]:
    """The text fields of a form body (none for other bodies)."""
    if request.content_type not in {FORM, _MULTIPART}:
        return {}
    try:
        posted = await request.post()
    except UnicodeDecodeError as exc:
        raise WebhookRejected(400, f"form data is not UTF-8: {exc.reason}", "$") from None
    except ValueError as exc:  # a multipart type without a boundary
        raise WebhookRejected(415, f"unreadable form: {exc}", TYPE_HEADER) from None
    return {k: v for k, v in posted.items() if isinstance(v, str)}


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
    """``GET /healthz``: the database, the outbox, and each connector.

    503 when the database is down, or when a failing connector keeps tickets from
    coming in (the helpdesk they are read from refuses the key, or does not answer).
    """
    database: Database = request.app[DATABASE_KEY]
    watch = request.app.get(HEALTH_KEY)
    try:
        async with database.unit_of_work() as uow:
            backlog = await uow.outbox.backlog()
            oldest = await uow.outbox.oldest_pending()
        statuses = await watch.statuses() if watch is not None else []
    except Exception as exc:
        log.error("healthz.database_down", error=repr(exc))
        return web.json_response({"status": "error", "database": "down"}, status=503)
    age = round(time.time() - oldest.timestamp(), 1) if oldest else 0.0
    blocked = intake_blocked(statuses)
    body = {
        "status": "error" if blocked else "ok",
        "database": "ok",
        "outbox_backlog": backlog,
        "outbox_oldest_s": age,
        "connectors": {status.role: _connector_health(status) for status in statuses},
    }
    if blocked:
        body["intake"] = "blocked"
    return web.json_response(body, status=503 if blocked else 200)


def _connector_health(status: ConnectorStatus) -> dict[str, Any]:
    if status.failing_since is None:
        return {"kind": status.kind, "status": "ok"}
    return {
        "kind": status.kind,
        "status": "failing",
        "failing_since": status.failing_since.isoformat(),
        "last_error": status.error,
    }


DATABASE_KEY = web.AppKey("database", Database)
HEALTH_KEY = web.AppKey("health", ConnectorWatch)


def build_web_app(
    endpoints: list[WebhookEndpoint],
    server: WebhookServer,
    database: Database,
    max_body: int,
    *,
    health: ConnectorWatch | None = None,
) -> web.Application:
    """The aiohttp application: a POST route per endpoint, and ``GET /healthz``."""
    app = web.Application(client_max_size=max_body + 1)
    app[DATABASE_KEY] = database
    if health is not None:
        app[HEALTH_KEY] = health
    for endpoint in endpoints:
        app.router.add_post(endpoint.webhook.path, server.handler(endpoint))
    app.router.add_get("/healthz", healthz)
    return app
