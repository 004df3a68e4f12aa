"""Statistics with SLA and support lines: the met share and the figures per line.

The month is ``tests/support/stats_sla.py`` (the statistics month, T8 and the SLA
clocks); its docstring has the table each number below is worked out from.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.charts import DPI, chart_for, draw_png, size_inches
from bot.i18n import Texts
from bot.stats_text import stats_plain
from dispatch.stats.command import Section
from dispatch.stats.export import stats_csv
from dispatch.stats.figures import Durations, LineFigure, SlaCount, SlaFigures, Stats
from dispatch.stats.period import month_of
from dispatch.stats.service import StatsService
from storage.db import Database
from tests.support.stats_month import NOW, stats_routing
from tests.support.stats_sla import build_sla_month, sla_stats_routing

MOSCOW = ZoneInfo("Europe/Moscow")
HOUR = 3600


@pytest.fixture
async def november(database: Database) -> Stats:
    await build_sla_month(database)
    service = StatsService(database, sla_stats_routing())
    return await service.compute(month_of(2026, 11, MOSCOW), now=NOW)


async def test_the_met_share_of_the_targets_settled_in_the_month(november: Stats) -> None:
    assert november.sla == SlaFigures(
        met=7,
        breached=4,
        by_target=(SlaCount("first_response", 4, 2), SlaCount("resolution", 3, 2)),
        by_policy=(SlaCount("standard", 4, 3), SlaCount("critical", 3, 1)),
    )
    assert november.sla.met_share == pytest.approx(7 / 11)
    assert november.sla.by_policy[1].met_share == 0.75


async def test_a_month_still_going_on_counts_only_what_has_settled(database: Database) -> None:
    await build_sla_month(database)
    mid_month = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
    stats = await StatsService(database, sla_stats_routing()).compute(
        month_of(2026, 11, MOSCOW), now=mid_month
    )
    assert stats.sla is not None
    # T2's resolution runs out on the 20th: on the 15th it is not missed yet.
    assert stats.sla.by_target == (SlaCount("first_response", 4, 2), SlaCount("resolution", 3, 1))
    assert (stats.sla.met, stats.sla.breached) == (7, 3)


async def test_without_policies_there_is_no_sla_figure(database: Database) -> None:
    await build_sla_month(database)
    stats = await StatsService(database, stats_routing()).compute(
        month_of(2026, 11, MOSCOW), now=NOW
    )
    assert stats.sla is None
    assert chart_for(stats, Section.SLA, Texts("en")) is None


async def test_people_per_support_line(november: Stats) -> None:
    assert november.lines == (
        LineFigure(
            1,
            assigned=5,
            closed=3,
            resolution=Durations(3, 61200, 2 * HOUR, 48 * HOUR),
            passed_on=1,
        ),
        LineFigure(
            2,
            assigned=1,
            closed=1,
            resolution=Durations(1, 4 * HOUR, 4 * HOUR, 4 * HOUR),
            passed_on=0,
        ),
    )
    departments = {d.key: (d.assigned, d.closed) for d in november.departments}
    assert departments == {"support": (5, 3), "dev": (1, 1)}


async def test_the_text_shows_the_sla_and_the_lines_in_english_and_russian(
    november: Stats,
) -> None:
    english = stats_plain(november, Texts("en"))
    for shown in (
        "SLA: 64 % met (7 of 11)",
        "SLA, 01.11.2026 – 30.11.2026\nMet: 64 % (7 of 11); breached: 4\n"
        "First response: 67 % (4 of 6), missed 2\nResolution: 60 % (3 of 5), missed 2\n"
        "By SLA policy\nstandard: 57 % (4 of 7), missed 3\ncritical: 75 % (3 of 4), missed 1\n",
        "Support lines\n"
        "Line 1: assigned 5, closed 3, resolution on average 17 h 00 min;"
        " passed to the next line 1\n"
        "Line 2: assigned 1, closed 1, resolution on average 4 h 00 min\n",
    ):
        assert shown in english, shown
    russian = stats_plain(november, Texts("ru"))
    for shown in (
        "SLA: в срок 64 % (7 из 11)",
        "Выполнено: 64 % (7 из 11); нарушено: 4",
        "Первый ответ: 67 % (4 из 6), нарушено 2",
        "По правилам SLA",
        "Линии поддержки\n1-я линия: назначено 5, закрыто 3",
        "передано на следующую линию: 1",
    ):
        assert shown in russian, shown


async def test_one_line_shows_no_line_block(database: Database) -> None:
    await build_sla_month(database)
    routing = stats_routing()
    stats = await StatsService(database, routing).compute(month_of(2026, 11, MOSCOW), now=NOW)
    # Without line: 2 every department is on line 1; T8's hand-over still counts there.
    assert [(f.line, f.assigned, f.closed, f.passed_on) for f in stats.lines] == [(1, 6, 4, 1)]
    assert "Support lines" not in stats_plain(stats, Texts("en"))


async def test_the_csv_has_the_sla_and_line_rows(november: Stats) -> None:
    text = stats_csv(november).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    cells = {tuple(row[:4]): (row[4], row[5]) for row in rows[1:]}
    assert len(cells) == len(rows) - 1, "each figure and breakdown once"
    assert cells[("sla", "configured", "", "")] == ("1", "flag")
    assert cells[("sla", "met", "", "")] == ("7", "count")
    assert cells[("sla", "breached", "", "")] == ("4", "count")
    assert cells[("sla", "met_share", "", "")] == ("0.6364", "share")
    assert cells[("sla", "met", "target", "first_response")] == ("4", "count")
    assert cells[("sla", "breached", "target", "resolution")] == ("2", "count")
    assert cells[("sla", "met_share", "target", "resolution")] == ("0.6000", "share")
    assert cells[("sla", "met", "policy", "critical")] == ("3", "count")
    assert cells[("sla", "met_share", "policy", "standard")] == ("0.5714", "share")
    assert cells[("people", "assigned", "line", "1")] == ("5", "count")
    assert cells[("people", "closed", "line", "2")] == ("1", "count")
    assert cells[("people", "resolution_avg", "line", "2")] == ("14400", "seconds")
    assert cells[("people", "passed_to_next_line", "line", "1")] == ("1", "count")
    assert cells[("people", "passed_to_next_line", "line", "2")] == ("0", "count")


async def test_the_sla_chart_shows_met_and_missed(november: Stats) -> None:
    chart = chart_for(november, Section.SLA, Texts("en"))
    assert chart is not None
    assert chart.title == "SLA targets, 01.11.2026 – 30.11.2026"
    targets, policies = chart.panels
    assert targets.categories == ("First response", "Resolution")
    assert [(s.label, s.values) for s in targets.series] == [
        ("met", (4.0, 3.0)),
        ("missed", (2.0, 2.0)),
    ]
    assert policies.categories == ("standard", "critical")
    assert [s.values for s in policies.series] == [(4.0, 3.0), (3.0, 1.0)]
    image = Image.open(io.BytesIO(draw_png(chart, no_data="—")))
    assert image.format == "PNG"
    width, height = size_inches(chart)
    assert image.size == (1080, round(height * DPI))
    assert width * DPI == 1080
    russian = chart_for(november, Section.SLA, Texts("ru"))
    assert russian is not None
    assert russian.panels[0].categories == ("Первый ответ", "Решение")
