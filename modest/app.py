"""The composition root: builds every part of Modest from settings and routing.

Nothing here runs at import time. ``build_service`` wires the parts;
``ModestService.start``/``stop`` run and stop them (the CLI and the end-to-end
tests use the very same path).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import structlog
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.commands import CommandMenu, register_menus
from bot.delivery.limits import TelegramRateLimiter
from bot.delivery.sender import OutboxSender
from bot.delivery.watch import BotApiReachability, BotApiWatch
from bot.factory import create_dispatcher
from bot.i18n import Texts
from bot.plain_transport import PlainTransport
from bot.renderers import TelegramRenderer
from bot.stats_renderers import TelegramStatsRenderer
from config.routing import RoutingConfig
from config.settings import Settings
from connectors.base import HelpdeskConnector
from connectors.budgets import SharedBudgets
from connectors.crm import CrmConnector
from connectors.registry import ConnectorRegistry, default_registry
from connectors.trackers import TrackerConnector
from dispatch.actors import People
from dispatch.chats import ChatAccess
from dispatch.history import HistoryCommand
from modest.domain import Domain, build_domain, periodic_jobs
from modest.metrics import Metrics
from modest.polling import PollingLease, instance_id, poll_while_leased
from modest.warming import warm_in_background
from modest.wiring import bind_references, build_crm, build_helpdesk, build_http, build_tracker
from modest.wiring import helpdesk_kind as helpdesk_kind  # the CLI's and the tests' entry
from scheduler.housekeeping import build_scheduler
from storage.db import Database

if TYPE_CHECKING:
    from argon2 import PasswordHasher

log = structlog.get_logger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
#: The longest one Bot API call may take (aiogram's own default is 60 s).
TELEGRAM_CALL_TIMEOUT = 15.0
#: How long the outbox holds a message it is sending. It outlasts the call, so no other
#: sender takes a message whose call may still succeed; and a process killed mid-send
#: holds that chat no longer than this before the message goes again.
OUTBOX_CLAIM_SECONDS = TELEGRAM_CALL_TIMEOUT + 5.0


@dataclass
class ModestService:
    """Every long-lived part of a running Modest."""

    settings: Settings
    routing: RoutingConfig
    database: Database
    bot: Bot
    dispatcher: Dispatcher
    helpdesk: HelpdeskConnector
    domain: Domain
    tracker: TrackerConnector | None
    outbox_sender: OutboxSender
    scheduler: AsyncIOScheduler
    web_app: web.Application
    commands: CommandMenu
    crm: CrmConnector | None = None
    metrics: Metrics = field(default_factory=Metrics)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    http_port: int | None = None
    #: The models built after start (``modest.warming``), kept referenced.
    pinned_types: list[object] = field(default_factory=list)
    _settled: asyncio.Event = field(default_factory=asyncio.Event)
    polling_lease_ttl: float = 20.0
    _polling: bool = False
    _stopped: asyncio.Event = field(default_factory=asyncio.Event)
    #: The bot's username and the dispatch chat's title, once Telegram told (``modest.startup``).
    bot_username: str | None = None
    dispatch_chat_title: str | None = None

    async def start(self) -> None:
        """Start HTTP, Telegram updates, the outbox sender, the job runner, the scheduler.

        ``/healthz`` answers from the first of them on. What no first request needs is
        left to a background task (``settled``): aiogram's models are built and the
        command menus set once the service is up.
        """
        webhook_url = self.settings.telegram_webhook_url
        if webhook_url:
            # aiogram's webhook server (~1 MiB) only for a webhook, not for long polling.
            from aiogram.webhook.aiohttp_server import SimpleRequestHandler

            secret = self.settings.telegram_webhook_secret
            SimpleRequestHandler(
                self.dispatcher,
                self.bot,
                secret_token=secret.get_secret_value() if secret else None,
            ).register(self.web_app, path=urlparse(webhook_url).path or "/telegram/webhook")
        self._runner = web.AppRunner(self.web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
        await site.start()
        self.http_port = _bound_port(self._runner)
        self._spawn(self.outbox_sender.run(), self.domain.job_runner.run())
        self.scheduler.start()
        if webhook_url:
            await self._set_webhook(webhook_url)
        else:
            self._polling = True
            self._spawn(self._poll())
        # Everything built so far lives as long as the process: keep the collector from
        # walking it again and again (a full pass over aiogram's models took ~200 ms).
        # ``modest run`` starts with the collector off (``modest.cli``): it is on from here.
        gc.freeze()
        gc.enable()
        self._log_started(webhook_url)
        # In the background: /healthz answers and requests are served meanwhile.
        self._spawn(self._settle(webhook=bool(webhook_url)))

    async def _settle(self, *, webhook: bool) -> None:
        """What the first requests need not wait for: the models, then the menus."""
        try:
            await warm_in_background(self.pinned_types, webhook=webhook)
        except Exception as exc:
            # Nothing is lost: a model not built now is built on first use.
            log.warning("modest.warming_failed", error=repr(exc))
        try:
            if not self._stopped.is_set():
                await self._register_menus()
        finally:
            self._settled.set()

    async def settled(self) -> None:
        """Return once the start's background work is done: models built, menus set."""
        await self._settled.wait()

    def _log_started(self, webhook_url: str | None) -> None:
        """One line that says what this instance is wired to."""
        chat = self.routing.dispatch.chat_id
        title = f" ({self.dispatch_chat_title})" if self.dispatch_chat_title else ""
        log.info(
            "modest.started",
            bot=f"@{self.bot_username}" if self.bot_username else None,
            dispatch_chat=f"{chat}{title}",
            routing=str(self.settings.modest_config),
            helpdesk=self.helpdesk.slug,
            tracker=self.tracker.slug if self.tracker else None,
            database="sqlite" if self.database.is_sqlite else "postgresql",
            updates=f"webhook {webhook_url}" if webhook_url else "long polling",
            http=f"{self.settings.http_host}:{self.http_port}",
            http_port=self.http_port,
            webhook=bool(webhook_url),
        )

    async def _register_menus(self) -> None:
        try:
            await register_menus(
                self.bot,
                self.commands,
                chat_id=self.routing.dispatch.chat_id,
                language=self.routing.language,
            )
        except TelegramAPIError as exc:
            # Without menus every command still works; typing it is all it takes.
            log.warning("telegram.menus_not_set", error=exc.message)

    async def _set_webhook(self, url: str) -> None:
        secret = self.settings.telegram_webhook_secret
        await self.bot.set_webhook(
            url,
            secret_token=secret.get_secret_value() if secret else None,
            allowed_updates=ALLOWED_UPDATES,
        )

    async def _poll(self) -> None:
        lease = PollingLease(self.database, holder=instance_id(), ttl=self.polling_lease_ttl)
        await poll_while_leased(
            self.dispatcher, self.bot, lease, self._stopped, allowed_updates=ALLOWED_UPDATES
        )

    def _spawn(self, *coros: Coroutine[Any, Any, None]) -> None:
        for coro in coros:
            self._tasks.append(asyncio.create_task(coro))

    async def stop(self) -> None:
        """Stop everything, letting calls in flight finish."""
        self._stopped.set()
        if self._polling:
            self._polling = False
            with contextlib.suppress(RuntimeError):  # polling had not started yet
                await self.dispatcher.stop_polling()
        self.outbox_sender.stop()
        self.domain.job_runner.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for task in self._tasks:
            # A task that does not finish in time is cancelled: the rest must still close.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=15)
        if self._runner is not None:
            await self._runner.cleanup()
        await self.bot.session.close()
        await self.helpdesk.aclose()
        if self.tracker is not None:
            await self.tracker.aclose()
        if self.crm is not None:
            await self.crm.aclose()
        await self.database.dispose()
        log.info("modest.stopped")


def _bound_port(runner: web.AppRunner) -> int | None:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return None


def build_bot(settings: Settings) -> Bot:
    """The aiogram Bot, pointed at Telegram or a self-hosted Bot API server."""
    session = AiohttpSession(
        api=TelegramAPIServer.from_base(settings.telegram_api_base),
        timeout=TELEGRAM_CALL_TIMEOUT,
    )
    return Bot(
        settings.telegram_bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def build_service(
    settings: Settings,
    routing: RoutingConfig,
    *,
    helpdesk: HelpdeskConnector | None = None,
    limiter: TelegramRateLimiter | None = None,
    job_retry_delay: float = 5.0,
    tracker: TrackerConnector | None = None,
    connectors: ConnectorRegistry | None = None,
    portal_hasher: PasswordHasher | None = None,
    crm: CrmConnector | None = None,
    metrics: Metrics | None = None,
) -> ModestService:
    """Wire every part; start nothing.

    ``helpdesk``, ``tracker``, ``crm`` and ``limiter`` replace the configured ones
    (tests, benchmarks); ``job_retry_delay`` is the first back-off of a failed
    helpdesk call; ``connectors`` replaces the built-in connector registry.
    ``portal_hasher`` replaces the cabinet's password hasher (cheaper ones in tests).
    ``metrics`` (made here when not given, on a registry of its own) is served at
    ``/metrics`` and moved by every part that reports.
    """
    metrics = metrics if metrics is not None else Metrics()
    connectors = connectors or default_registry()
    # One request budget per outside system, shared by the connectors that call it
    # (the tracker and the CRM on one Bitrix24 portal).
    budgets = SharedBudgets()
    database = Database(settings.database_url)
    helpdesk = helpdesk or build_helpdesk(settings, routing, connectors, budgets, metrics)
    if tracker is None:
        tracker = build_tracker(settings, routing, connectors, budgets, metrics)
    if crm is None:
        crm = build_crm(settings, routing, connectors, budgets, metrics)
    routing = bind_references(
        routing,
        connectors,
        helpdesk=routing.helpdesk.kind or helpdesk.slug,
        tracker=routing.tracker.kind or (tracker.slug if tracker else None),
        crm=routing.crm.kind or (crm.slug if crm else None),
    )
    texts = Texts(routing.language)
    renderer = TelegramRenderer(texts, routing.tz, dispatch_chat=routing.dispatch.chat_id)
    limiter = limiter or TelegramRateLimiter()
    domain = build_domain(
        database,
        routing,
        helpdesk,
        renderer,
        translate=texts,
        job_retry_delay=job_retry_delay,
        stats_renderer=TelegramStatsRenderer(texts),
        tracker=tracker,
        crm=crm,
        pace=limiter.pace(),
        job_observer=metrics,
    )
    portal = None
    if settings.portal_on and settings.portal_base_url:
        from modest.portal import build_portal  # the cabinet (jinja2, argon2): only when on

        portal = build_portal(
            settings.portal_base_url, routing, database, helpdesk, domain, hasher=portal_hasher
        )
    bot = build_bot(settings)
    commands = CommandMenu(tracker=tracker is not None, sla=routing.sla.enabled)
    reachability = BotApiReachability()
    # Every call (the long poll too) tells the sender when Telegram is back; the outbox's
    # calls bypass aiogram's session middlewares, so its transport reports to the same watch.
    watch = BotApiWatch(reachability, observer=metrics)
    bot.session.middleware(watch)
    sender = OutboxSender(
        database,
        PlainTransport(bot, watch=watch),
        limiter,
        lease_seconds=OUTBOX_CLAIM_SECONDS,
        reachability=reachability,
    )
    dispatcher = create_dispatcher(
        assignment=domain.assignment,
        reassignment=domain.reassignment,
        reminders=domain.reminders,
        lists=domain.lists,
        dev_tasks=domain.dev_tasks,
        dev_sync=domain.dev_sync,
        time_tracker=domain.time_tracker,
        time_followup=domain.time_followup,
        texts=texts,
        tz=routing.tz,
        chat_access=ChatAccess(database),
        people=People(routing),
        history=HistoryCommand(database, routing, renderer),
        stats=domain.stats.reports if domain.stats else None,
        sla=domain.sla,
        lines=domain.lines,
        portal_accounts=portal.services.accounts if portal else None,
        unreadable=domain.unreadable,
        commands=commands,
    )
    web_app = build_http(
        settings,
        routing,
        helpdesk,
        domain,
        database,
        tracker=tracker,
        registry=connectors,
        metrics=metrics,
        budgets=budgets,
    )
    if portal is not None:
        web_app.add_subapp("/portal", portal.app)
    return ModestService(
        settings=settings,
        routing=routing,
        database=database,
        bot=bot,
        dispatcher=dispatcher,
        helpdesk=helpdesk,
        domain=domain,
        tracker=tracker,
        outbox_sender=sender,
        scheduler=build_scheduler(
            database,
            [*periodic_jobs(routing, helpdesk, domain), *(portal.jobs if portal else [])],
            observer=metrics,
        ),
        web_app=web_app,
        polling_lease_ttl=float(settings.telegram_polling_lease_seconds),
        crm=crm,
        commands=commands,
        metrics=metrics,
    )
