"""Idle memory of a running Modest: ``python -m bench.idle_service``.

Starts the emulator and the real service (HTTP, long polling, outbox sender, job runner,
scheduler) on a temporary SQLite file in this process, lets it sit idle for a few seconds,
then prints one JSON line with this process's resident set size (``VmRSS``, and the peak
``VmHWM``) read from ``/proc/self/status`` and exits. ``bench.ingest`` runs it in a
subprocess so the load generator's own memory is not counted.

The database is migrated first by ``modest migrate`` in a child process, so the service
starts as it does on every restart: on a current schema, without loading Alembic.

The figure includes the emulator (a small aiohttp app sharing the service's libraries) and
production logging (JSON, sent to /dev/null instead of stdout).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

import structlog

from config.routing import RoutingConfig, load_routing_text
from modest.logs import configure_logging
from tests.support.harness import running_modest
from tests.support.telegram_emulator import TelegramEmulator

CONFTEST = Path(__file__).resolve().parent.parent / "tests" / "support" / "routing.py"


def bench_routing() -> RoutingConfig:
    """The tests' routing (``ROUTING_YAML`` in tests/support/routing.py), read without pytest.

    Importing conftest would import pytest, which the service never loads: the constant is
    taken from the source instead, so the idle RSS is not inflated by it.
    """
    tree = ast.parse(CONFTEST.read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "ROUTING_YAML"
        ):
            return load_routing_text(ast.literal_eval(node.value), "routing.yaml")
    raise RuntimeError(f"ROUTING_YAML not found in {CONFTEST}")


def production_logging() -> None:
    """Log as ``modest run`` does (JSON at INFO), but into /dev/null instead of stdout.

    The rendering cost stays in the measurement; only the terminal write is dropped.
    """
    configure_logging("INFO", "json")
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sink))
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)


def proc_status_mb(field: str) -> float:
    """A ``kB`` field of /proc/self/status (VmRSS, VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


async def migrate_in_child(db_url: str) -> None:
    """``modest migrate`` in its own process, as a deployment runs it before the service.

    The measured service then starts on a database at the current schema, the state of
    every start but the first after an upgrade, and does not load Alembic.
    """
    env = {**os.environ, "DATABASE_URL": db_url, "TELEGRAM_BOT_TOKEN": "1:idle"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "modest", "migrate", env=env, stdout=asyncio.subprocess.DEVNULL
    )
    if await process.wait() != 0:
        raise RuntimeError("modest migrate failed")


async def measure(idle_seconds: float) -> dict[str, float]:
    """Start everything, stay idle, read the memory figures while still running."""
    routing = bench_routing()
    with tempfile.TemporaryDirectory(prefix="modest-idle-") as tmp:
        db_url = f"sqlite+aiosqlite:///{Path(tmp) / 'modest.db'}"
        await migrate_in_child(db_url)
        async with TelegramEmulator() as tg, running_modest(tg, routing, db_url):
            await asyncio.sleep(idle_seconds)
            return {"rss_mb": proc_status_mb("VmRSS"), "hwm_mb": proc_status_mb("VmHWM")}


def main() -> None:
    """Print ``{"rss_mb": ..., "hwm_mb": ...}`` on one line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=3.0, help="seconds to stay idle")
    args = parser.parse_args()
    production_logging()
    print(json.dumps(asyncio.run(measure(args.idle))))


if __name__ == "__main__":
    main()
