"""Reminder pass cost: 100,000 tickets, 10,000 unassigned, on SQLite and PostgreSQL.

Run: ``.venv/bin/python -m bench.nag [--db sqlite|postgres|both]``.

Measures one ``ReminderService.run_pass`` (claim the due reminders, render,
enqueue, commit) with 0, 100 and 10,000 tickets due, each the median of a few
runs, on a table of 100,000 tickets. Goals: 100 due ≤ 50 ms, 10,000 due ≤ 500 ms,
none due ≤ 5 ms; the cost grows with the due tickets, not with the table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import insert, update
from sqlmodel import col

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import RoutingConfig, load_routing_text
from dispatch.cards import CardPublisher
from dispatch.events import TicketLog
from dispatch.reminders import ReminderService
from storage.db import Database
from storage.migrate import upgrade
from storage.models import NagRow, OutboxRow, TicketRow

TICKETS = 100_000
UNASSIGNED = 10_000
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
GOALS_MS = {0: 5.0, 100: 50.0, 10_000: 500.0}
ROUTING = """\
timezone: Europe/Moscow
language: en
dispatch: {chat_id: -1001}
departments:
  - {key: support, name: Support, members: [ivan]}
people:
  - {key: ivan, name: Ivan, telegram_id: 1, roles: [dispatcher, lead]}
"""
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def fill(database: Database) -> None:
    """100,000 tickets; the first 10,000 unassigned with reminders not yet due."""
    rows = [
        {
            "source": "generic",
            "external_id": str(n),
            "number": f"N-{n}",
            "subject": f"Ticket {n}",
            "body": "",
            "status": "open",
            "priority": "normal",
            "type": "",
            "client_name": "",
            "client_email": "",
            "client_company": "",
            "received_at": NOW - timedelta(hours=1),
            "state": "unassigned" if n <= UNASSIGNED else "assigned",
            "writeback": "none",
            "version": 0,
        }
        for n in range(1, TICKETS + 1)
    ]
    async with database.unit_of_work() as uow:
        for start in range(0, TICKETS, 10_000):
            await uow.session.execute(insert(TicketRow), rows[start : start + 10_000])
        nags = [
            {
                "ticket_id": n,
                "active": True,
                "next_at": NOW + timedelta(days=1),
                "count": 0,
                "escalations": 0,
                "created_at": NOW,
            }
            for n in range(1, UNASSIGNED + 1)
        ]
        await uow.session.execute(insert(NagRow), nags)
        await uow.commit()


async def make_due(database: Database, due: int) -> None:
    """Exactly ``due`` reminders due now, the rest tomorrow; an empty outbox."""
    async with database.unit_of_work() as uow:
        await uow.session.execute(update(NagRow).values(next_at=NOW + timedelta(days=1)))
        if due:
            await uow.session.execute(
                update(NagRow).where(col(NagRow.ticket_id) <= due).values(next_at=NOW)
            )
        await uow.session.execute(OutboxRow.__table__.delete())  # type: ignore[attr-defined]
        await uow.commit()


async def measure(database: Database, routing: RoutingConfig, due: int, runs: int) -> float:
    """Median milliseconds of one pass with ``due`` reminders due."""
    renderer = TelegramRenderer(Texts("en"), routing.tz)
    cards = CardPublisher(routing, renderer)
    service = ReminderService(database, routing, cards, renderer, TicketLog())
    timings = []
    for _ in range(runs):
        await make_due(database, due)
        started = time.perf_counter()
        result = await service.run_pass(NOW)
        timings.append((time.perf_counter() - started) * 1000)
        assert result.reminded + result.digest == due, result
    return statistics.median(timings)


async def bench(url: str, label: str) -> list[tuple[str, int, float]]:
    """Fill one database and measure the three cases."""
    database = Database(url)
    await upgrade(database)
    started = time.perf_counter()
    await fill(database)
    print(f"[{label}] filled {TICKETS:,} tickets in {time.perf_counter() - started:.1f} s")
    routing = load_routing_text(ROUTING)
    results = []
    for due in (0, 100, 10_000):
        ms = await measure(database, routing, due, runs=5 if due < 10_000 else 3)
        results.append((label, due, ms))
    await database.dispose()
    return results


async def with_postgres() -> list[tuple[str, int, float]]:
    """Run on a database of its own, dropped afterwards."""
    name = f"modest_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        return await bench(url, "postgres")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main(which: str) -> None:
    results = []
    if which in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'nag.db'}"
            results += await bench(url, "sqlite")
    if which in ("postgres", "both"):
        results += await with_postgres()
    print()
    print(f"{'backend':<10} {'due':>7} {'pass (ms)':>10} {'goal (ms)':>10}  verdict")
    for label, due, ms in results:
        goal = GOALS_MS[due]
        verdict = "PASS" if ms <= goal else "FAIL"
        print(f"{label:<10} {due:>7,} {ms:>10.1f} {goal:>10.0f}  {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    asyncio.run(main(parser.parse_args().db))
