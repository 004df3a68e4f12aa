"""A period's figures as CSV: one row per figure and breakdown, stable column names.

Columns: ``section;figure;breakdown;key;value;unit`` (documented in ``docs/stats.md``).
Names are English identifiers whatever the bot's language, so a spreadsheet or a
script reading the file keeps working; only keys taken from the data (a client's
name, a status) are in the data's own words.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from dispatch.stats.figures import Breakdown, Durations, KindFigure, Stats

COLUMNS = ("section", "figure", "breakdown", "key", "value", "unit")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Row = tuple[str, str, str, str, str, str]


def stats_csv(stats: Stats) -> bytes:
    """The CSV file (UTF-8 with a BOM and ``;``, as the monthly reports, for spreadsheets)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(_safe(row) for row in stats_rows(stats))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def stats_rows(stats: Stats) -> Iterator[Row]:
    """Every row of the CSV, in file order."""
    period = stats.period
    yield _row("period", "first_day", value=period.first.isoformat(), unit="date")
    yield _row("period", "last_day", value=period.last.isoformat(), unit="date")
    yield _row("period", "timezone", value=str(period.tz), unit="name")
    yield from _inflow(stats)
    yield from _dispatch(stats)
    yield from _flow(stats)
    yield from _response(stats)
    yield from _people(stats)
    yield from _rest(stats)


def _inflow(stats: Stats) -> Iterator[Row]:
    inflow = stats.inflow
    yield _count("inflow", "created", inflow.created)
    for day, n in inflow.by_day:
        yield _count("inflow", "created", n, "day", day.isoformat())
    for weekday, hours in enumerate(inflow.by_weekday_hour):
        for hour, n in enumerate(hours):
            if n:
                yield _count(
                    "inflow", "created", n, "weekday_hour", f"{WEEKDAYS[weekday]} {hour:02d}"
                )
    for name, counts in (
        ("channel", inflow.by_channel),
        ("type", inflow.by_type),
        ("priority", inflow.by_priority),
        ("client", inflow.by_client),
    ):
        yield from _breakdown("inflow", "created", name, counts)


def _dispatch(stats: Stats) -> Iterator[Row]:
    dispatch = stats.dispatch
    yield from _durations("dispatch", "assignment", dispatch.assignment)
    for figure in dispatch.by_hour:
        if figure.waits.count:
            yield from _durations(
                "dispatch", "assignment", figure.waits, "arrival_hour", f"{figure.hour:02d}"
            )
    yield _count("dispatch", "reminders", dispatch.reminders)
    yield _count("dispatch", "escalations", dispatch.escalations)
    yield _count("dispatch", "assigned_after_nag_interval", dispatch.over_nag)
    yield _row(
        "dispatch",
        "nag_interval",
        value=str(int(dispatch.nag_interval.total_seconds())),
        unit="seconds",
    )


def _flow(stats: Stats) -> Iterator[Row]:
    flow = stats.flow
    yield _count("flow", "open_at_end", flow.open_at_end)
    yield _count("flow", "unassigned_at_end", flow.unassigned_at_end)
    yield _count("flow", "solved", flow.solved)
    yield _count("flow", "created_solved", flow.new_solved)
    yield _count("flow", "created_unsolved", flow.new_unsolved)
    yield from _breakdown("flow", "created", "status_now", flow.by_status)


def _response(stats: Stats) -> Iterator[Row]:
    response = stats.response
    yield from _durations("response", "first_response", response.first_response)
    yield from _durations("response", "resolution", response.resolution)
    for name, figures in (("type", response.by_type), ("priority", response.by_priority)):
        for figure in figures:
            yield from _kind(name, figure)
    yield _count("response", "reopened", response.reopened)
    yield _row("response", "reopen_rate", value=_share(response.reopen_rate), unit="share")


def _kind(name: str, figure: KindFigure) -> Iterator[Row]:
    yield _count("response", "created", figure.created, name, figure.key)
    yield _count("response", "closed", figure.closed, name, figure.key)
    yield from _durations("response", "first_response", figure.first_response, name, figure.key)
    yield from _durations("response", "resolution", figure.resolution, name, figure.key)


def _people(stats: Stats) -> Iterator[Row]:
    for person in stats.people:
        key = person.key
        yield _count("people", "assigned", person.assigned, "person", key)
        yield _count("people", "closed", person.closed, "person", key)
        yield _count("people", "staff_replies", person.replies, "person", key)
        yield _row(
            "people", "billable_time", "person", key, str(person.billable_minutes), "minutes"
        )
        yield _row("people", "free_time", "person", key, str(person.free_minutes), "minutes")
        yield from _durations("people", "resolution", person.resolution, "person", key)
        yield _count("people", "forbidden_word_replies", person.forbidden, "person", key)
    for department in stats.departments:
        key = department.key
        yield _count("people", "assigned", department.assigned, "department", key)
        yield _count("people", "closed", department.closed, "department", key)
        yield from _durations("people", "resolution", department.resolution, "department", key)
    for line in stats.lines:
        key = str(line.line)
        yield _count("people", "assigned", line.assigned, "line", key)
        yield _count("people", "closed", line.closed, "line", key)
        yield from _durations("people", "resolution", line.resolution, "line", key)
        yield _count("people", "passed_to_next_line", line.passed_on, "line", key)


def _rest(stats: Stats) -> Iterator[Row]:
    tasks = stats.dev_tasks
    yield _count("dev_tasks", "created", tasks.created)
    yield _count("dev_tasks", "done", tasks.done)
    yield from _durations("dev_tasks", "to_done", tasks.to_done)
    quality = stats.quality
    yield _count("quality", "forbidden_word_replies", quality.replies)
    yield from _breakdown("quality", "forbidden_word_replies", "word", quality.by_word)
    yield from _breakdown("quality", "forbidden_word_replies", "author", quality.by_person)
    sla = stats.sla
    yield _row("sla", "configured", value="1" if sla else "0", unit="flag")
    if sla is not None:
        yield _count("sla", "met", sla.met)
        yield _count("sla", "breached", sla.breached)
        yield _row("sla", "met_share", value=_share(sla.met_share), unit="share")
        for name, counts in (("target", sla.by_target), ("policy", sla.by_policy)):
            for count in counts:
                yield _count("sla", "met", count.met, name, count.key)
                yield _count("sla", "breached", count.missed, name, count.key)
                yield _row("sla", "met_share", name, count.key, _share(count.met_share), "share")


def _row(
    section: str, figure: str, breakdown: str = "", key: str = "", value: str = "", unit: str = ""
) -> Row:
    return (section, figure, breakdown, key, value, unit)


def _count(section: str, figure: str, n: int, breakdown: str = "", key: str = "") -> Row:
    return _row(section, figure, breakdown, key, str(n), "count")


def _breakdown(section: str, figure: str, name: str, counts: Breakdown) -> Iterator[Row]:
    for key, n in counts:
        yield _count(section, figure, n, name, key)


def _durations(
    section: str, figure: str, durations: Durations, breakdown: str = "", key: str = ""
) -> Iterator[Row]:
    yield _count(section, f"{figure}_count", durations.count, breakdown, key)
    for suffix, value in (
        ("avg", durations.average),
        ("p50", durations.p50),
        ("p90", durations.p90),
    ):
        shown = "" if value is None else str(round(value))
        yield _row(section, f"{figure}_{suffix}", breakdown, key, shown, "seconds")


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _safe(row: Row) -> Row:
    # Keys come from clients and helpdesks: a leading = + - @ would run as a formula.
    section, figure, breakdown, key, value, unit = row
    if key[:1] in ("=", "+", "-", "@"):
        key = "'" + key
    return (section, figure, breakdown, key, value, unit)
