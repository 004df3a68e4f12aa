"""``/stats month`` over 100,000 tickets and 1,000,000 events, on SQLite and PostgreSQL.

Run: ``.venv/bin/python -m bench.stats [--db sqlite|postgres|both] [--sqlite-file F]``.

A year of tickets (December 2025 to November 2026, ten events each: created,
reminded, assigned, replies, closed, time recorded; one in fifty with a developer
task) is written straight into the tables. Measured, each the median of five runs:
the figures of November 2026 (``StatsService.compute``: every query and the
arithmetic), the summary text, and drawing the overview chart; then the figures of
the whole year. Goal: the month's figures ≤ 1 s on SQLite, ≤ 0.5 s on PostgreSQL.

``--sqlite-file F`` keeps the SQLite database (filling takes minutes) and reuses
it on the next run. ``--pictures DIR`` writes the three charts of November (in
Russian, as the bot sends them by default) to ``DIR/stats-{overview,people,types}.png``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import insert

from bot.charts import chart_for, draw_png
from bot.i18n import Texts
from bot.stats_text import stats_plain
from config.routing import RoutingConfig, load_routing_text
from dispatch.stats.command import Section
from dispatch.stats.period import Period, month_of
from dispatch.stats.service import StatsService
from storage.db import Database
from storage.migrate import upgrade
from storage.models import DevTaskRow, TicketEventRow, TicketRow, TimeEntryRow

TICKETS = 100_000
EVENTS_PER_TICKET = 10
FIRST_DAY = datetime(2025, 12, 1, tzinfo=UTC)
DAYS = 365
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
GOALS_MS = {"sqlite": 1000.0, "postgres": 500.0}
BATCH = 10_000

PEOPLE = [f"p{n:02d}" for n in range(30)]
DEPARTMENTS = ["support", "billing", "infra", "dev", "sales"]
CHANNELS = ["email", "email", "email", "web", "web", "phone", "chat"]
TYPES = ["incident", "incident", "question", "question", "request", "problem"]
PRIORITIES = ["normal", "normal", "normal", "high", "low", "urgent"]


def routing_text(language: str) -> str:
    """Thirty specialists in five departments, a lead, three clients."""
    people = "\n".join(
        f"  - {{key: {key}, name: Специалист {key[1:]}, roles: [specialist]}}" for key in PEOPLE
    )
    departments = "\n".join(
        f"  - {{key: {key}, name: {key.title()}, members: [{', '.join(PEOPLE[n::5])}]}}"
        for n, key in enumerate(DEPARTMENTS)
    )
    clients = "\n".join(
        f"  - {{key: c{n}, name: Клиент {n}, unlimited: true,"
        f" match: {{companies: [Company {n}]}}}}"
        for n in range(3)
    )
    return (
        f"timezone: Europe/Moscow\nlanguage: {language}\ndispatch: {{chat_id: -1001}}\n"
        f"departments:\n{departments}\npeople:\n{people}\n"
        "  - {key: lead, name: Lead, telegram_id: 1, roles: [lead]}\n"
        f"clients:\n{clients}\n"
    )


def _arrival(rng: random.Random) -> datetime:
    day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
    # Mostly in working hours (06:00-16:00 UTC is 09:00-19:00 in Moscow), weekdays busier.
    hour = rng.randrange(6, 16) if rng.random() < 0.85 else rng.randrange(24)
    if day.weekday() >= 5 and rng.random() < 0.6:
        day -= timedelta(days=day.weekday() - 4)
    return day + timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))


def _ticket(
    n: int, arrived: datetime, rng: random.Random
) -> tuple[dict[str, Any], list[dict[str, Any]], Any]:
    """One ticket's row, its ten events, and its time entry (or None)."""
    person, department = rng.choice(PEOPLE), rng.choice(DEPARTMENTS)
    assigned = arrived + timedelta(seconds=rng.lognormvariate(5.5, 1.0))
    replied = assigned + timedelta(seconds=rng.lognormvariate(7.0, 1.0))
    closed = replied + timedelta(seconds=rng.lognormvariate(9.5, 1.2))
    is_closed = closed < NOW and rng.random() < 0.92
    row = {
        "source": "generic",
        "external_id": str(n),
        "number": f"N-{n}",
        "subject": f"Ticket {n}",
        "body": "",
        "status": "closed" if is_closed else rng.choice(["open", "pending", "new"]),
        "priority": rng.choice(PRIORITIES),
        "type": rng.choice(TYPES),
        "channel": rng.choice(CHANNELS),
        "client_name": "",
        "client_email": f"user{n % 5000}@client{n % 300}.example",
        "client_company": f"Company {n % 300}" if rng.random() < 0.7 else "",
        "received_at": arrived,
        "created_at": arrived,
        "state": "closed" if is_closed else "assigned",
        "assignee_key": person,
        "department_key": department,
        "assigned_at": assigned,
        "closed_at": closed if is_closed else None,
        "writeback": "none",
        "version": 0,
    }
    assignment = {"assignee": [None, person], "department": [None, department]}
    staff = {"actor_kind": "person", "actor": person}
    kinds: list[tuple[datetime, str, dict[str, Any]]] = [
        (arrived, "created", {"actor_kind": "helpdesk"}),
        (arrived + timedelta(minutes=5), "reminded", {}),
        (assigned, "assigned", {"changes": assignment, "actor_kind": "person", "actor": "p00"}),
        (replied, "first_staff_reply", staff),
        (replied + timedelta(minutes=30), "client_replied", {"actor_kind": "helpdesk"}),
        (replied + timedelta(hours=1), "staff_replied", staff),
        (replied + timedelta(hours=2), "client_replied", {"actor_kind": "helpdesk"}),
        (replied + timedelta(hours=3), "staff_replied", staff),
    ]
    task = n % 50 == 0
    if is_closed:
        kinds += [(closed, "closed", {}), (closed + timedelta(minutes=1), "time_recorded", staff)]
    elif task:
        kinds += [
            (replied + timedelta(hours=4), "dev_task_created", {**staff, "task": str(n)}),
            (replied + timedelta(days=1), "dev_task_done", {"task": str(n)}),
        ]
    else:
        kinds += [(replied + timedelta(hours=4), "staff_replied", staff)] * 2
    events = [_event(n, at, kind, dict(fields)) for at, kind, fields in kinds]
    entry = None
    if is_closed:
        local = (closed + timedelta(hours=3)).date()
        entry = {
            "ticket_id": n,
            "round": 1,
            "person_key": person,
            "minutes": rng.choice([15, 30, 45, 60, 90, 120]),
            "billable": rng.random() < 0.9,
            "closed_on": local,
            "month": f"{local:%Y-%m}",
            "created_at": closed,
            "updated_at": closed,
        }
    return row, events, entry


def _event(ticket_id: int, at: datetime, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    changes = fields.pop("changes", {})
    actor_kind = fields.pop("actor_kind", "system")
    actor = fields.pop("actor", None)
    return {
        "ticket_id": ticket_id,
        "at": at,
        "kind": kind,
        "actor_kind": actor_kind,
        "actor": actor,
        "source": "webhook",
        "changes": changes,
        "detail": fields,
    }


async def fill(database: Database, tickets: int = TICKETS) -> int:
    """Write the year; the number of events written.

    As in a real log, ids grow with time: tickets in the order they arrived, and each
    batch's events in the order they happened.
    """
    rng = random.Random(13)
    arrivals = sorted(_arrival(rng) for _ in range(tickets))
    written = 0
    for start in range(1, tickets + 1, BATCH):
        rows, events, entries, tasks = [], [], [], []
        for n in range(start, min(start + BATCH, tickets + 1)):
            row, ticket_events, entry = _ticket(n, arrivals[n - 1], rng)
            rows.append(row)
            events += ticket_events
            if entry is not None:
                entries.append(entry)
            if any(e["kind"] == "dev_task_created" for e in ticket_events):
                made = next(e["at"] for e in ticket_events if e["kind"] == "dev_task_created")
                tasks.append(_task(n, made))
        events.sort(key=lambda event: event["at"])
        async with database.unit_of_work() as uow:
            await uow.session.execute(insert(TicketRow), rows)
            for chunk in range(0, len(events), BATCH):
                await uow.session.execute(insert(TicketEventRow), events[chunk : chunk + BATCH])
            if entries:
                await uow.session.execute(insert(TimeEntryRow), entries)
            if tasks:
                await uow.session.execute(insert(DevTaskRow), tasks)
            await uow.commit()
        written += len(events)
    return written


def _task(n: int, made: datetime) -> dict[str, Any]:
    return {
        "ticket_id": n,
        "tracker": "redmine",
        "external_id": str(n),
        "statement": "",
        "status": "closed",
        "closed": True,
        "created_at": made,
        "updated_at": made + timedelta(days=1),
    }


async def median_ms(run: Callable[[], Awaitable[object]], runs: int = 5) -> tuple[float, float]:
    """Median wall-clock and CPU (this process, its threads too) milliseconds of ``run``."""
    walls, cpus = [], []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        await run()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


Result = tuple[str, str, tuple[float, float]]


async def bench(url: str, label: str) -> list[Result]:
    database = Database(url)
    await upgrade(database)
    async with database.unit_of_work() as uow:
        filled = await uow.tickets.get(ticket_id=TICKETS) is not None
    if not filled:
        started = time.perf_counter()
        events = await fill(database)
        took = time.perf_counter() - started
        print(f"[{label}] wrote {TICKETS:,} tickets, {events:,} events in {took:.0f} s")
        if not database.is_sqlite:
            # What autovacuum does within a minute of such a load: statistics for the planner
            # and the visibility map that lets index-only scans skip the table.
            async with database.engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql("VACUUM ANALYZE")
    routing = load_routing_text(routing_text("ru"))
    service = StatsService(database, routing, clock=lambda: NOW)
    month = month_of(2026, 11, routing.tz)
    year = Period(date(2025, 12, 1), date(2026, 11, 30), routing.tz)
    stats = await service.compute(month)
    print(
        f"[{label}] November: {stats.inflow.created:,} tickets created, "
        f"{stats.flow.solved:,} solved, {stats.dispatch.reminders:,} reminders"
    )
    texts = Texts("ru")
    chart = chart_for(stats, Section.OVERVIEW, texts)
    assert chart is not None
    draw_png(chart, no_data="—")  # the first drawing imports matplotlib: not measured
    results = [
        (label, "/stats month: figures", await median_ms(lambda: service.compute(month))),
        (label, "/stats month: text", await median_ms(_sync(lambda: stats_plain(stats, texts)))),
        (
            label,
            "/stats month: chart",
            await median_ms(_sync(lambda: draw_png(chart, no_data="—"))),
        ),
        (label, "a year: figures", await median_ms(lambda: service.compute(year), runs=3)),
    ]
    await database.dispose()
    return results


def _sync(work: Callable[[], object]) -> Callable[[], Awaitable[object]]:
    async def run() -> object:
        return work()

    return run


async def with_postgres() -> list[Result]:
    name = f"modest_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return await bench(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", "postgres")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def pictures(directory: Path) -> None:
    """The charts of a month of 8,000 tickets, as the docs show them."""
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'pictures.db'}")
        await upgrade(database)
        await fill(database, tickets=TICKETS // 12)
        routing: RoutingConfig = load_routing_text(routing_text("ru"))
        stats = await StatsService(database, routing, clock=lambda: NOW).compute(
            month_of(2026, 11, routing.tz)
        )
        await database.dispose()
    texts = Texts("ru")
    for section in (Section.OVERVIEW, Section.PEOPLE, Section.TYPES):
        chart = chart_for(stats, section, texts)
        assert chart is not None
        target = directory / f"stats-{section.name.lower()}.png"
        target.write_bytes(draw_png(chart, no_data=texts("No data for this period.")))
        print(target)


async def main(which: str, sqlite_file: Path | None) -> None:
    results: list[Result] = []
    if which in ("sqlite", "both") and sqlite_file is not None:
        results += await bench(f"sqlite+aiosqlite:///{sqlite_file}", "sqlite")
    elif which in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results += await bench(f"sqlite+aiosqlite:///{Path(tmp) / 'stats.db'}", "sqlite")
    if which in ("postgres", "both"):
        results += await with_postgres()
    print()
    header = f"{'backend':<10} {'what':<24} {'wall (ms)':>10} {'cpu (ms)':>9} {'goal (ms)':>10}"
    print(header + "  verdict")
    for label, what, (wall, cpu) in results:
        goal = GOALS_MS[label] if what == "/stats month: figures" else None
        verdict = ("PASS" if wall <= goal else "FAIL") if goal else ""
        shown_goal = f"{goal:.0f}" if goal else "–"
        print(f"{label:<10} {what:<24} {wall:>10.1f} {cpu:>9.1f} {shown_goal:>10}  {verdict}")
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pictures", type=Path, help="write the docs' chart pictures here")
    parser.add_argument(
        "--sqlite-file", type=Path, help="keep the SQLite database here (filled once, reused)"
    )
    args = parser.parse_args()
    if args.pictures:
        args.pictures.mkdir(parents=True, exist_ok=True)
    asyncio.run(pictures(args.pictures) if args.pictures else main(args.db, args.sqlite_file))
