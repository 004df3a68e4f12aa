"""``modest run`` from the settings to a started service, or one line saying what to fix.

Nothing is retried here: a token Telegram refuses, a database that does not exist, a
dispatch chat the bot is not in or a port in use will not fix themselves, so the
process stops with exit code 1 and its supervisor (systemd) shows the line.
"""

from __future__ import annotations

import structlog

from config.routing import RoutingConfig
from config.settings import Settings
from modest.app import ModestService, build_service, helpdesk_kind
from modest.checks import (
    Check,
    Verdict,
    bot_check,
    connector_checks,
    database_check,
    dispatch_chat_check,
    port_problem,
    routing_warnings,
    settings_warnings,
)
from modest.errors import StartupError
from storage.db import Database
from storage.migrate import current_revision, upgrade

log = structlog.get_logger(__name__)


async def start_service(settings: Settings, routing: RoutingConfig) -> ModestService:
    """Check, migrate, build, check the outside world, start; StartupError on a failure."""
    helpdesk_kind(settings, routing)  # fail fast on a helpdesk that cannot be built
    _report([*settings_warnings(settings), *routing_warnings(routing)])
    _report([await database_check(settings.database_url)])
    await migrate(settings)
    service = build_service(settings, routing)
    try:
        await _check_outside(service)
        try:
            await service.start()
        except OSError as exc:
            host, port = settings.http_host, settings.http_port
            raise StartupError(f"HTTP_PORT: {port_problem(host, port, exc)}") from None
    except BaseException:
        await service.stop()
        raise
    return service


async def migrate(settings: Settings) -> None:
    """Bring the schema up to date; one line when it changed (Alembic's own are DEBUG)."""
    database = Database(settings.database_url)
    try:
        before = await current_revision(database)
        await upgrade(database)
        after = await current_revision(database)
    finally:
        await database.dispose()
    if after != before:
        log.info("storage.migrated", from_revision=before, to_revision=after)


async def _check_outside(service: ModestService) -> None:
    """Telegram takes the token and the bot is in the dispatch chat; connectors answer."""
    check, me = await bot_check(service.bot)
    _report([check])
    username = me.username if me is not None else None
    service.bot_username = username
    chat = await dispatch_chat_check(service.bot, service.routing.dispatch.chat_id, username)
    _report([chat])
    service.dispatch_chat_title = chat.detail
    # Recorded as the connectors' health: a failure here is the start of an outage.
    statuses = await service.domain.health.check_all()
    _report(connector_checks(statuses))
    if statuses[0].ok:
        await service.helpdesk.load_dictionaries()


def _report(checks: list[Check]) -> None:
    for check in checks:
        if check.verdict is Verdict.FAIL:
            raise StartupError(check.line())
        if check.verdict is Verdict.WARN:
            log.warning("modest.check", check=check.name, problem=check.detail)
