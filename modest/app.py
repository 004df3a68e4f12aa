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
from typing import Any
from urllib.parse import urlparse

import structlog
from aiogram import Bot, Dispatcher, methods, types
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.methods.base import Response
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from pydantic import SecretStr

from bot.delivery.limits import TelegramRateLimiter
from bot.delivery.sender import OutboxSender
from bot.factory import create_dispatcher
from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from bot.transport import AiogramTransport
from config.errors import ConfigError
from config.routing import RoutingConfig
from config.settings import Settings
from connectors.base import HelpdeskConnector
from connectors.registry import HelpdeskOptions, HelpdeskRegistry, default_registry
from connectors.trackers import TrackerConnector, TrackerOptions, default_tracker_registry
from dispatch.actors import People
from dispatch.chats import ChatAccess
from dispatch.history import HistoryCommand
from modest.domain import Domain, build_domain, periodic_jobs
from modest.lazy_aiogram import warm_up
from modest.polling import PollingLease, instance_id, poll_while_leased
from modest.tracker_hooks import TrackerHooks
from modest.web import WebhookConfig, WebhookHandlers, build_web_app
from scheduler.housekeeping import build_scheduler
from storage.db import Database

log = structlog.get_logger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


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
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    http_port: int | None = None
    pinned_types: list[type] = field(default_factory=lambda: pin_response_types())
    polling_lease_ttl: float = 30.0
    _polling: bool = False
    _stopped: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        """Start HTTP, Telegram updates, the outbox sender, the job runner, the scheduler."""
        webhook_url = self.settings.telegram_webhook_url
        if webhook_url:
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
        gc.freeze()
        log.info(
            "modest.started",
            http_port=self.http_port,
            webhook=bool(webhook_url),
            helpdesk=self.helpdesk.slug,
        )

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
        await self.database.dispose()
        log.info("modest.stopped")


def _bound_port(runner: web.AppRunner) -> int | None:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return None


def helpdesk_kind(settings: Settings, routing: RoutingConfig) -> str:
    """Which helpdesk connector this deployment uses."""
    kind = routing.helpdesk.kind
    if kind is None:
        return "helpdeskeddy" if settings.helpdeskeddy_enabled else "generic"
    if kind == "helpdeskeddy" and not settings.helpdeskeddy_enabled:
        raise ConfigError(
            "helpdesk.kind is helpdeskeddy but HELPDESKEDDY_URL, HELPDESKEDDY_EMAIL and "
            "HELPDESKEDDY_API_KEY are not all set"
        )
    if kind == "rt" and not settings.rt_enabled:
        raise ConfigError(
            "helpdesk.kind is rt but RT_URL and RT_TOKEN (or RT_USER and RT_PASSWORD) are not set"
        )
    return kind


def build_helpdesk(
    settings: Settings, routing: RoutingConfig, registry: HelpdeskRegistry | None = None
) -> HelpdeskConnector:
    """The helpdesk connector named by the configuration."""
    key = settings.helpdeskeddy_api_key
    rt_token, rt_password = settings.rt_token, settings.rt_password
    options = HelpdeskOptions(
        helpdeskeddy_url=settings.helpdeskeddy_url,
        helpdeskeddy_email=settings.helpdeskeddy_email,
        helpdeskeddy_api_key=key.get_secret_value() if key else None,
        max_requests_per_minute=routing.helpdeskeddy.max_requests_per_minute
        or settings.helpdeskeddy_max_requests_per_minute,
        ticket_url_template=routing.helpdesk.ticket_url,
        portal_tz=routing.tz,
        time_field_id=routing.helpdeskeddy.time_field_id,
        rt_url=settings.rt_url,
        rt_token=rt_token.get_secret_value() if rt_token else None,
        rt_user=settings.rt_user,
        rt_password=rt_password.get_secret_value() if rt_password else None,
    )
    return (registry or default_registry()).create(helpdesk_kind(settings, routing), options)


#: The types the bot itself builds (messages, keyboards), made ready before traffic.
_BUILT_TYPES = (
    types.InlineKeyboardMarkup,
    types.InlineKeyboardButton,
    types.LinkPreviewOptions,
    types.ReplyParameters,
    types.ForceReply,
    types.CallbackQuery,
    types.ChatMemberUpdated,
)

#: Response models aiogram parametrises per call; pydantic caches them only weakly, so
#: unpinned they are rebuilt after every collection (~5 ms each).
_PINNED_RESPONSES = (
    methods.SendMessage,
    methods.EditMessageText,
    methods.DeleteMessage,
    methods.AnswerCallbackQuery,
    methods.GetUpdates,
    methods.SendDocument,
    methods.GetMe,
)


def pin_response_types() -> list[type]:
    """Build the models the service uses, and aiogram's ``Response[...]`` ones, once.

    aiogram's models are built on first use (``modest.lazy_aiogram``): building these
    here keeps that cost off the first update and the first call.
    """
    warm_up([Update, *_BUILT_TYPES, *_PINNED_RESPONSES])
    return [Response[method.__returning__] for method in _PINNED_RESPONSES]  # type: ignore[name-defined]


def build_tracker(settings: Settings, routing: RoutingConfig) -> TrackerConnector | None:
    """The task tracker for developer tasks, or None when ``tracker.kind`` is not set."""
    kind = routing.tracker.kind
    if kind is None:
        return None
    hook, key = settings.bitrix24_webhook_url, settings.redmine_api_key
    options = TrackerOptions(
        bitrix24_webhook_url=hook.get_secret_value() if hook else None,
        bitrix24_done_statuses=routing.tracker.bitrix24_done_statuses,
        redmine_url=settings.redmine_url,
        redmine_api_key=key.get_secret_value() if key else None,
        redmine_project=routing.tracker.project,
        redmine_tracker_id=routing.tracker.redmine_tracker_id,
        redmine_max_requests_per_minute=settings.redmine_max_requests_per_minute,
    )
    try:
        return default_tracker_registry().create(kind, options)
    except ValueError as exc:
        raise ConfigError(
            f"tracker.kind is {kind}: {exc} (set the environment variables)"
        ) from exc


def build_bot(settings: Settings) -> Bot:
    """The aiogram Bot, pointed at Telegram or a self-hosted Bot API server."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(
        settings.telegram_bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def build_http(
    settings: Settings, helpdesk: HelpdeskConnector, domain: Domain, database: Database
) -> web.Application:
    """The aiohttp app: helpdesk webhooks, tracker events, ``/healthz``."""
    handlers = WebhookHandlers(
        WebhookConfig(
            secret=_secret(settings.helpdesk_webhook_secret),
            max_body_bytes=settings.webhook_max_body_bytes,
            generic_source=helpdesk.slug,
            fetch_source=helpdesk.slug if helpdesk.can_fetch else None,
        ),
        domain.intake,
    )
    web_app = build_web_app(handlers, database, settings.webhook_max_body_bytes)
    TrackerHooks(
        domain.dev_sync,
        bitrix24_token=_secret(settings.bitrix24_app_token),
        redmine_secret=_secret(settings.redmine_webhook_secret),
        max_body_bytes=settings.webhook_max_body_bytes,
    ).register(web_app)
    return web_app


def build_service(
    settings: Settings,
    routing: RoutingConfig,
    *,
    helpdesk: HelpdeskConnector | None = None,
    limiter: TelegramRateLimiter | None = None,
    job_retry_delay: float = 5.0,
    tracker: TrackerConnector | None = None,
) -> ModestService:
    """Wire every part; start nothing.

    ``helpdesk`` and ``limiter`` replace the configured ones (tests, benchmarks);
    ``job_retry_delay`` is the first back-off of a failed helpdesk call.
    """
    database = Database(settings.database_url)
    helpdesk = helpdesk or build_helpdesk(settings, routing)
    tracker = tracker if tracker is not None else build_tracker(settings, routing)
    texts = Texts(routing.language)
    renderer = TelegramRenderer(texts, routing.tz)
    domain = build_domain(
        database,
        routing,
        helpdesk,
        renderer,
        translate=texts,
        job_retry_delay=job_retry_delay,
        tracker=tracker,
    )
    bot = build_bot(settings)
    sender = OutboxSender(database, AiogramTransport(bot), limiter or TelegramRateLimiter())
    dispatcher = create_dispatcher(
        assignment=domain.assignment,
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
        sla=domain.sla,
        lines=domain.lines,
    )
    web_app = build_http(settings, helpdesk, domain, database)
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
        scheduler=build_scheduler(database, periodic_jobs(routing, helpdesk, domain)),
        web_app=web_app,
    )
