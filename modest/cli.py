"""The ``modest`` command: run, doctor, check-config, migrate, report, history."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.i18n import Texts
from config.errors import ConfigError
from config.routing import RoutingConfig, load_routing
from config.settings import Settings, load_settings
from connectors.registry import default_registry
from dispatch.history import TicketHistory, format_line
from dispatch.report_files import report_csv, report_pdf
from dispatch.reports import ClientReport, ReportService
from modest.checks import first_failure
from modest.config_check import config_problems
from modest.doctor import checklist, render
from modest.logs import configure_logging
from modest.startup import StartupError, migrate, start_service
from storage.db import Database


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "check-config":
            return check_config(args.file)
        if args.command == "doctor":
            return doctor()
        if args.command == "report":
            return write_reports(args)
        if args.command == "history":
            return print_history(args.ticket)
        settings = load_settings()
        configure_logging(settings.log_level, settings.log_format)
        if args.command == "migrate":
            asyncio.run(_migrate(settings))
            print("migrations applied")
            return 0
        return asyncio.run(_run(settings))
    except ConfigError as exc:
        print(f"modest: configuration error:\n{exc}", file=sys.stderr)
        return 1
    except StartupError as exc:
        print(f"modest: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modest", description="Telegram dispatch bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the service (applies migrations first)")
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser(
        "doctor",
        help="check settings, routing file, database, bot token, dispatch chat and connectors",
    )
    check = sub.add_parser("check-config", help="validate the YAML routing file")
    check.add_argument("file", nargs="?", help="file to check (default: $MODEST_CONFIG)")
    report = sub.add_parser(
        "report", help="write a client's monthly report (nothing is sent or locked)"
    )
    which = report.add_mutually_exclusive_group(required=True)
    which.add_argument("--client", help="client key from the routing file")
    which.add_argument(
        "--all", action="store_true", help="every client with activity or a package"
    )
    report.add_argument("--month", required=True, help="YYYY-MM")
    report.add_argument("--format", choices=["pdf", "csv"], default="pdf")
    report.add_argument("--out", required=True, help="file (or, with --all, a directory)")
    history = sub.add_parser(
        "history", help="print a ticket's history, one event per line, in the routing time zone"
    )
    history.add_argument("ticket", help="the ticket's helpdesk id or number (#4101 or 4101)")
    return parser


def check_config(file: str | None) -> int:
    """Print every problem as ``file:line: field: message``; 1 if there are any.

    The settings the routing file depends on are checked too (a connector it names
    must have its variables), so the verdict is the one ``modest run`` reaches.
    """
    path = Path(file) if file else _config_path()
    problems = config_problems(path, default_registry())
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"{path}: OK")
    return 0


def doctor() -> int:
    """``modest doctor``: the checklist; 1 when something must be fixed first."""
    # The checklist is the output; what the connectors log on the way goes to stderr.
    configure_logging("WARNING", "console", stream=sys.stderr)
    checks = asyncio.run(checklist(_config_path()))
    for line in render(checks):
        print(line)
    return 1 if first_failure(checks) is not None else 0


class _RoutingPathOnly(BaseSettings):
    """What check-config and report need: they must work without a bot token."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)
    modest_config: Path = Path("config/routing.yaml")
    database_url: str = "sqlite+aiosqlite:///./modest.db"


def write_reports(args: argparse.Namespace) -> int:
    """``modest report``: the same documents as the monthly run, written to files."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.month):
        print(f"modest: --month must be YYYY-MM, got {args.month!r}", file=sys.stderr)
        return 2
    env = _RoutingPathOnly()
    routing = load_routing(env.modest_config)
    try:
        reports = asyncio.run(_build_reports(env.database_url, routing, args))
    except KeyError as exc:
        print(f"modest: {exc.args[0]}", file=sys.stderr)
        return 1
    texts = Texts(routing.language)
    render = report_pdf if args.format == "pdf" else report_csv
    out = Path(args.out)
    if args.all:
        out.mkdir(parents=True, exist_ok=True)
    for report in reports:
        target = out / f"{report.client.key}-{args.month}.{args.format}" if args.all else out
        target.write_bytes(render(report, texts))
        print(target)
    return 0


async def _build_reports(
    url: str, routing: RoutingConfig, args: argparse.Namespace
) -> list[ClientReport]:
    database = Database(url)
    service = ReportService(database, routing)
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
    env = _RoutingPathOnly()
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


def _config_path() -> Path:
    return _RoutingPathOnly().modest_config


async def _migrate(settings: Settings) -> None:
    await migrate(settings)


async def _run(settings: Settings) -> int:
    routing = load_routing(settings.modest_config, connectors=default_registry().known_slugs())
    service = await start_service(settings, routing)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await service.stop()
    return 0
