"""What the connectors' HTTP requests report, for metrics kept elsewhere.

The composition root hands a ``RequestObserver`` to the connectors through their
settings (``ConnectorSettings.observer``, like the shared budgets); a connector built
with one sends its requests through an ``ObservedTransport``, which tells the observer
how each HTTP request ended and how long it took. Without one nothing changes.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

import httpx


@runtime_checkable
class RequestObserver(Protocol):
    """Told about every HTTP request a connector makes (retries each count)."""

    def connector_request(self, kind: str, system: str, outcome: str, seconds: float) -> None:
        """One request of the ``kind`` connector (helpdesk, tracker, crm) ``system`` ended."""


def outcome_of(status: int) -> str:
    """How an answer ended, by its HTTP status."""
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return "ok"


class ObservedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that reports each request's outcome, then passes it on."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        observer: RequestObserver,
        *,
        kind: str,
        system: str,
    ) -> None:
        self._inner = inner
        self._observer = observer
        self._kind = kind
        self._system = system

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Make the request through the inner transport and report how it ended."""
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TimeoutException:
            self._report("timeout", started)
            raise
        except httpx.TransportError:
            self._report("network_error", started)
            raise
        self._report(outcome_of(response.status_code), started)
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()

    def _report(self, outcome: str, started: float) -> None:
        seconds = time.perf_counter() - started
        self._observer.connector_request(self._kind, self._system, outcome, seconds)


def observed(
    transport: httpx.AsyncBaseTransport | None,
    observer: RequestObserver | None,
    *,
    kind: str,
    system: str,
) -> httpx.AsyncBaseTransport | None:
    """``transport`` reporting to ``observer`` (httpx's default transport when None)."""
    if observer is None:
        return transport
    inner = transport if transport is not None else httpx.AsyncHTTPTransport()
    return ObservedTransport(inner, observer, kind=kind, system=system)
