"""``modest doctor``: every check ``modest run`` makes, as a checklist with what to fix.

Nothing is changed: no migration runs, no connector state is recorded, nothing is sent.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from config.errors import ConfigError
from config.routing import RoutingConfig, load_routing
from config.settings import Settings, load_settings
from connectors.base import AccessDenied, ConnectorError, HelpdeskConnector
from connectors.registry import default_registry
from connectors.trackers import TrackerConnector
from dispatch.views import ConnectorStatus
from modest.app import build_bot
from modest.checks import (
    Check,
    Verdict,
    bot_check,
    connector_checks,
    database_check,
    dispatch_chat_check,
    fail,
    ok,
    port_check,
    recent_chats,
    routing_warnings,
    settings_warnings,
)
from modest.config_check import config_problems
from modest.wiring import build_helpdesk, build_tracker
from storage.types import utcnow

MARKS = {Verdict.OK: "✓", Verdict.WARN: "!", Verdict.FAIL: "✗"}


async def checklist(routing_path: Path) -> list[Check]:
    """Every check, in the order an operator would fix things."""
    checks: list[Check] = []
    try:
        settings: Settings | None = load_settings()
    except ConfigError as exc:
        settings = None
        checks.extend(fail("settings", line) for line in str(exc).splitlines())
    path = settings.modest_config if settings is not None else routing_path
    registry = default_registry()
    problems = config_problems(path, registry)
    checks.extend(fail("routing file", line) for line in problems)
    routing = None if problems else load_routing(path, connectors=registry.known_slugs())
    if routing is not None:
        checks.append(ok("routing file", str(path)))
    if settings is None:
        return checks
    checks.extend(settings_warnings(settings))
    checks.append(await database_check(settings.database_url))
    checks.append(port_check(settings.http_host, settings.http_port))
    checks.extend(await _telegram(settings, routing))
    if routing is not None:
        checks.extend(connector_checks(await _probe_connectors(settings, routing)))
        checks.extend(routing_warnings(routing))
    return checks


def render(checks: list[Check]) -> list[str]:
    """The checklist's lines, and a last line saying what to do."""
    lines = [f"{MARKS[check.verdict]} {check.line()}" for check in checks]
    if any(check.verdict is Verdict.FAIL for check in checks):
        lines.append("Fix the ✗ lines, then run `modest doctor` again.")
    else:
        lines.append("Modest is ready: `modest run`.")
    return lines


async def _telegram(settings: Settings, routing: RoutingConfig | None) -> list[Check]:
    bot = build_bot(settings)
    try:
        check, me = await bot_check(bot)
        if me is None or routing is None:
            return [check]
        chat = await dispatch_chat_check(bot, routing.dispatch.chat_id, me.username)
        if chat.verdict is Verdict.OK:
            return [check, ok(chat.name, f"{routing.dispatch.chat_id} ({chat.detail})")]
        # The ids to put in the routing file: the chats that wrote to the bot.
        return [check, chat, await recent_chats(bot)]
    finally:
        await bot.session.close()


async def _probe_connectors(settings: Settings, routing: RoutingConfig) -> list[ConnectorStatus]:
    """Ask each configured connector once, without recording anything."""
    registry = default_registry()
    connectors: list[tuple[str, HelpdeskConnector | TrackerConnector]] = [
        ("helpdesk", build_helpdesk(settings, routing, registry))
    ]
    tracker = build_tracker(settings, routing, registry)
    if tracker is not None:
        connectors.append(("tracker", tracker))
    statuses: list[ConnectorStatus] = []
    for role, connector in connectors:
        status = ConnectorStatus(role=role, kind=connector.slug, title=connector.title)
        try:
            await connector.check_access()
        except ConnectorError as exc:
            refused = isinstance(exc, AccessDenied)
            status = replace(status, failing_since=utcnow(), error=str(exc), refused=refused)
        finally:
            await connector.aclose()
        statuses.append(status)
    return statuses
