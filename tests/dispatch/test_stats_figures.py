"""Statistics of a month built by hand: every figure, in the text, the CSV and the charts.

The month is ``tests/support/stats_month.py``; its docstring lists the tickets, and
each expected number below is worked out from that table.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.charts import DPI, chart_for, draw_png
from bot.history_renderers import KIND_LABELS
from bot.i18n import Texts, load_catalog, load_plurals
from bot.stats_renderers import SECTION_LABELS
from bot.stats_text import WEEKDAYS, duration, stats_plain
from dispatch.events import EventKind
from dispatch.stats.command import Section
from dispatch.stats.export import COLUMNS, stats_csv
from dispatch.stats.figures import Durations, Stats, percentile
from dispatch.stats.period import Period, PeriodError, month_of, parse_period
from dispatch.stats.service import StatsService
from storage.db import Database
from tests.support.stats_month import NOW, build_month, stats_routing

MOSCOW = ZoneInfo("Europe/Moscow")
HOUR = 3600


@pytest.fixture
async def november(database: Database) -> Stats:
    await build_month(database)
    routing = stats_routing()
    return await StatsService(database, routing).compute(month_of(2026, 11, MOSCOW), now=NOW)


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
    assert percentile([5], 0.5) == 5
    assert Durations.of([120, 240, 600, 1200, 34200]) == Durations(5, 7272, 600, 34200)
    assert Durations.of([]) == Durations(0, None, None, None)


def test_periods_are_local_days() -> None:
    now = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)  # Thursday 26.11 01:00 in Moscow
    today = parse_period("today", tz=MOSCOW, now=now)
    assert (today.first, today.last) == (date(2026, 11, 26), date(2026, 11, 26))
    assert today.start == datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
    week = parse_period("", tz=MOSCOW, now=now)
    assert (week.first, week.last) == (date(2026, 11, 23), date(2026, 11, 29))
    assert parse_period("неделя", tz=MOSCOW, now=now) == week
    month = parse_period("month", tz=MOSCOW, now=now)
    assert (month.first, month.last) == (date(2026, 11, 1), date(2026, 11, 30))
    assert parse_period("2026-02", tz=MOSCOW, now=now).last == date(2026, 2, 28)
    spanned = parse_period("2026-11-01..2026-11-15", tz=MOSCOW, now=now)
    assert spanned.end == datetime(2026, 11, 15, 21, 0, tzinfo=UTC)
    assert month.until(now) == now
    assert len(month.days(now)) == 26, "no days after today"
    for bad in ("yesterday", "2026-13", "2026-11-05..2026-11-01", "2025-01-01..2026-12-31"):
        with pytest.raises(PeriodError):
            parse_period(bad, tz=MOSCOW, now=now)


async def test_every_figure_of_the_month(november: Stats) -> None:
    inflow = november.inflow
    assert inflow.created == 5
    per_day = dict(inflow.by_day)
    assert len(per_day) == 30
    assert {day.day: n for day, n in per_day.items() if n} == {2: 2, 3: 1, 10: 1, 21: 1}
    cells = {
        (weekday, hour): n
        for weekday, hours in enumerate(inflow.by_weekday_hour)
        for hour, n in enumerate(hours)
        if n
    }
    assert cells == {(0, 10): 2, (1, 15): 1, (1, 12): 1, (5, 0): 1}
    assert inflow.by_channel == (("email", 3), ("phone", 1), ("web", 1))
    assert inflow.by_type == (("incident", 3), ("question", 2))
    assert inflow.by_priority == (("high", 3), ("normal", 2))
    assert inflow.by_client == (("ООО «Акме»", 2), ("", 1), ("Beta LLC", 1), ("gamma.test", 1))

    dispatch = november.dispatch
    assert dispatch.assignment == Durations(5, 7272, 600, 34200)
    hours = {f.hour: f.waits for f in dispatch.by_hour if f.waits.count}
    assert hours == {
        10: Durations(2, 720, 240, 1200),
        12: Durations(1, 120, 120, 120),
        15: Durations(1, 600, 600, 600),
        23: Durations(1, 34200, 34200, 34200),
    }
    assert (dispatch.reminders, dispatch.escalations, dispatch.over_nag) == (3, 1, 3)
    assert dispatch.nag_interval == timedelta(minutes=5)

    flow = november.flow
    assert (flow.open_at_end, flow.unassigned_at_end, flow.solved) == (3, 1, 3)
    assert (flow.new_solved, flow.new_unsolved) == (3, 2)
    assert flow.by_status == (("closed", 3), ("new", 1), ("open", 1))


async def test_response_people_tasks_and_quality_of_the_month(november: Stats) -> None:
    response = november.response
    assert response.first_response == Durations(3, 1800, 1800, 2400)
    assert response.resolution == Durations(3, 61200, 2 * HOUR, 48 * HOUR)
    assert response.reopened == 1
    assert response.reopen_rate == pytest.approx(1 / 3)
    by_type = {f.key: f for f in response.by_type}
    assert [f.key for f in response.by_type] == ["incident", "question"]
    assert (by_type["incident"].created, by_type["incident"].closed) == (3, 2)
    assert by_type["incident"].first_response == Durations(2, 2100, 1800, 2400)
    assert by_type["incident"].resolution == Durations(2, 5400, HOUR, 2 * HOUR)
    assert by_type["question"].resolution == Durations(1, 48 * HOUR, 48 * HOUR, 48 * HOUR)
    by_priority = {f.key: f for f in response.by_priority}
    assert (by_priority["high"].created, by_priority["high"].closed) == (3, 2)
    assert by_priority["normal"].first_response == Durations(2, 1800, 1200, 2400)

    people = {p.key: p for p in november.people}
    assert [p.key for p in november.people] == ["olga", "ivan", "anna"]
    olga, ivan, anna = people["olga"], people["ivan"], people["anna"]
    assert (olga.assigned, olga.closed, olga.replies, olga.forbidden) == (2, 2, 3, 1)
    assert (olga.billable_minutes, olga.free_minutes) == (90, 15)
    assert olga.resolution == Durations(2, 25 * HOUR, 2 * HOUR, 48 * HOUR)
    assert (ivan.assigned, ivan.closed, ivan.replies, ivan.billable_minutes) == (2, 1, 1, 45)
    assert (anna.assigned, anna.closed, anna.resolution.count) == (1, 0, 0)
    departments = {d.key: d for d in november.departments}
    assert (departments["support"].assigned, departments["support"].closed) == (4, 3)
    assert departments["support"].resolution.average == 61200
    assert (departments["dev"].assigned, departments["dev"].closed) == (0, 0)

    tasks = november.dev_tasks
    assert (tasks.created, tasks.done, tasks.to_done.average) == (1, 1, 22 * HOUR)
    quality = november.quality
    assert (quality.replies, quality.by_word, quality.by_person) == (
        1,
        (("блин", 1),),
        (("olga", 1),),
    )
    assert november.sla is None


async def test_the_text_carries_the_figures_in_english_and_russian(november: Stats) -> None:
    english = stats_plain(november, Texts("en"))
    for shown in (
        "Statistics, 01.11.2026 – 30.11.2026",
        "Inflow: 5 new tickets; busiest day 02.11 (2); busiest hour Mon 10:00 (2)",
        "Channels: email 3, phone 1, web 1",
        "Dispatch: 5 tickets assigned; median 10 min, p90 9 h 30 min; after more than 5 min: 3;"
        " 3 reminders, 1 escalation",
        "Flow: solved 3; open at the end 3, unassigned 1; of the new: solved 3, unsolved 2",
        "First response: average 30 min, p90 40 min (3 tickets)",
        "Resolution: average 17 h 00 min, p90 2 d 0 h (3 tickets); reopened 1 (33 %)",
        "Developer tasks: created 1, done 1, average time to done 22 h 00 min",
        "Forbidden words: 1 reply (блин 1)",
        "SLA: not configured",
        "Olga Sidorova: assigned 2, closed 2, replies 3, time 1:45 (no charge 0:15),"
        " resolution on average 1 d 1 h; replies with forbidden words: 1",
        "Ivan Petrov: assigned 2, closed 1, replies 1, time 0:45 (no charge 0:00)",
        "Support: assigned 4, closed 3, resolution on average 17 h 00 min",
        "incident: 3 new, 2 closed; first response 35 min; resolution 1 h 30 min, p90 2 h 00 min",
        "question: 2 new, 1 closed; first response 20 min; resolution 2 d 0 h, p90 2 d 0 h",
        "By status now: closed 3, new 1, open 1",
        "By client: ООО «Акме» 2, unknown 1, Beta LLC 1, gamma.test 1",
        "SLA is not configured",
    ):
        assert shown in english, shown
    russian = stats_plain(november, Texts("ru"))
    for shown in (
        "Статистика, 01.11.2026 – 30.11.2026",
        "Поступление: 5 новых заявок; самый загруженный день: 02.11 (2);"
        " самый загруженный час: Пн 10:00 (2)",
        "Распределение: 5 заявок назначено; медиана 10 мин, p90 9 ч 30 мин; дольше 5 мин: 3;"
        " 3 напоминания, 1 эскалация",
        "Первый ответ: в среднем 30 мин, p90 40 мин (3 заявки)",
        "Запрещённые слова: 1 ответ (блин 1)",
        "SLA не настроен",
    ):
        assert shown in russian, shown


def test_russian_counts_take_their_plural_forms() -> None:
    t = Texts("ru")
    forms = [t.ngettext("{n} ticket", "{n} tickets", n) for n in (1, 2, 5, 11, 21, 22, 112)]
    assert forms == [
        "1 заявка",
        "2 заявки",
        "5 заявок",
        "11 заявок",
        "21 заявка",
        "22 заявки",
        "112 заявок",
    ]
    assert Texts("en").ngettext("{n} reply", "{n} replies", 1) == "1 reply"
    assert Texts("en").ngettext("{n} reply", "{n} replies", 4) == "4 replies"
    assert duration(59, t) == "59 с"
    assert duration(90 * 60, t) == "1 ч 30 мин"
    assert duration(50 * HOUR, t) == "2 дн. 2 ч"


async def test_the_csv_has_a_row_per_figure_and_breakdown(november: Stats) -> None:
    text = stats_csv(november).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert tuple(rows[0]) == COLUMNS
    cells = {tuple(row[:4]): (row[4], row[5]) for row in rows[1:]}
    assert len(cells) == len(rows) - 1, "each figure and breakdown once"

    def value(section: str, figure: str, breakdown: str = "", key: str = "") -> str:
        return cells[(section, figure, breakdown, key)][0]

    assert value("period", "first_day") == "2026-11-01"
    assert value("period", "timezone") == "Europe/Moscow"
    assert value("inflow", "created") == "5"
    assert value("inflow", "created", "day", "2026-11-21") == "1"
    assert value("inflow", "created", "day", "2026-11-30") == "0"
    assert value("inflow", "created", "weekday_hour", "mon 10") == "2"
    assert value("inflow", "created", "weekday_hour", "sat 00") == "1"
    assert value("inflow", "created", "channel", "email") == "3"
    assert value("inflow", "created", "client", "ООО «Акме»") == "2"
    assert value("dispatch", "assignment_avg") == "7272"
    assert value("dispatch", "assignment_p50") == "600"
    assert cells[("dispatch", "assignment_p90", "", "")] == ("34200", "seconds")
    assert value("dispatch", "assignment_p90", "arrival_hour", "10") == "1200"
    assert value("dispatch", "reminders") == "3"
    assert value("dispatch", "escalations") == "1"
    assert value("dispatch", "assigned_after_nag_interval") == "3"
    assert value("dispatch", "nag_interval") == "300"
    assert value("flow", "open_at_end") == "3"
    assert value("flow", "unassigned_at_end") == "1"
    assert value("flow", "solved") == "3"
    assert value("flow", "created_unsolved") == "2"
    assert value("flow", "created", "status_now", "closed") == "3"
    assert value("response", "first_response_avg") == "1800"
    assert value("response", "resolution_p90") == "172800"
    assert value("response", "resolution_avg", "type", "incident") == "5400"
    assert value("response", "first_response_count", "priority", "normal") == "2"
    assert value("response", "reopened") == "1"
    assert cells[("response", "reopen_rate", "", "")] == ("0.3333", "share")
    assert value("people", "closed", "person", "olga") == "2"
    assert value("people", "staff_replies", "person", "olga") == "3"
    assert cells[("people", "free_time", "person", "olga")] == ("15", "minutes")
    assert value("people", "resolution_avg", "person", "olga") == "90000"
    assert value("people", "resolution_avg", "person", "anna") == ""
    assert value("people", "forbidden_word_replies", "person", "olga") == "1"
    assert value("people", "assigned", "department", "support") == "4"
    assert value("dev_tasks", "to_done_avg") == "79200"
    assert value("quality", "forbidden_word_replies", "word", "блин") == "1"
    assert value("sla", "configured") == "0"


async def test_the_charts_show_the_figures_and_fit_a_phone(november: Stats) -> None:
    t = Texts("en")
    overview = chart_for(november, Section.OVERVIEW, t)
    assert overview is not None
    inflow, waits = overview.panels
    assert inflow.categories[:3] == ("01.11", "02.11", "03.11")
    assert inflow.series[0].values == tuple(float(n) for _, n in november.inflow.by_day)
    assert sum(inflow.series[0].values) == 5
    median, p90 = waits.series
    assert (median.values[10], median.values[12], median.values[15], median.values[23]) == (
        4.0,
        2.0,
        10.0,
        570.0,
    )
    assert p90.values[10] == 20.0
    assert sum(median.values) == 586.0, "no other hour has a wait"
    people = chart_for(november, Section.PEOPLE, t)
    assert people is not None
    (bars,) = people.panels
    assert bars.categories == ("Olga Sidorova", "Ivan Petrov", "Anna Smirnova")
    assert [s.values for s in bars.series] == [(2.0, 2.0, 1.0), (2.0, 1.0, 0.0), (3.0, 1.0, 0.0)]
    types = chart_for(november, Section.TYPES, t)
    assert types is not None
    assert types.panels[0].categories == ("incident", "question")
    assert [s.values for s in types.panels[0].series] == [(3.0, 2.0), (2.0, 1.0)]
    assert chart_for(november, Section.SLA, t) is None

    olga = november.people[0]
    crowd = dataclasses.replace(
        november,
        people=tuple(dataclasses.replace(olga, key=f"p{n}", name=f"P {n}") for n in range(15)),
    )
    crowded = chart_for(crowd, Section.PEOPLE, t)
    assert crowded is not None
    assert crowded.panels[0].title == "Per specialist: the first 12 of 15"
    assert len(crowded.panels[0].categories) == 12, "a phone shows a dozen bars legibly"

    for chart, height in ((overview, 9.8), (people, 5.3), (types, 5.3)):
        image = Image.open(io.BytesIO(draw_png(chart, no_data="—")))
        assert image.format == "PNG"
        assert image.size == (1080, round(height * DPI))


async def test_an_empty_period_has_zeros_and_an_empty_chart(database: Database) -> None:
    routing = stats_routing("ru")
    stats = await StatsService(database, routing).compute(
        Period(date(2026, 9, 7), date(2026, 9, 13), MOSCOW), now=NOW
    )
    assert (stats.inflow.created, stats.dispatch.assignment.count, stats.flow.solved) == (0, 0, 0)
    assert stats.response.reopen_rate is None
    assert "0 новых заявок" in stats_plain(stats, Texts("ru"))
    chart = chart_for(stats, Section.OVERVIEW, Texts("ru"))
    assert chart is not None
    assert Image.open(io.BytesIO(draw_png(chart, no_data="Нет данных"))).size[0] == 1080


_PLURAL_CALL = re.compile(r'\.ngettext\(\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"')


def test_counted_texts_and_labels_are_in_both_catalogs() -> None:
    bot = Path(__file__).parents[2] / "bot"
    counted = {
        found for path in bot.rglob("*.py") for found in _PLURAL_CALL.findall(path.read_text())
    }
    assert len(counted) >= 6
    russian = load_plurals("ru")
    for singular, _ in counted:
        assert len(russian.get(singular, ())) == 3, singular
    english = (bot / "locales" / "en" / "LC_MESSAGES" / "modest.po").read_text("utf-8")
    for singular, plural in counted:
        assert f'msgid "{singular}"\nmsgid_plural "{plural}"' in english
    catalog = load_catalog("ru")
    labels = [*SECTION_LABELS.values(), *WEEKDAYS, KIND_LABELS[EventKind.FORBIDDEN_WORD]]
    assert [label for label in labels if label not in catalog] == []
