"""The weekly digest: Mondays at ``reports.time``, once per week, across restarts and instances."""

from __future__ import annotations

import asyncio
import base64
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import col, select

from bot.i18n import Texts
from bot.stats_renderers import TelegramStatsRenderer
from config.routing import RoutingConfig
from dispatch.stats.command import StatsReports
from dispatch.stats.digest import WeeklyDigest
from dispatch.stats.service import StatsService
from modest.cli import main
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxRow, WeeklyDigestRow
from tests.support.reminders import Clock
from tests.support.stats_month import STATS_ROUTING, build_month, stats_routing

LEAD = 1005
MONDAY_0859 = datetime(2026, 11, 23, 5, 59, tzinfo=UTC)  # Moscow is UTC+3
MONDAY_0900 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def digest(database: Database, routing: RoutingConfig, clock: Clock) -> WeeklyDigest:
    """A digest job as the service builds it (a new one: as after a restart)."""
    service = StatsService(database, routing, clock=clock)
    reports = StatsReports(database, routing, service, TelegramStatsRenderer(Texts("en")))
    return WeeklyDigest(database, routing, service, reports, clock=clock)


async def sent(database: Database) -> list[OutboxRow]:
    async with database.unit_of_work() as uow:
        stmt = select(OutboxRow).where(col(OutboxRow.chat_id) == LEAD).order_by(col(OutboxRow.id))
        return list((await uow.session.execute(stmt)).scalars().all())


async def test_the_digest_goes_out_on_monday_at_nine_once_per_week(database: Database) -> None:
    await build_month(database)
    routing = stats_routing()
    clock = Clock(MONDAY_0859)
    job = digest(database, routing, clock)
    assert await job.run() is False, "before reports.time"
    clock.now = MONDAY_0900
    assert await job.run() is True
    assert await job.run() is False, "once"
    clock.advance(days=1)
    assert await digest(database, routing, clock).run() is False, "after a restart, still once"
    rows = await sent(database)
    assert [sorted(row.payload) for row in rows] == [
        ["reply_markup", "text"],
        ["caption", "filename", "photo_b64"],
    ]
    summary, chart = rows
    assert "Weekly digest, 16.11.2026 – 22.11.2026" in summary.payload["text"]
    assert "Inflow</b>: 1 new ticket;" in summary.payload["text"], "T4, on Saturday 21.11"
    image = Image.open(io.BytesIO(base64.b64decode(chart.payload["photo_b64"])))
    assert image.size == (1080, 1176)
    assert {row.chat_id for row in rows} == {LEAD}, "leads only"

    clock.now = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert await digest(database, routing, clock).run() is True
    later = (await sent(database))[2]
    assert "Weekly digest, 23.11.2026 – 29.11.2026" in later.payload["text"]
    async with database.unit_of_work() as uow:
        weeks = (await uow.session.execute(select(WeeklyDigestRow.week))).scalars().all()
    assert [f"{week:%Y-%m-%d}" for week in sorted(weeks)] == ["2026-11-16", "2026-11-23"]


async def test_a_service_down_on_monday_sends_the_digest_when_it_is_back(
    database: Database,
) -> None:
    routing = stats_routing()
    clock = Clock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))  # Wednesday
    assert await digest(database, routing, clock).run() is True
    assert len(await sent(database)) == 2


@pytest.mark.postgres
async def test_two_instances_on_postgres_send_the_digest_once(pg_url: str) -> None:
    setup = Database(pg_url)
    await upgrade(setup)
    await build_month(setup)
    await setup.dispose()
    routing = stats_routing()
    first, second = Database(pg_url), Database(pg_url)
    try:
        clock = Clock(MONDAY_0900)
        results = await asyncio.gather(
            digest(first, routing, clock).run(), digest(second, routing, clock).run()
        )
        assert sorted(results) == [False, True]
        assert len(await sent(first)) == 2, "one summary and one chart"
        restarted = Database(pg_url)
        try:
            assert await digest(restarted, routing, clock).run() is False
        finally:
            await restarted.dispose()
    finally:
        await first.dispose()
        await second.dispose()


def test_cli_writes_the_statistics_as_text_csv_and_png(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def prepare() -> None:
        database = Database(sqlite_url)
        await upgrade(database)
        await build_month(database)
        await database.dispose()

    asyncio.run(prepare())
    config = tmp_path / "routing.yaml"
    config.write_text(STATS_ROUTING, encoding="utf-8")
    monkeypatch.setenv("MODEST_CONFIG", str(config))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    period = ["stats", "--from", "2026-11-01", "--to", "2026-11-30"]
    assert main([*period, "--format", "text"]) == 0
    assert "Inflow: 5 new tickets" in capsys.readouterr().out
    assert main([*period, "--format", "csv", "--out", str(tmp_path / "s.csv")]) == 0
    lines = (tmp_path / "s.csv").read_text("utf-8-sig").splitlines()
    assert lines[0] == "section;figure;breakdown;key;value;unit"
    assert "dispatch;assignment_p90;;;34200;seconds" in lines
    png = tmp_path / "people.png"
    assert main([*period, "--format", "png", "--section", "people", "--out", str(png)]) == 0
    with Image.open(png) as image:
        assert image.size == (1080, 636)
    assert main([*period, "--format", "png"]) == 2, "a chart needs a file"
    assert main(["stats", "--from", "2026-11-30", "--to", "2026-11-01"]) == 2
