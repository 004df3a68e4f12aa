"""One HTTP request to an external system, classified into the connector error tree.

Shared by the connectors that speak JSON over httpx: network trouble, timeouts,
408 and 5xx are transient; 429 waits ``Retry-After``; everything else is for
the connector to read (its success and error bodies differ per product).
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from connectors.base import PermanentError, RateLimitedError, TransientError

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
