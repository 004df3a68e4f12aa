"""The Prometheus metrics of one Modest process, served at ``GET /metrics``.

The registry is the service's own (``build_service`` makes one ``Metrics``), never
prometheus_client's global default one, so two services in one process (tests) keep their
figures apart and nothing is made at import time. Events are counted where they happen,
through the small observer protocols of the packages that report them:

* webhooks: ``modest.web.WebhookServer`` (by source, outcome and refusal reason; time);
* Telegram calls: ``bot.delivery.watch.TelegramCallObserver`` (by method and outcome,
  429s as ``retry_after``; time);
* jobs: ``scheduler.jobs.JobObserver`` (by kind and outcome; time);
* periodic passes (reminders, burst digests, and any pass, e.g. the SLA scan, that reports
  under its own name): ``scheduler.housekeeping.PassObserver``;
* helpdesk, tracker and CRM HTTP requests: ``connectors.observe.RequestObserver``.

What the database holds (the outbox per kind of chat, the job queue, tickets by state) and
what is left of the request budgets are read at each scrape (``refresh``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from bot.delivery.watch import CallOutcome
from connectors.budgets import SharedBudgets
from dispatch.models import TicketState
from storage.db import Database

log = structlog.get_logger(__name__)

#: The kinds of chat the outbox figures are split by.
CHAT_KINDS = ("dispatch", "group", "private")
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SLOW = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0)


def chat_kind(chat_id: int, dispatch_chat: int) -> str:
    """``dispatch`` for the dispatch chat, ``group`` for other groups, else ``private``."""
    if chat_id == dispatch_chat:
        return "dispatch"
    return "group" if chat_id < 0 else "private"


class Metrics:
    """The metric families, the observers that move them, and the scrape."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.webhooks = Counter(
            "modest_webhooks",
            "Webhooks answered, by source, outcome (accepted, duplicate, ignored, refused) "
            "and the reason of a refusal",
            ["source", "outcome", "reason"],
            registry=r,
        )
        self.webhook_seconds = Histogram(
            "modest_webhook_seconds",
            "Time to answer a webhook",
            ["source"],
            buckets=_FAST,
            registry=r,
        )
        self.telegram_calls = Counter(
            "modest_telegram_calls",
            "Bot API calls by method and outcome (retry_after: a 429)",
            ["method", "outcome"],
            registry=r,
        )
        self.telegram_seconds = Histogram(
            "modest_telegram_call_seconds",
            "Bot API call time",
            ["method"],
            buckets=_FAST,
            registry=r,
        )
        self.jobs = Counter(
            "modest_jobs", "Job runs by kind and outcome (done, retry, failed)",
            ["kind", "outcome"], registry=r,
        )  # fmt: skip
        self.job_seconds = Histogram(
            "modest_job_seconds", "Job run time", ["kind"], buckets=_SLOW, registry=r
        )
        self.jobs_queued = Gauge(
            "modest_jobs_queued", "Jobs waiting or running, by kind", ["kind"], registry=r
        )
        self.pass_seconds = Histogram(
            "modest_pass_duration_seconds",
            "Duration of periodic passes (reminders.pass, cards.burst, the SLA scan...)",
            ["name"],
            buckets=_SLOW,
            registry=r,
        )
        self.pass_failures = Counter(
            "modest_pass_failures", "Periodic passes that raised", ["name"], registry=r
        )
        self.connector_requests = Counter(
            "modest_connector_requests",
            "HTTP requests to the helpdesk, tracker and CRM, by outcome",
            ["kind", "system", "outcome"],
            registry=r,
        )
        self.connector_seconds = Histogram(
            "modest_connector_request_seconds", "HTTP request time of a connector",
            ["kind", "system"], buckets=_SLOW, registry=r,
        )  # fmt: skip
        self.budget_left = Gauge(
            "modest_connector_budget_left",
            "Requests that still fit in a connector's request budget",
            ["system"],
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "modest_outbox_backlog",
            "Telegram calls waiting, by kind of chat",
            ["chat"],
            registry=r,
        )
        self.outbox_oldest = Gauge(
            "modest_outbox_oldest_seconds",
            "Age of the oldest Telegram call waiting, by kind of chat (0: none)",
            ["chat"],
            registry=r,
        )
        self.tickets = Gauge("modest_tickets", "Tickets by state", ["state"], registry=r)
        self.database_up = Gauge(
            "modest_database_up", "Whether the database answered the last scrape", registry=r
        )

    # ---------------------------------------------------------------- observers

    def webhook(self, source: str, outcome: str, reason: str, seconds: float) -> None:
        """A webhook was answered (``reason`` is empty unless it was refused)."""
        self.webhooks.labels(source, outcome, reason).inc()
        self.webhook_seconds.labels(source).observe(seconds)

    def telegram_call(self, method: str, outcome: CallOutcome, seconds: float) -> None:
        """A Bot API call ended (``TelegramCallObserver``)."""
        self.telegram_calls.labels(method, outcome.value).inc()
        self.telegram_seconds.labels(method).observe(seconds)

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        """A job run ended (``JobObserver``)."""
        self.jobs.labels(kind, outcome).inc()
        self.job_seconds.labels(kind).observe(seconds)

    def pass_finished(self, name: str, seconds: float, *, failed: bool) -> None:
        """A periodic pass ended (``PassObserver``)."""
        self.pass_seconds.labels(name).observe(seconds)
        if failed:
            self.pass_failures.labels(name).inc()

    def connector_request(self, kind: str, system: str, outcome: str, seconds: float) -> None:
        """A connector's HTTP request ended (``RequestObserver``)."""
        self.connector_requests.labels(kind, system, outcome).inc()
        self.connector_seconds.labels(kind, system).observe(seconds)

    # ---------------------------------------------------------------- the scrape

    async def refresh(
        self, database: Database, *, dispatch_chat: int, budgets: SharedBudgets | None
    ) -> None:
        """Read what the database holds and the budgets, into the gauges."""
        self._read_budgets(budgets)
        try:
            async with database.unit_of_work() as uow:
                chats = await uow.outbox.backlog_by_chat()
                jobs = await uow.jobs.waiting_by_kind()
                states = await uow.tickets.count_by_state()
        except Exception as exc:
            log.warning("metrics.database_down", error=repr(exc))
            self.database_up.set(0)
            return
        self.database_up.set(1)
        self._set_outbox(chats, dispatch_chat)
        self.jobs_queued.clear()
        for kind, count in jobs.items():
            self.jobs_queued.labels(kind).set(count)
        for state in TicketState:
            self.tickets.labels(state.value).set(states.get(state.value, 0))

    def _set_outbox(self, chats: Iterable[tuple[int, int, datetime]], dispatch_chat: int) -> None:
        now = time.time()
        backlog = dict.fromkeys(CHAT_KINDS, 0)
        oldest = dict.fromkeys(CHAT_KINDS, 0.0)
        for chat_id, count, queued_at in chats:
            kind = chat_kind(chat_id, dispatch_chat)
            backlog[kind] += count
            oldest[kind] = max(oldest[kind], now - queued_at.timestamp())
        for kind in CHAT_KINDS:
            self.outbox_backlog.labels(kind).set(backlog[kind])
            self.outbox_oldest.labels(kind).set(round(max(oldest[kind], 0.0), 3))

    def _read_budgets(self, budgets: SharedBudgets | None) -> None:
        if budgets is None:
            return
        for key, budget in budgets.items():
            # RequestBudget and PortalRateLimiter both tell what is left.
            left = getattr(budget, "left", None)
            if callable(left):
                self.budget_left.labels(key.split(":", 1)[0]).set(float(left()))

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in the format the scraper's ``Accept`` asks for, and its type.

        Prometheus' text format 0.0.4 unless OpenMetrics is asked for.
        """
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type
