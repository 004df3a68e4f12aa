"""``GET /metrics``: the text format, who may read it, and every family moving with its event.

The real service runs (``running_modest``) against the Telegram emulator and, for the
connector figures, a fake HelpDeskEddy over HTTP; the figures are read back over HTTP as
a Prometheus server would and parsed with prometheus_client's own parser.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from unittest import mock

import pytest
from aiohttp.test_utils import make_mocked_request
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from config.routing import RoutingConfig
from modest.metrics import Metrics
from modest.metrics_web import MetricsEndpoint, is_loopback
from storage.db import Database
from storage.models import JobRow
from storage.types import utcnow
from tests.support.harness import SECRET, Harness, running_modest, ticket_body
from tests.support.helpdeskeddy_fake import HelpDeskEddyFake
from tests.support.paths import REPO
from tests.support.telegram_emulator import TelegramEmulator

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(h: Harness, token: str | None = None) -> Samples:
    """Every sample of ``/metrics`` by name and labels."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = await h.http.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, /, **labels: str) -> float:
    """One sample's value, 0 when the series does not exist (yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def until(h: Harness, check: object, timeout: float = 10.0) -> Samples:
    """Scrape until ``check(samples)`` holds."""
    assert callable(check)
    async with asyncio.timeout(timeout):
        while True:
            samples = await scrape(h)
            if check(samples):
                return samples
            await asyncio.sleep(0.1)


def fast_reminders(routing: RoutingConfig) -> RoutingConfig:
    """Reminder passes every second (a quarter of the interval)."""
    dispatch = routing.dispatch.model_copy(update={"nag_interval": timedelta(seconds=4)})
    return routing.model_copy(update={"dispatch": dispatch})


@pytest.fixture
async def h(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> AsyncIterator[Harness]:
    async with running_modest(tg, fast_reminders(routing), sqlite_url) as harness:
        yield harness


async def test_metrics_are_prometheus_text_open_on_loopback(h: Harness) -> None:
    samples = await scrape(h)
    assert value(samples, "modest_database_up") == 1
    for chat in ("dispatch", "group", "private"):
        assert (("modest_outbox_backlog", (("chat", chat),))) in samples
    assert value(samples, "modest_tickets", state="unassigned") == 0


async def test_webhooks_by_source_outcome_and_refusal_reason(h: Harness) -> None:
    assert (await h.post_generic(ticket_body("1"))).json()["status"] == "accepted"
    assert (await h.post_generic(ticket_body("1"))).json()["status"] == "duplicate"
    wrong = await h.post_generic(ticket_body("2"), headers={"X-Webhook-Secret": "nope"})
    assert wrong.status_code == 401
    bad = await h.http.post(
        "/webhooks/generic",
        json={"event": "ticket.created"},
        headers={"X-Webhook-Secret": SECRET},
    )
    assert bad.status_code == 400
    samples = await scrape(h)
    webhooks = "modest_webhooks_total"
    assert value(samples, webhooks, source="generic", outcome="accepted", reason="") == 1
    assert value(samples, webhooks, source="generic", outcome="duplicate", reason="") == 1
    refused = {"source": "generic", "outcome": "refused"}
    assert value(samples, webhooks, **refused, reason="unauthorized") == 1
    assert value(samples, webhooks, **refused, reason="invalid") == 1
    assert value(samples, "modest_webhook_seconds_count", source="generic") == 4
    assert value(samples, "modest_tickets", state="unassigned") == 1


async def test_telegram_calls_by_method_and_outcome_429s_counted(
    h: Harness, tg: TelegramEmulator
) -> None:
    tg.fail_next("sendMessage", error_code=429, retry_after=1)
    await h.post_generic(ticket_body("1"))
    calls = "modest_telegram_calls_total"
    samples = await until(h, lambda s: value(s, calls, method="sendMessage", outcome="ok") >= 1)
    assert value(samples, calls, method="sendMessage", outcome="retry_after") == 1
    assert value(samples, calls, method="getMe", outcome="ok") >= 1, "the long poll's start too"
    assert value(samples, "modest_telegram_call_seconds_count", method="sendMessage") == 2


async def test_outbox_backlog_and_oldest_age_per_kind_of_chat(
    h: Harness, tg: TelegramEmulator
) -> None:
    tg.set_down(True)
    await h.post_generic(ticket_body("1"))
    await asyncio.sleep(0.3)
    samples = await scrape(h)
    assert value(samples, "modest_outbox_backlog", chat="dispatch") == 1
    assert value(samples, "modest_outbox_oldest_seconds", chat="dispatch") > 0.2
    assert value(samples, "modest_outbox_backlog", chat="private") == 0
    tg.set_down(False)
    samples = await until(h, lambda s: value(s, "modest_outbox_backlog", chat="dispatch") == 0)
    assert value(samples, "modest_outbox_oldest_seconds", chat="dispatch") == 0


async def add_jobs(database: Database, *rows: JobRow) -> None:
    async with database.unit_of_work() as uow:
        for row in rows:
            uow.session.add(row)
        await uow.commit()


async def test_jobs_by_kind_and_outcome_and_the_queue_depth(h: Harness) -> None:
    later = JobRow(kind="helpdesk.note", not_before=utcnow() + timedelta(hours=1))
    await add_jobs(h.service.database, JobRow(kind="no_such_kind"), later)
    h.service.database.jobs_wakeup.set()
    samples = await until(
        h, lambda s: value(s, "modest_jobs_total", kind="no_such_kind", outcome="failed") == 1
    )
    assert value(samples, "modest_jobs_queued", kind="helpdesk.note") == 1
    assert ("modest_jobs_queued", (("kind", "no_such_kind"),)) not in samples


async def test_reminder_and_other_passes_report_their_duration(h: Harness) -> None:
    count = "modest_pass_duration_seconds_count"
    samples = await until(h, lambda s: value(s, count, name="reminders.pass") >= 1)
    assert value(samples, count, name="cards.burst") >= 1
    assert value(samples, "modest_pass_failures_total", name="reminders.pass") == 0


async def test_helpdesk_calls_by_outcome_and_the_budget_left(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with HelpDeskEddyFake() as hde:
        hde.add_user(501, name="Maria", lastname="Ivanova", organization="Acme LLC")
        hde.add_ticket(5, title="VPN is down")
        async with running_modest(
            tg,
            routing,
            sqlite_url,
            helpdeskeddy_url=hde.base_url,
            helpdeskeddy_email=hde.email,
            helpdeskeddy_api_key=hde.api_key,
        ) as h:
            answer = await h.http.post(
                "/webhooks/helpdeskeddy",
                params={"secret": SECRET},
                json={"ticket_id": "5", "event": "ticket.created"},
            )
            assert answer.status_code == 200
            done = "modest_jobs_total"
            samples = await until(
                h, lambda s: value(s, done, kind="helpdesk.fetch", outcome="done") == 1
            )
    requests = "modest_connector_requests_total"
    ok = value(samples, requests, kind="helpdesk", system="helpdeskeddy", outcome="ok")
    assert ok == len(hde.requests) >= 2
    left = value(samples, "modest_connector_budget_left", system="helpdeskeddy")
    assert 0 < left <= 120 - ok
    seconds = "modest_connector_request_seconds_count"
    assert value(samples, seconds, kind="helpdesk", system="helpdeskeddy") == ok


async def test_a_metrics_token_is_required_as_a_bearer_when_set(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, routing, sqlite_url, metrics_token="m3trics-t0ken") as h:
        missing = await h.http.get("/metrics")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await h.http.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        basic = await h.http.get("/metrics", headers={"Authorization": "Basic m3trics-t0ken"})
        assert basic.status_code == 401
        samples = await scrape(h, token="m3trics-t0ken")
        assert value(samples, "modest_database_up") == 1


def remote_request(peer: str, headers: dict[str, str] | None = None) -> object:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 40000) if name == "peername" else default
    )
    return make_mocked_request("GET", "/metrics", headers=headers or {}, transport=transport)


async def test_without_a_token_only_loopback_may_read(database: Database) -> None:
    metrics = Metrics(CollectorRegistry())
    open_ = MetricsEndpoint(metrics, database, dispatch_chat=-1, budgets=None, token=None)
    away = await open_.handle(remote_request("203.0.113.7"))  # type: ignore[arg-type]
    assert away.status == 403
    near = await open_.handle(remote_request("127.0.0.1"))  # type: ignore[arg-type]
    assert near.status == 200
    guarded = MetricsEndpoint(metrics, database, dispatch_chat=-1, budgets=None, token="t")
    good = {"Authorization": "Bearer t"}
    far = await guarded.handle(remote_request("203.0.113.7", good))  # type: ignore[arg-type]
    assert far.status == 200, "with a token, any address that shows it"
    assert [is_loopback(a) for a in ("::1", "::ffff:127.0.0.1", "10.0.0.1", None, "x")] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_two_services_keep_their_figures_apart() -> None:
    first, second = Metrics(), Metrics()
    first.webhook("generic", "accepted", "", 0.01)
    assert b'outcome="accepted"' in first.exposition()[0]
    assert b'outcome="accepted"' not in second.exposition()[0]


def test_the_sample_dashboard_charts_only_metrics_the_service_serves() -> None:
    dashboard = json.loads((REPO / "docs" / "grafana-dashboard.json").read_text("utf-8"))
    exprs = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    named = {name for expr in exprs for name in re.findall(r"\bmodest_[a-z_]+", expr)}
    families = {family.name for family in Metrics().registry.collect()}
    suffixes = ("", "_total", "_bucket", "_count", "_sum")
    for name in named:
        assert any(name == family + suffix for family in families for suffix in suffixes), name
    assert {name.removesuffix("_total").removesuffix("_bucket") for name in named} == families
    assert len(named) >= 12, "every family has a panel"
