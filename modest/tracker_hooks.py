"""Tracker events: ``POST /webhooks/bitrix24`` and ``POST /webhooks/redmine``.

Both only say which task changed; a job reads the task, so an event costs no
tracker call in the request and a repeated event changes nothing (each comment
is carried once). Bitrix24 proves itself with ``auth[application_token]``,
Redmine 7 with ``X-Redmine-Signature-256``; either wrong answers 401.
"""

from __future__ import annotations

import json

import structlog
from aiohttp import web

from connectors.bitrix24 import parse_event
from connectors.payload import PayloadError
from connectors.redmine import verify_webhook
from dispatch.dev_sync import DevTaskSync

log = structlog.get_logger(__name__)

_FORM = "application/x-www-form-urlencoded"
_TOKEN_FIELD = "auth[application_token]"  # noqa: S105 - a form key, not a secret
_SIGNATURE = "X-Redmine-Signature-256"


class TrackerHooks:
    """The aiohttp handlers of tracker events."""

    def __init__(
        self,
        dev_sync: DevTaskSync,
        *,
        bitrix24_token: str | None,
        redmine_secret: str | None,
        max_body_bytes: int,
    ) -> None:
        self._sync = dev_sync
        self._bitrix24_token = bitrix24_token
        self._redmine_secret = redmine_secret
        self._max = max_body_bytes

    async def _body(self, request: web.Request) -> bytes | None:
        """The body, or None when it is larger than allowed."""
        if request.content_length is not None and request.content_length > self._max:
            return None
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            return None

    async def bitrix24(self, request: web.Request) -> web.Response:
        """A form-encoded Bitrix24 event (ONTASKUPDATE, ONTASKCOMMENTADD)."""
        if not self._bitrix24_token:
            return _error(
                401, "Bitrix24 events are disabled: BITRIX24_APP_TOKEN is not set", _TOKEN_FIELD
            )
        if await self._body(request) is None:
            return _error(413, f"body larger than {self._max} bytes", "$")
        if request.content_type != _FORM:
            return _error(415, f"expected {_FORM}, got {request.content_type}", "Content-Type")
        try:
            posted = await request.post()
        except UnicodeDecodeError as exc:
            return _error(400, f"form data is not UTF-8: {exc.reason}", "$")
        form = {k: v for k, v in posted.items() if isinstance(v, str)}
        try:
            event = parse_event(form, app_token=self._bitrix24_token)
        except PayloadError as exc:
            status = 401 if exc.field == _TOKEN_FIELD else 400
            log.info("tracker_hook", tracker="bitrix24", status=status, field=exc.field)
            return _error(status, exc.message, exc.field)
        queued = await self._sync.queue_sync(external_id=event.task_id)
        log.info(
            "tracker_hook",
            tracker="bitrix24",
            status=200,
            task=event.task_id,
            kind=event.event,
            queued=queued,
        )
        return web.json_response({"status": "accepted" if queued else "ignored"})

    async def redmine(self, request: web.Request) -> web.Response:
        """A signed Redmine 7 webhook about an issue."""
        body = await self._body(request)
        if body is None:
            return _error(413, f"body larger than {self._max} bytes", "$")
        signature = request.headers.get(_SIGNATURE)
        if not self._redmine_secret or not verify_webhook(body, signature, self._redmine_secret):
            log.info("tracker_hook", tracker="redmine", status=401)
            return _error(401, f"missing or wrong {_SIGNATURE}", _SIGNATURE)
        try:
            data = json.loads(body)
            issue_id = str(int(data["data"]["issue"]["id"]))
        # Overflow: an id of 1e400 is infinity; recursion: a body nested too deeply.
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
            return _error(400, f"expected data.issue.id: {type(exc).__name__}", "data.issue.id")
        queued = await self._sync.queue_sync(external_id=issue_id)
        log.info("tracker_hook", tracker="redmine", status=200, task=issue_id, queued=queued)
        return web.json_response({"status": "accepted" if queued else "ignored"})

    def register(self, app: web.Application) -> None:
        """Add the routes."""
        app.router.add_post("/webhooks/bitrix24", self.bitrix24)
        app.router.add_post("/webhooks/redmine", self.redmine)


def _error(status: int, error: str, field: str | None = None) -> web.Response:
    payload = {"error": error, **({"field": field} if field else {})}
    return web.json_response(payload, status=status)
