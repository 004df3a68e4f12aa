"""Counting SLA time: around the clock, and in working hours across nights, weekends, holidays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from config.schedule import WorkingHours
from dispatch.sla.clock import WorkingCalendar

MOSCOW = ZoneInfo("Europe/Moscow")
HOURS = WorkingHours.model_validate(
    {"mon-fri": "09:00-18:00", "sat": ["10:00-12:00", "13:00-14:00"], "holidays": ["2026-12-31"]}
)


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A moment in Moscow in 2026 (23 November is a Monday)."""
    return datetime(2026, month, day, hour, minute, tzinfo=MOSCOW)


WORKING = WorkingCalendar(HOURS, MOSCOW)


def hours(value: float) -> float:
    return value * 3600


@pytest.mark.parametrize(
    ("start", "end", "counted"),
    [
        (local(23, 10), local(23, 11, 30), hours(1.5)),  # within one working day
        (local(23, 17, 30), local(24, 9, 30), hours(1)),  # across a night
        (local(23, 19), local(24, 8), 0),  # a whole night counts nothing
        (local(27, 17), local(30, 10), hours(1 + 3 + 1)),  # Friday → Monday, Saturday's 3 h
        (local(29, 10), local(29, 23), 0),  # Sunday
        (local(28, 11), local(28, 13, 30), hours(1.5)),  # Saturday's lunch break
        (local(30, 12, month=12), local(1, 10, month=1).replace(year=2027), hours(6 + 1)),
        (local(23, 10), local(23, 9), 0),  # the end before the start
    ],
)
def test_elapsed_counts_only_working_time(start: datetime, end: datetime, counted: float) -> None:
    assert WORKING.elapsed(start, end) == pytest.approx(counted)


@pytest.mark.parametrize(
    ("start", "seconds", "reached"),
    [
        (local(23, 10), hours(1), local(23, 11)),
        (local(23, 17, 30), hours(1), local(24, 9, 30)),  # over the night
        (local(27, 17, 30), hours(1), local(28, 10, 30)),  # Friday evening → Saturday
        (local(27, 17, 30), hours(4), local(30, 9, 30)),  # past Saturday to Monday
        (local(29, 3), hours(0.5), local(30, 9, 30)),  # from Sunday night
        (local(30, 17, month=12), hours(2), local(1, 10, month=1).replace(year=2027)),
        (local(23, 19), 0, local(23, 19)),  # nothing left: due at once
    ],
)
def test_add_finds_the_moment_a_count_is_reached(
    start: datetime, seconds: float, reached: datetime
) -> None:
    found = WORKING.add(start, seconds)
    assert found is not None
    assert found == reached
    assert WORKING.elapsed(start, found) == pytest.approx(seconds)


def test_the_holiday_counts_nothing() -> None:
    assert WORKING.elapsed(local(31, 0, month=12), local(31, 23, 59, month=12)) == 0


def test_around_the_clock_counts_every_second() -> None:
    always = WorkingCalendar(None, MOSCOW)
    start = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)  # a Saturday night
    assert always.elapsed(start, start + timedelta(hours=10)) == hours(10)
    assert always.add(start, hours(4)) == start + timedelta(hours=4)


def test_a_calendar_without_working_days_never_reaches_a_target() -> None:
    never = WorkingCalendar(WorkingHours.model_validate({"weekly": {}}), MOSCOW)
    assert never.add(local(23, 10), 60) is None
    assert never.elapsed(local(23, 10), local(30, 10)) == 0


def test_working_hours_follow_the_local_clock_across_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    calendar = WorkingCalendar(WorkingHours.model_validate({"mon-sun": "09:00-17:00"}), berlin)
    # Sunday 25 October 2026 the clocks go back; the working day is still 8 hours.
    start = datetime(2026, 10, 24, 16, 0, tzinfo=berlin)
    assert calendar.add(start, hours(2)) == datetime(2026, 10, 25, 10, 0, tzinfo=berlin)
    assert calendar.elapsed(start, datetime(2026, 10, 26, 9, 0, tzinfo=berlin)) == hours(9)


def _brute_force(hours: WorkingHours, tz: ZoneInfo, start: datetime, end: datetime) -> float:
    """Working seconds counted minute by minute (the calendar must agree)."""
    counted, moment = 0.0, start
    while moment < end:
        local_moment = moment.astimezone(tz)
        spans = hours.weekly.get(local_moment.weekday(), ())
        if local_moment.date() not in hours.holidays and any(
            opens <= local_moment.time() < closes for opens, closes in spans
        ):
            counted += 60
        moment += timedelta(minutes=1)
    return counted


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        # Berlin's clocks go forward on 29 March 2026 and back on 25 October.
        ("Europe/Berlin", datetime(2026, 3, 27, 15, 7, tzinfo=UTC)),
        ("Europe/Berlin", datetime(2026, 10, 23, 15, 52, tzinfo=UTC)),
        ("Asia/Kathmandu", datetime(2026, 11, 20, 18, 14, tzinfo=UTC)),  # UTC+5:45
        ("America/St_Johns", datetime(2026, 11, 1, 2, 29, tzinfo=UTC)),  # UTC-3:30 / -2:30
    ],
)
def test_counting_from_timestamps_keeps_local_days_in_odd_zones_and_across_dst(
    zone: str, start: datetime
) -> None:
    tz = ZoneInfo(zone)
    hours = WorkingHours.model_validate({"mon-fri": "09:00-18:00", "sat": "10:00-14:00"})
    calendar = WorkingCalendar(hours, tz)
    # Latest first: a cached local day must never be later than the moment's own.
    for offset_min in reversed(range(0, 4 * 24 * 60, 97)):
        first = start + timedelta(minutes=offset_min)
        last = first + timedelta(hours=31)
        expected = _brute_force(hours, tz, first, last)
        assert calendar.elapsed_s(first.timestamp(), last.timestamp()) == expected, first
        assert calendar.elapsed(first, last) == expected
