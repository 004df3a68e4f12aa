"""The queries that grow with the tables: ``/mine``, ``/queue``, ``/healthz``, the prune.

Run: ``.venv/bin/python -m bench.queries [--db sqlite|postgres|both]``.

100,000 tickets over a year, in the order they came in: 80,000 closed and 10,000 open ones
assigned to 20 people (so whoever asks ``/mine`` has 500 open and 4,000 closed tickets),
and the newest 10,000 unassigned with active reminders (``/queue`` shows the oldest 100 of
them). Beside them 100,000 delivered outbox rows and 10,000 waiting, 100,000 finished jobs
and 100,000 webhook delivery keys, all younger than the retention, so the hourly prune
finds nothing to delete (as it does most hours).

Measured in this process, median of ``RUNS`` after a warm-up: the repository query alone
and the whole service call (``TicketLists.send_queue`` / ``send_mine``: query, render,
queue the message, commit), and that last step alone; ``/healthz``'s two outbox figures;
one ``scheduler.housekeeping.prune``. Wall time and this process's CPU time (SQLite's
thread included, PostgreSQL's own work not), and the machine's load average after the run.
Logging as in production (into /dev/null), and what exists before the measurement frozen
out of the garbage collector, as ``modest run`` does. Goal: ``/mine`` and ``/queue`` under
5 ms.
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
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import insert, select, text
from sqlmodel import col

from bench.idle_service import production_logging
from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import load_routing_text
from dispatch.events import Actor, Source
from dispatch.lists import LIST_LIMIT, TicketLists
from scheduler.housekeeping import prune
from storage.db import Database
from storage.migrate import upgrade
from storage.models import JobRow, NagRow, OutboxRow, TicketRow, WebhookDeliveryRow

TICKETS = 100_000
CLOSED = 80_000
UNASSIGNED = 10_000
PEOPLE = 20
OUTBOX_SENT = 100_000
OUTBOX_PENDING = 10_000
RUNS = 30
WARMUP = 5
BATCH = 10_000
GOAL_MS = 5.0
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
NOW = datetime.now(UTC)
START = NOW - timedelta(days=365)
DISPATCH_CHAT = -1001
ROUTING = (
    "timezone: Europe/Moscow\nlanguage: en\n"
    f"dispatch: {{chat_id: {DISPATCH_CHAT}}}\n"
    "departments:\n  - {key: support, name: Support, members: [p00]}\n"
    "people:\n"
    + "".join(
        f"  - {{key: p{n:02d}, name: Person {n}, telegram_id: {1000 + n}, roles: [dispatcher]}}\n"
        for n in range(PEOPLE)
    )
)


def ticket_row(n: int) -> dict[str, Any]:
    """Ticket ``n`` (1-based): closed, then assigned and open, then unassigned."""
    received = START + timedelta(seconds=n * 315)  # 100,000 over a year
    state = "closed" if n <= CLOSED else "unassigned" if n > TICKETS - UNASSIGNED else "assigned"
    assignee = None if state == "unassigned" else f"p{n % PEOPLE:02d}"
    return {
        "source": "generic",
        "external_id": str(n),
        "number": f"N-{n}",
        "subject": f"Ticket {n}: the printer on the third floor",
        "body": "It prints every page twice. " * 8,
        "received_at": received,
        "state": state,
        "assignee_key": assignee,
        "department_key": None if assignee is None else "support",
        "assigned_at": None if assignee is None else received + timedelta(minutes=5),
        "closed_at": received + timedelta(hours=3) if state == "closed" else None,
        "writeback": "none",
        "version": 0,
    }


async def insert_all(database: Database, table: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` in batches, in one transaction."""
    async with database.unit_of_work() as uow:
        for start in range(0, len(rows), BATCH):
            await uow.session.execute(insert(table), rows[start : start + BATCH])
        await uow.commit()


async def fill(database: Database) -> None:
    """The tickets, reminders, outbox rows, jobs and delivery keys described above."""
    await insert_all(database, TicketRow, [ticket_row(n) for n in range(1, TICKETS + 1)])
    first_unassigned = TICKETS - UNASSIGNED + 1
    nag = {"active": True, "next_at": NOW + timedelta(days=1), "count": 0, "escalations": 0}
    nags = [{"ticket_id": n, **nag} for n in range(first_unassigned, TICKETS + 1)]
    await insert_all(database, NagRow, nags)
    recent = NOW - timedelta(days=1)
    sent = {"op": "send", "payload": {"text": "x"}, "status": "sent", "created_at": recent}
    outbox = [{"chat_id": 1000 + n % PEOPLE, **sent} for n in range(OUTBOX_SENT)]
    pending = {**sent, "status": "pending", "not_before": NOW + timedelta(days=1)}
    outbox += [{"chat_id": 2000 + n % 50, **pending} for n in range(OUTBOX_PENDING)]
    await insert_all(database, OutboxRow, outbox)
    job = {"kind": "fetch", "payload": {}, "status": "done", "created_at": recent}
    await insert_all(database, JobRow, [dict(job) for _ in range(TICKETS)])
    key = {"source": "generic", "received_at": recent}
    keys = [{"delivery_key": f"k{n}", **key} for n in range(TICKETS)]
    await insert_all(database, WebhookDeliveryRow, keys)
    if not database.is_sqlite:
        async with database.engine.connect() as conn:  # what autovacuum does after a load
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(
                text("VACUUM ANALYZE")
            )


async def median_ms(call: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``call`` over ``RUNS`` runs after ``WARMUP``."""
    wall, cpu = [], []
    for n in range(WARMUP + RUNS):
        started, cpu_started = time.perf_counter(), time.process_time()
        await call()
        if n >= WARMUP:
            cpu.append((time.process_time() - cpu_started) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def in_uow(database: Database, work: Callable[[Any], Awaitable[object]]) -> Callable[[], Any]:
    """``work(uow)`` inside a unit of work of its own, as a service would run it."""

    async def call() -> object:
        async with database.unit_of_work() as uow:
            return await work(uow)

    return call


async def queue_one(uow: Any) -> None:
    """What a list call does besides its query and rendering: queue its message, commit."""
    uow.outbox.enqueue_plain(chat_id=DISPATCH_CHAT, payload={"text": "x"})
    await uow.commit()


async def checked(database: Database) -> None:
    """The data is what the figures claim: 100 waiting, 100 of p00's open tickets."""
    async with database.unit_of_work() as uow:
        waiting = await uow.nags.waiting(limit=LIST_LIMIT)
        mine = await uow.tickets.open_assigned_to(assignee_key="p00", limit=LIST_LIMIT)
        rows = (
            await uow.session.execute(
                select(TicketRow).where(col(TicketRow.id).in_([t.id for t in mine]))
            )
        ).scalars()
        owners = {(t.assignee_key, t.state) for t in rows}
    first = TICKETS - UNASSIGNED + 1
    assert [t.id for t in waiting] == list(range(first, first + LIST_LIMIT))
    assert len(mine) == LIST_LIMIT
    assert owners == {("p00", "assigned")}
    assert [t.received_at for t in mine] == sorted(t.received_at for t in mine)


async def measure(database: Database) -> list[tuple[str, tuple[float, float], float | None]]:
    """(what, median wall and CPU ms, goal ms or None) for every figure."""
    await checked(database)
    routing = load_routing_text(ROUTING)
    lists = TicketLists(database, routing, TelegramRenderer(Texts("en"), routing.tz))
    asker = Actor.person("p00", Source.BOT)
    gc.freeze()
    calls: list[tuple[str, Callable[[], Awaitable[object]], float | None]] = [
        ("/queue: query", in_uow(database, lambda uow: uow.nags.waiting(limit=LIST_LIMIT)), None),
        ("/queue: whole call", lambda: lists.send_queue(chat_id=DISPATCH_CHAT), GOAL_MS),
        ("/mine: query", in_uow(database, lambda uow: uow.tickets.open_assigned_to(
            assignee_key="p00", limit=LIST_LIMIT)), None),
        ("/mine: whole call", lambda: lists.send_mine(actor=asker), GOAL_MS),
        ("of which: queue one message", in_uow(database, queue_one), None),
        ("/healthz: outbox backlog", in_uow(database, lambda uow: uow.outbox.backlog()), None),
        ("/healthz: oldest pending", in_uow(database, lambda uow: uow.outbox.oldest_pending()),
         None),
        ("prune, nothing old enough", lambda: prune(database), None),
    ]  # fmt: skip
    return [(what, await median_ms(call), goal) for what, call, goal in calls]


Figure = tuple[str, str, tuple[float, float], float | None]


async def bench(url: str, label: str) -> list[Figure]:
    """Fill one database and measure."""
    database = Database(url)
    try:
        await upgrade(database)
        started = time.perf_counter()
        await fill(database)
        print(f"[{label}] filled in {time.perf_counter() - started:.1f} s")
        return [(label, *figure) for figure in await measure(database)]
    finally:
        await database.dispose()


async def with_postgres() -> list[Figure]:
    """Run on a database of its own, dropped afterwards."""
    name = f"modest_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return await bench(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", "postgres")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main(which: str) -> None:
    """Run on the chosen databases and print the table."""
    results: list[Figure] = []
    if which in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results += await bench(f"sqlite+aiosqlite:///{Path(tmp) / 'queries.db'}", "sqlite")
    if which in ("postgres", "both"):
        results += await with_postgres()
    print()
    print(f"{'backend':<10} {'what':<28} {'wall ms':>8} {'cpu ms':>8} {'goal':>6}  verdict")
    for label, what, (wall, cpu), goal in results:
        verdict = "" if goal is None else ("PASS" if wall < goal else "FAIL")
        shown = "–" if goal is None else f"< {goal:.0f}"
        print(f"{label:<10} {what:<28} {wall:>8.2f} {cpu:>8.2f} {shown:>6}  {verdict}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    which = parser.parse_args().db
    production_logging()
    asyncio.run(main(which))
