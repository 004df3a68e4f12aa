"""The intake transaction alone: ``python -m bench.intake [--db sqlite|postgres|both]``.

New tickets are handed to the service's ``IntakeService`` as the webhook route hands
them (parsed by the generic connector), one at a time and in batches of ``--batch`` (what
the intake batcher applies together under load), with no HTTP, no outbox sender and no
Telegram: what is left is the transaction that stores a ticket, its events, its card's
message and outbox row and its reminder. Printed: CPU and wall time per new ticket (this
process's CPU, SQLite's thread included; PostgreSQL's own processes not), median of
``--runs`` after a warm-up, with what exists before each run frozen out of the garbage
collector as ``modest run`` does, and the statements and flushes per batch.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.orm import Session

from bench.idle_service import bench_routing, production_logging
from config.settings import load_settings
from connectors.generic import parse_generic_webhook
from connectors.types import HelpdeskEvent
from dispatch.intake import IntakeService
from modest.app import build_service
from tests.support.harness import SECRET, migrate, ticket_body

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
#: Nothing is sent to Telegram here; the settings only need a token of the right shape.
PLACEHOLDER_TOKEN = "1:bench"  # noqa: S105
WARMUP = 200


def new_tickets(count: int, first: int) -> list[HelpdeskEvent]:
    """``count`` new-ticket webhooks as the generic connector parses them."""
    events = []
    for n in range(first, first + count):
        kind, data, _ = parse_generic_webhook(ticket_body(f"T{n}"))
        events.append(HelpdeskEvent("generic", kind, uuid.uuid4().hex, data))
    return events


async def apply(intake: IntakeService, events: Sequence[HelpdeskEvent], batch: int) -> None:
    """The events in order, ``batch`` arriving at the same moment (1: the single path).

    Through ``accept_event``, as the webhook route calls it: the intake batcher applies
    the ones waiting together in one transaction.
    """
    for start in range(0, len(events), batch):
        await asyncio.gather(*(intake.accept_event(e) for e in events[start : start + batch]))


class Counter:
    """Statements sent and flushes made while it is on."""

    def __init__(self) -> None:
        self.statements = 0
        self.flushes = 0

    def statement(self, *_args: Any) -> None:
        self.statements += 1

    def flush(self, *_args: Any) -> None:
        self.flushes += 1


async def measure(url: str, batch: int, tickets: int, runs: int) -> tuple[float, float, Counter]:
    """Median CPU and wall ms per new ticket over ``runs``, and one run's counts."""
    settings = load_settings(
        env_file=None,
        telegram_bot_token=PLACEHOLDER_TOKEN,
        database_url=url,
        helpdesk_webhook_secret=SECRET,
    )
    service = build_service(settings, bench_routing())
    intake = service.domain.intake
    try:
        await apply(intake, new_tickets(WARMUP, 0), batch)
        cpu, wall, counter = [], [], Counter()
        for run in range(runs):
            events = new_tickets(tickets, (run + 1) * 100_000)
            # As ``modest run`` does once started: what exists now is out of the
            # collector's way (else a full collection's cost lands in a random run).
            gc.collect()
            gc.freeze()
            if run == 0:
                event.listen(
                    service.database.engine.sync_engine, "after_cursor_execute", counter.statement
                )
                event.listen(Session, "after_flush", counter.flush)
            started, started_cpu = time.perf_counter(), time.process_time()
            await apply(intake, events, batch)
            cpu.append((time.process_time() - started_cpu) * 1000 / tickets)
            wall.append((time.perf_counter() - started) * 1000 / tickets)
            if run == 0:
                event.remove(
                    service.database.engine.sync_engine, "after_cursor_execute", counter.statement
                )
                event.remove(Session, "after_flush", counter.flush)
        return statistics.median(cpu), statistics.median(wall), counter
    finally:
        await service.database.dispose()


@asynccontextmanager
async def database_url(kind: str) -> AsyncIterator[str]:
    """A fresh migrated database of ``kind``, dropped (or deleted) afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="modest-intake-") as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'intake.db'}"
            await migrate(url)
            yield url
        return
    name = f"bench_intake_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        await migrate(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(args: argparse.Namespace) -> None:
    production_logging()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"bench.intake  {args.tickets} new tickets per run, median of {args.runs}")
    header = ("db", "batch", "cpu ms", "wall ms", "stmts/batch", "flushes/batch")
    print("{:<9} {:>5} {:>8} {:>8} {:>12} {:>14}".format(*header))
    for kind in kinds:
        for batch in (1, args.batch):
            async with database_url(kind) as url:
                cpu, wall, counted = await measure(url, batch, args.tickets, args.runs)
            batches = args.tickets / batch
            print(
                f"{kind:<9} {batch:>5} {cpu:>8.3f} {wall:>8.3f} "
                f"{counted.statements / batches:>12.1f} {counted.flushes / batches:>14.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description="Modest intake transaction benchmark")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--batch", type=int, default=32, help="tickets per batch")
    parser.add_argument("--tickets", type=int, default=1024, help="new tickets per run")
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
