"""The ``modest`` command: run, doctor, check-config, migrate, report, history, stats, portal.

The parser and ``check-config`` import neither aiogram nor SQLAlchemy: ``modest --help``
answers at once, and a routing file is checked without a database or a token. The
other commands live in ``modest.commands``, imported when one of them runs.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path

from config.errors import ConfigError
from config.settings import load_settings
from modest.errors import StartupError
from modest.logs import configure_logging

_SETTINGS = (
    "Settings are read from the environment and from a .env file in the working"
    " directory; .env.example documents every variable and its default"
    " (TELEGRAM_BOT_TOKEN is required). The routing file is $MODEST_CONFIG"
    " (default: config/routing.yaml)."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        print(f"modest: configuration error:\n{exc}", file=sys.stderr)
        return 1
    except StartupError as exc:
        print(f"modest: {exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check-config":
        return check_config(args.file)
    if args.command == "run":
        # Starting allocates ~250,000 objects that live as long as the process; the
        # collector would walk them again and again (~0.1 s of CPU before /healthz).
        # ``ModestService.start`` freezes them and turns it back on.
        gc.disable()
    from modest import commands  # the database, Telegram and the reports: only from here on

    if args.command == "doctor":
        return commands.doctor(_config_path())
    if args.command == "report":
        return commands.write_reports(args)
    if args.command == "history":
        return commands.print_history(args.ticket)
    if args.command == "stats":
        return commands.write_stats(args)
    if args.command == "portal":
        return commands.portal(args)
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "migrate":
        return commands.migrate_only(settings)
    return commands.run(settings)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="modest",
        description="Modest: a Telegram dispatch bot for technical-support teams.",
        epilog=_SETTINGS + " Start with `modest doctor`.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser(
        "run",
        help="run the service (applies migrations first)",
        description="Run the service: the HTTP server (helpdesk webhooks, /healthz), Telegram"
        " updates (long polling, or a webhook when TELEGRAM_WEBHOOK_URL is set), the"
        " outbox sender, the job runner and the scheduler. Applies migrations first;"
        " stops on SIGINT or SIGTERM; stops at start with one line when something"
        " cannot work (run `modest doctor` to see everything at once).",
        epilog=_SETTINGS,
    )
    sub.add_parser(
        "migrate",
        help="apply the database migrations",
        description="Bring the database at DATABASE_URL (default:"
        " sqlite+aiosqlite:///./modest.db) up to the newest schema; safe to repeat.",
        epilog=_SETTINGS,
    )
    sub.add_parser(
        "doctor",
        help="check settings, routing file, database, token, dispatch chat and connectors",
        description="Check everything `modest run` needs and print a checklist: ✓ fine,"
        " ! a warning, ✗ what to fix. Changes nothing; exit code 1 while anything is ✗.",
        epilog=_SETTINGS,
    )
    check = sub.add_parser(
        "check-config",
        help="validate the YAML routing file and the settings it depends on",
        description="Validate the routing file and the settings it names (a helpdesk.kind"
        " or tracker.kind whose variables are missing). Prints each problem as"
        " file:line: field: message and exits 1, or prints FILE: OK. Needs no token.",
    )
    check.add_argument(
        "file",
        nargs="?",
        help="the file to check (default: $MODEST_CONFIG, else config/routing.yaml)",
    )
    _report_parser(sub)
    history = sub.add_parser(
        "history",
        help="print a ticket's history, one event per line",
        description="Print a ticket's history as YYYY-MM-DD HH:MM  <kind>  <actor>  <details>,"
        " in the routing file's time zone, from DATABASE_URL.",
    )
    history.add_argument("ticket", help="the ticket's helpdesk id or number (#4101 or 4101)")
    _stats_parser(sub)
    _portal_parser(sub)
    return parser


def _report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser(
        "report",
        help="write a client's monthly report (nothing is sent or locked)",
        description="Write the monthly report the first of the month sends, for one client"
        " or all of them, from DATABASE_URL. Nothing is sent and no month is locked.",
    )
    which = report.add_mutually_exclusive_group(required=True)
    which.add_argument("--client", help="the client's key in the routing file")
    which.add_argument(
        "--all", action="store_true", help="every client with activity or a package"
    )
    report.add_argument("--month", required=True, help="the month, as YYYY-MM (required)")
    report.add_argument(
        "--format", choices=["pdf", "csv"], default="pdf", help="pdf or csv (default: pdf)"
    )
    report.add_argument(
        "--out", required=True, help="the file to write; with --all, a directory (required)"
    )


def _stats_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stats = sub.add_parser(
        "stats",
        help="write a period's statistics as text, CSV or a PNG chart (sends nothing)",
        description="Compute the figures /stats shows for a period, from DATABASE_URL, and"
        " write them as text, CSV or a PNG chart. Nothing is sent.",
    )
    stats.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
    stats.add_argument("--to", dest="last", required=True, help="last day, YYYY-MM-DD")
    stats.add_argument(
        "--format",
        choices=["text", "csv", "png"],
        default="text",
        help="text, csv or png (default: text)",
    )
    stats.add_argument(
        "--section",
        choices=["overview", "people", "types"],
        default="overview",
        help="which chart, with --format png (default: overview)",
    )
    stats.add_argument(
        "--out", help="the file to write (text and csv: standard output when left out)"
    )


def _portal_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    portal = sub.add_parser(
        "portal",
        help="the client cabinet",
        description="Client cabinet commands; they need PORTAL_BASE_URL.",
    )
    commands = portal.add_subparsers(
        dest="portal_command", required=True, metavar="COMMAND", help="invite"
    )
    invite = commands.add_parser(
        "invite",
        help="make a one-time link for a client's user and send it to its manager",
        description="Make a one-time sign-up link (valid 7 days) for a client's user, send it"
        " to the client's manager in Telegram and print it last.",
    )
    invite.add_argument("--client", required=True, help="the client's key in the routing file")
    invite.add_argument("--email", required=True, help="the user's e-mail address")
    invite.add_argument("--name", default="", help="the user's name (default: none)")


def check_config(file: str | None) -> int:
    """Print every problem as ``file:line: field: message``; 1 if there are any.

    The settings the routing file depends on are checked too (a connector it names
    must have its variables), so the verdict is the one ``modest run`` reaches.
    """
    from connectors.registry import default_registry
    from modest.config_check import config_problems

    path = Path(file) if file else _config_path()
    problems = config_problems(path, default_registry())
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"{path}: OK")
    return 0


def _config_path() -> Path:
    # Its settings model is built on import (~10 ms): not for ``modest run``.
    from modest.config_check import RoutingPathOnly

    return RoutingPathOnly().modest_config
