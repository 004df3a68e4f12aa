"""SLA pass cost: 100,000 open tickets with clocks, 10,000 of them near a target.

Run: ``.venv/bin/python -m bench.sla [--db sqlite|postgres|both]``.

Every ticket has two clocks (first response, resolution) counted in working hours,
so the table holds 200,000 clocks. Measured: one ``SlaService.run_pass`` (claim the
due clocks with row locks, count their working time, set their flags and next
checks, queue the messages, record the events, commit) with 0, 100 and 10,000
clocks past their warning: the median and the fastest of five runs. Half the tickets near
a target are assigned (ten people: their warnings come as one digest each), half
wait in dispatch. Goal: 10,000 due ≤ 200 ms on SQLite; the cost grows with the
due clocks, not with the table.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import delete, insert, update
from sqlmodel import col

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import RoutingConfig, load_routing_text
from dispatch.cards import CardPublisher
from dispatch.events import TicketLog
from dispatch.sla.scan import SlaService
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxRow, SlaClockRow, TicketEventRow, TicketRow

TICKETS = 100_000
NEAR = 10_000
PEOPLE = 10
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
GOALS_MS = {0: 5.0, 100: 50.0, NEAR: 200.0}
ROUTING = (
    """\
timezone: Europe/Moscow
language: en
dispatch: {chat_id: -1001}
working_hours: {mon-fri: "09:00-18:00"}
departments:
  - {key: support, name: Support, members: [p1]}
people:
"""
    + "".join(
        f"  - {{key: p{n}, name: Person {n}, telegram_id: {n}, roles: [specialist]}}\n"
        for n in range(1, PEOPLE + 1)
    )
    + """\
sla:
  policies:
    - {name: standard, first_response: 1h, resolution: 16h}
"""
)
#: Monday 23 November 2026, 10:00 in Moscow: an hour into the working day.
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
#: The clocks near a target started at 09:10: 50 working minutes, past 80 % of an hour.
NEAR_START = NOW - timedelta(minutes=50)
LATER = NOW + timedelta(days=30)


def _ticket(n: int) -> dict[str, Any]:
    assigned = n <= NEAR and n % 2 == 0
    return {
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
        "state": "assigned" if assigned else "unassigned",
        "assignee_key": f"p{n % PEOPLE + 1}" if assigned else None,
        "writeback": "none",
        "version": 0,
        "channel": "",
        "stage": "in_work",
        "line": 1,
    }


def _clock(n: int, target: str, target_s: int) -> dict[str, Any]:
    return {
        "ticket_id": n,
        "target": target,
        "policy": "standard",
        "calendar": "working_hours",
        "target_s": target_s,
        "used_s": 0,
        "since": NEAR_START if n <= NEAR else NOW,
        "warned": False,
        "breached": False,
        "by_assignment": False,
        "started_at": NEAR_START,
        "next_check_at": LATER,
    }


async def fill(database: Database) -> None:
    """100,000 open tickets, each with a first-response and a resolution clock."""
    async with database.unit_of_work() as uow:
        for start in range(1, TICKETS + 1, 10_000):
            numbers = range(start, min(start + 10_000, TICKETS + 1))
            await uow.session.execute(insert(TicketRow), [_ticket(n) for n in numbers])
            clocks = [_clock(n, "first_response", 3600) for n in numbers]
            clocks += [_clock(n, "resolution", 16 * 3600) for n in numbers]
            await uow.session.execute(insert(SlaClockRow), clocks)
        await uow.commit()


async def make_due(database: Database, due: int) -> None:
    """Exactly ``due`` first-response clocks due for their warning; no messages or events."""
    async with database.unit_of_work() as uow:
        # Only the clocks a pass may have touched: rewriting all 200,000 would leave the
        # measured pass a write-ahead log of that size to read through.
        await uow.session.execute(
            update(SlaClockRow)
            .where(col(SlaClockRow.ticket_id) <= NEAR)
            .values(next_check_at=LATER, warned=False, breached=False)
        )
        if due:
            await uow.session.execute(
                update(SlaClockRow)
                .where(
                    col(SlaClockRow.ticket_id) <= due,
                    col(SlaClockRow.target) == "first_response",
                )
                .values(next_check_at=NOW - timedelta(minutes=2))
            )
        await uow.session.execute(delete(OutboxRow))
        await uow.session.execute(delete(TicketEventRow))
        await uow.commit()


async def measure(
    database: Database, routing: RoutingConfig, due: int, runs: int
) -> tuple[float, float]:
    """Median and fastest milliseconds of one pass with ``due`` clocks due."""
    renderer = TelegramRenderer(Texts("en"), routing.tz)
    cards = CardPublisher(routing, renderer)
    service = SlaService(database, routing, cards, renderer, TicketLog())
    timings = []
    for _ in range(runs):
        await make_due(database, due)
        started = time.perf_counter()
        result = await service.run_pass(NOW)
        timings.append((time.perf_counter() - started) * 1000)
        assert result.warned == due, result
    return statistics.median(timings), min(timings)


Result = tuple[str, int, float, float]


async def bench(url: str, label: str) -> list[Result]:
    """Fill one database and measure the three cases."""
    database = Database(url)
    await upgrade(database)
    started = time.perf_counter()
    await fill(database)
    print(f"[{label}] filled {TICKETS:,} tickets in {time.perf_counter() - started:.1f} s")
    routing = load_routing_text(ROUTING)
    # As ``modest run`` does once started: the collector leaves the long-lived objects
    # (aiogram's models above all) alone, instead of walking them during a pass.
    gc.collect()
    gc.freeze()
    results = []
    for due in (0, 100, NEAR):
        median, fastest = await measure(database, routing, due, runs=5)
        results.append((label, due, median, fastest))
    await database.dispose()
    return results


async def with_postgres() -> list[Result]:
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
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'sla.db'}"
            results += await bench(url, "sqlite")
    if which in ("postgres", "both"):
        results += await with_postgres()
    print()
    # Other processes' load shows in the figures: say how busy the machine was.
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average (1 / 5 / 15 min): {load} on {os.cpu_count()} CPUs")
    print(f"{'backend':<10} {'due':>7} {'median (ms)':>12} {'fastest':>8} {'goal':>6}  verdict")
    for label, due, median, fastest in results:
        goal = GOALS_MS[due]
        verdict = "PASS" if median <= goal else "FAIL"
        print(f"{label:<10} {due:>7,} {median:>12.1f} {fastest:>8.1f} {goal:>6.0f}  {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    asyncio.run(main(parser.parse_args().db))
