"""The ``modest`` command: run, check-config, migrate."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from config.errors import ConfigError
from config.routing import check_routing, load_routing
from config.settings import Settings, load_settings
from modest.app import build_service, helpdesk_kind
from modest.logs import configure_logging
from storage.db import Database
from storage.migrate import upgrade


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "check-config":
            return check_config(args.file)
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modest", description="Telegram dispatch bot")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the service (applies migrations first)")
    sub.add_parser("migrate", help="apply database migrations")
    check = sub.add_parser("check-config", help="validate the YAML routing file")
    check.add_argument("file", nargs="?", help="file to check (default: $MODEST_CONFIG)")
    return parser


def check_config(file: str | None) -> int:
    """Print every problem as ``file:line: field: message``; 1 if there are any."""
    path = Path(file) if file else _config_path()
    problems = check_routing(path)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"{path}: OK")
    return 0


class _RoutingPathOnly(BaseSettings):
    """Just ``MODEST_CONFIG``: check-config must work without a bot token."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)
    modest_config: Path = Path("config/routing.yaml")


def _config_path() -> Path:
    return _RoutingPathOnly().modest_config


async def _migrate(settings: Settings) -> None:
    database = Database(settings.database_url)
    try:
        await upgrade(database)
    finally:
        await database.dispose()


async def _run(settings: Settings) -> int:
    routing = load_routing(settings.modest_config)
    helpdesk_kind(settings, routing)  # fail fast on a helpdesk that cannot be built
    await _migrate(settings)
    service = build_service(settings, routing)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await service.start()
    try:
        await stop.wait()
    finally:
        await service.stop()
    return 0
