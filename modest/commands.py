"""The ``modest`` commands that need the database or Telegram: run, migrate, doctor,
report, history, stats and portal. ``modest.cli`` imports this module only when one of
them runs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.i18n import Texts
from config.routing import RoutingConfig, load_routing
from config.settings import Settings
from connectors.registry import default_registry
from dispatch.crm.clients import CrmClientDirectory
from dispatch.history import TicketHistory, format_line
from dispatch.report_files import report_csv, report_pdf
from dispatch.reports import ClientReport, ReportService
from modest.checks import first_failure
from modest.logs import configure_logging
from modest.startup import migrate, start_service
from storage.db import Database

if TYPE_CHECKING:
    from modest.config_check import RoutingPathOnly


def run(settings: Settings) -> int:
    """``modest run``: start everything, serve until SIGINT or SIGTERM."""
    return asyncio.run(_run(settings))


def migrate_only(settings: Settings) -> int:
    """``modest migrate``: bring the schema up to date."""
    asyncio.run(migrate(settings))
    print("migrations applied")
    return 0


def doctor(routing_path: Path) -> int:
    """``modest doctor``: the checklist; 1 when something must be fixed first."""
    from modest.doctor import checklist, render

    # The checklist is the output; what the connectors log on the way goes to stderr.
    configure_logging("WARNING", "console", stream=sys.stderr)
    checks = asyncio.run(checklist(routing_path))
    for line in render(checks):
        print(line)
    return 1 if first_failure(checks) is not None else 0


def write_reports(args: argparse.Namespace) -> int:
    """``modest report``: the same documents as the monthly run, written to files."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.month):
        print(f"modest: --month must be YYYY-MM, got {args.month!r}", file=sys.stderr)
        return 2
    env = _paths()
    routing = load_routing(env.modest_config)
    try:
        reports = asyncio.run(_build_reports(env.database_url, routing, args))
    except KeyError as exc:
        print(f"modest: {exc.args[0]}", file=sys.stderr)
        return 1
    texts = Texts(routing.language)
    draw = report_pdf if args.format == "pdf" else report_csv
    out = Path(args.out)
    if args.all:
        out.mkdir(parents=True, exist_ok=True)
    for report in reports:
        target = out / f"{report.client.key}-{args.month}.{args.format}" if args.all else out
        target.write_bytes(draw(report, texts))
        print(target)
    return 0


async def _build_reports(
    url: str, routing: RoutingConfig, args: argparse.Namespace
) -> list[ClientReport]:
    database = Database(url)
    # CRM clients from the contracts last read (the command calls no outside system).
    clients = CrmClientDirectory(routing, None) if routing.crm.clients_from_crm else None
    service = ReportService(database, routing, clients=clients)
    try:
        if args.all:
            keys = [c.key for c in await service.clients_to_report(month=args.month)]
        else:
            keys = [args.client]
        return [await service.build(client_key=key, month=args.month) for key in keys]
    finally:
        await database.dispose()


def print_history(reference: str) -> int:
    """``modest history TICKET``: ``YYYY-MM-DD HH:MM  <kind>  <actor>  <details>`` lines."""
    env = _paths()
    routing = load_routing(env.modest_config)
    lines = asyncio.run(_history_lines(env.database_url, routing, reference))
    if lines is None:
        print(f"modest: no ticket {reference!r}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


async def _history_lines(url: str, routing: RoutingConfig, reference: str) -> list[str] | None:
    database = Database(url)
    try:
        history = TicketHistory(database, routing)
        timeline = await history.by_reference(reference)
    finally:
        await database.dispose()
    if timeline is None:
        return None
    return [format_line(entry, history, routing.tz) for entry in timeline.entries]


def write_stats(args: argparse.Namespace) -> int:
    """``modest stats``: a period's figures as text, CSV or a chart (``modest.stats_cli``)."""
    from modest.stats_cli import write_stats as write  # matplotlib only for this command

    env = _paths()
    return write(args, load_routing(env.modest_config), env.database_url)


def portal(args: argparse.Namespace) -> int:
    """``modest portal ...``: the client cabinet's commands (``modest.portal``)."""
    from modest.portal import run_portal_command

    return run_portal_command(args)


def _paths() -> RoutingPathOnly:
    """The routing file and the database, without a bot token (report, history, stats)."""
    from modest.config_check import RoutingPathOnly  # its model is built on import

    return RoutingPathOnly()


async def _run(settings: Settings) -> int:
    routing = load_routing(settings.modest_config, connectors=default_registry().known_slugs())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Before the start: a SIGTERM that arrives while starting stops the service cleanly
    # once it has started, rather than killing it half-way.
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    service = await start_service(settings, routing)
    try:
        await stop.wait()
    finally:
        await service.stop()
    return 0
