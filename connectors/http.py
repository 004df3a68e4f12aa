"""One HTTP request to an external system, classified into the connector error tree.

Shared by the connectors that speak JSON over httpx: network trouble, timeouts,
408 and 5xx are transient; 429 waits ``Retry-After``; everything else is for
the connector to read (its success and error bodies differ per product).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from connectors.base import ConnectorError, PermanentError, RateLimitedError, TransientError

DEFAULT_RETRY_AFTER = 60.0


def retry_after(response: httpx.Response) -> float:
    """Seconds from ``Retry-After`` (a delta or an HTTP date), else 60."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return DEFAULT_RETRY_AFTER
    try:
        return max(1.0, float(value))
    except ValueError:
        pass  # not a number: maybe an HTTP date
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return max(1.0, moment.timestamp() - time.time())


async def classified_request(
    client: httpx.AsyncClient, method: str, path: str, *, where: str, **kwargs: Any
) -> tuple[httpx.Response, object | None]:
    """Send; raise the transient and rate-limit errors; return the answer and its JSON.

    The JSON is ``{}`` for an empty body and None when the body is not JSON.
    """
    try:
        response = await client.request(method, path, **kwargs)
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        raise TransientError(f"{where}: {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise PermanentError(f"{where}: {type(exc).__name__}") from exc
    where = f"{where}: HTTP {response.status_code}"
    if response.status_code == 429:
        wait = retry_after(response)
        raise RateLimitedError(f"{where}, retry after {wait:.0f}s", wait)
    if response.status_code >= 500 or response.status_code == 408:
        raise TransientError(where)
    try:
        body: object | None = response.json() if response.content.strip() else {}
    except ValueError:
        body = None
    return response, body


MAX_RETRY_WAIT = 30.0
T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """Transient errors are retried in-process; a 429 goes back to the caller with its wait."""
    return isinstance(exc, TransientError) and not isinstance(exc, RateLimitedError)


def transient_retries(
    attempts: int, wait: float, *, sleep: Callable[[float], Awaitable[None]] | None = None
) -> AsyncRetrying:
    """The connectors' retry policy: bounded attempts, exponential back-off from ``wait``."""
    options: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    return AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=wait, max=MAX_RETRY_WAIT),
        retry=retry_if_exception(is_retryable),
        reraise=True,
        **options,
    )


async def with_retries(
    retrying: AsyncRetrying,
    call: Callable[[int], Awaitable[T]],
    *,
    on_error: Callable[[int, ConnectorError], None] | None = None,
) -> T:
    """Run ``call(attempt number)`` under ``retrying``; ``on_error`` sees each failure."""
    async for attempt in retrying.copy():
        with attempt:
            number = attempt.retry_state.attempt_number
            try:
                return await call(number)
            except ConnectorError as exc:
                if on_error is not None:
                    on_error(number, exc)
                raise
    raise AssertionError("unreachable: tenacity reraises the last error")
