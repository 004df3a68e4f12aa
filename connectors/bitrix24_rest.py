"""One Bitrix24 portal's REST calls, shared by the task tracker and the CRM connector.

Facts this relies on (``shared/reference/bitrix24-rest.md``): methods are POSTed
to ``https://<portal>/rest/<user>/<code>/<method>`` with a JSON body (§1); answers
are ``{"result": ..., "time": {..., "operating_reset_at"}}`` or ``{"error",
"error_description"}`` (§1); the portal's bucket drains 2 requests/s, refuses
beyond 50, and answers 503 ``QUERY_LIMIT_EXCEEDED`` then, which is backed off and
retried; 429 ``OPERATION_TIME_LIMIT`` blocks one method for this webhook until
``time.operating_reset_at`` (§2, §9.1); 401 ``NO_AUTH_FOUND`` / ``expired_token``
and 403 ``insufficient_scope`` / ``ACCESS_DENIED`` are permanent (§8). The webhook
code is the credential: it never reaches a log line or an error message.

The bucket is the portal's and counts every request from this host (§2, §9.1), so
every connector calling the same portal must share one :class:`PortalRateLimiter`:
the composition root hands the same one to each (:data:`BUDGET_PREFIX` keys it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

import httpx
import structlog

from connectors.base import (
    AccessDenied,
    ConnectorError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from connectors.bitrix24_parse import parse_webhook_url
from connectors.budgets import SharedBudgets
from connectors.http import transient_retries, with_retries

log = structlog.get_logger(__name__)

#: The portal's bucket drains this many requests per second (cloud, non-Enterprise).
REQUESTS_PER_SECOND = 2.0
#: The portal refuses requests once its bucket holds more than this many (§2).
PORTAL_BURST = 50
#: The operating-time window is 10 minutes: the longest a method can stay blocked.
OPERATING_WINDOW = 600.0
#: Shared budgets are kept under this prefix and the portal's origin.
BUDGET_PREFIX = "bitrix24:"
_MAX_ERROR_TEXT = 300
#: Error codes of a webhook whose code is wrong or revoked, or that lacks a scope.
_REFUSED_CODES = frozenset(
    {"NO_AUTH_FOUND", "INVALID_CREDENTIALS", "expired_token", "ACCESS_DENIED"}
)
# Float rounding under an injected clock must not leave a wait that never ends.
_EPSILON = 1e-9

Sleep = Callable[[float], Awaitable[None]]


class PortalRateLimiter:
    """A leaky bucket like the portal's: drains ``per_second``, holds ``burst`` requests.

    With ``burst=1`` (the default) requests are spaced ``1 / per_second`` apart, in
    arrival order. Share one instance among every connector that calls the same portal
    from this host: Bitrix24 counts all of them in one bucket. ``clock`` and ``sleep``
    are injectable so the limiter is deterministic under test.
    """

    def __init__(
        self,
        per_second: float = REQUESTS_PER_SECOND,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError(f"per_second must be positive, got {per_second}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self._rate = per_second
        self._burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._level = 0.0
        self._at: float | None = None
        self._lock: asyncio.Lock | None = None  # made on first use, inside the loop

    def left(self) -> float:
        """How many requests the bucket takes right now without a wait."""
        level = self._level
        if self._at is not None:
            level = max(0.0, level - (self._clock() - self._at) * self._rate)
        return max(self._burst - level, 0.0)

    async def acquire(self) -> None:
        """Wait for this request's turn, then count it."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                now = self._clock()
                if self._at is not None:
                    self._level = max(0.0, self._level - (now - self._at) * self._rate)
                self._at = now
                excess = self._level + 1.0 - self._burst
                if excess <= _EPSILON:
                    self._level += 1.0
                    return
                await self._sleep(excess / self._rate)


def shared_portal_limiter() -> PortalRateLimiter:
    """The budget the connectors of one portal share: the portal's own bucket."""
    return PortalRateLimiter(REQUESTS_PER_SECOND, burst=PORTAL_BURST)


def portal_limiter(budgets: SharedBudgets | None, webhook_url: str) -> PortalRateLimiter | None:
    """The portal's shared budget (one per portal origin); None without shared budgets."""
    if budgets is None:
        return None
    key = BUDGET_PREFIX + parse_webhook_url(webhook_url).origin
    return budgets.get(key, PortalRateLimiter, shared_portal_limiter)


class Bitrix24Error(PermanentError):
    """Bitrix24 refused a call for good; ``code`` and ``status`` say how."""

    def __init__(self, message: str, *, code: str, status: int, description: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.description = description


class Bitrix24AccessDenied(Bitrix24Error, AccessDenied):
    """Bitrix24 refused the webhook's code (401) or its rights (403, a missing scope)."""

    def __init__(self, message: str, *, code: str, status: int, description: str) -> None:
        super().__init__(message, code=code, status=status, description=description)
        self.rejected = code not in ("ACCESS_DENIED", "insufficient_scope") and status != 403


def _decode(response: httpx.Response) -> dict[str, object] | None:
    try:
        body = response.json() if response.content.strip() else {}
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _reset_at(body: Mapping[str, object] | None) -> float | None:
    timing = body.get("time") if body is not None else None
    value = timing.get("operating_reset_at") if isinstance(timing, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class Bitrix24Rest:
    """REST methods of one portal through an incoming webhook (``root`` ends with ``/``).

    Transient failures are retried with back-off (bounded); a method Bitrix24 blocked
    raises :class:`RateLimitedError` until it is free again; every request waits for
    ``limiter``.
    """

    def __init__(
        self,
        *,
        root: str,
        limiter: PortalRateLimiter,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_attempts: int = 4,
        retry_wait: float = 1.0,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if retry_attempts < 1:
            raise ValueError("retry_attempts must be at least 1")
        self._limiter = limiter
        self._retrying = transient_retries(retry_attempts, retry_wait, sleep=sleep)
        self._wall_clock = wall_clock
        self._blocked_until: dict[str, float] = {}
        self._reset_hint: dict[str, float] = {}
        self._client = httpx.AsyncClient(
            base_url=root,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def call(self, method: str, params: Mapping[str, object]) -> object:
        """One REST method's ``result``, retrying transient failures with back-off."""

        def failed(number: int, exc: ConnectorError) -> None:
            # The method name and the outcome only: the URL holds the secret code.
            log.warning("bitrix24.request_failed", method=method, attempt=number, reason=str(exc))

        return await with_retries(
            self._retrying, lambda _n: self._send(method, params), on_error=failed
        )

    async def _send(self, method: str, params: Mapping[str, object]) -> object:
        """One HTTP request through the limiter, mapped to ``result`` or an error."""
        wait = self._blocked_until.get(method, 0.0) - self._wall_clock()
        if wait > 0:
            raise RateLimitedError(f"Bitrix24 {method} is blocked for {wait:.0f}s more", wait)
        await self._limiter.acquire()
        failure: ConnectorError | None = None
        try:
            response = await self._client.post(method, json=params)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            failure = TransientError(f"Bitrix24 {method}: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            failure = PermanentError(f"Bitrix24 {method}: {type(exc).__name__}")
        if failure is not None:
            # Raised outside the handler: httpx errors can carry the request URL, and with
            # it the webhook code, so they must not ride along as cause or context.
            raise failure
        return self._interpret(method, response)

    def _interpret(self, method: str, response: httpx.Response) -> object:
        body = _decode(response)
        code = str(body.get("error", "")) if body is not None else ""
        where = f"Bitrix24 {method}: HTTP {response.status_code}"
        if response.status_code == 429 or code == "OPERATION_TIME_LIMIT":
            now = self._wall_clock()
            hint = _reset_at(body) or self._reset_hint.get(method) or 0.0
            until = hint if hint > now else now + OPERATING_WINDOW
            self._blocked_until[method] = until
            raise RateLimitedError(f"{where} {code or 'too many requests'}", until - now)
        if response.status_code >= 500 or code == "QUERY_LIMIT_EXCEEDED":
            raise TransientError(f"{where} {code}".rstrip())
        if body is None:
            raise PermanentError(f"{where}: answer is not a JSON object")
        if code or not response.is_success:
            detail = str(body.get("error_description", ""))[:_MAX_ERROR_TEXT]
            refused = code in _REFUSED_CODES or response.status_code in (401, 403)
            raise (Bitrix24AccessDenied if refused else Bitrix24Error)(
                f"{where} {code}: {detail}".rstrip(": "),
                code=code,
                status=response.status_code,
                description=detail,
            )
        reset_at = _reset_at(body)
        if reset_at is not None:
            self._reset_hint[method] = reset_at
        return body.get("result")
