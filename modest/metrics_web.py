"""``GET /metrics``: the service's Prometheus metrics, protected like the webhooks.

With ``METRICS_TOKEN`` set, a scrape must send ``Authorization: Bearer <token>``
(compared in constant time; 401 otherwise). Without it, only requests from the
loopback interface are answered (403 otherwise): metrics tell how busy the service is
and which systems it talks to, nothing for the open internet.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass

from aiohttp import web

from connectors.budgets import SharedBudgets
from modest.metrics import Metrics
from storage.db import Database

METRICS_PATH = "/metrics"


@dataclass(frozen=True, slots=True)
class MetricsEndpoint:
    """What a scrape reads, and the token it must show (None: loopback only)."""

    metrics: Metrics
    database: Database
    dispatch_chat: int
    budgets: SharedBudgets | None
    token: str | None

    async def handle(self, request: web.Request) -> web.Response:
        """Check the caller, refresh the gauges, answer the text format."""
        refused = self._refusal(request)
        if refused is not None:
            return refused
        await self.metrics.refresh(
            self.database, dispatch_chat=self.dispatch_chat, budgets=self.budgets
        )
        body, content_type = self.metrics.exposition(request.headers.get("Accept", ""))
        # The type carries its own charset: set the header, not content_type.
        return web.Response(body=body, headers={"Content-Type": content_type})

    def _refusal(self, request: web.Request) -> web.Response | None:
        if self.token:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            expected = self.token.encode()
            if scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode(errors="surrogatepass"), expected
            ):
                return None
            return web.json_response(
                {"error": "missing or wrong bearer token"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        if is_loopback(request.remote):
            return None
        return web.json_response(
            {"error": "/metrics answers only on loopback while METRICS_TOKEN is not set"},
            status=403,
        )


def is_loopback(remote: str | None) -> bool:
    """Whether a peer address is this host's loopback (IPv4-mapped IPv6 included)."""
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def add_metrics_route(app: web.Application, endpoint: MetricsEndpoint) -> None:
    """Serve ``GET /metrics`` on ``app``."""
    app.router.add_get(METRICS_PATH, endpoint.handle)
