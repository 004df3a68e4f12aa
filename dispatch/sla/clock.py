"""Counting time for SLA clocks, and what a clock does when the ticket moves on.

A calendar counts either every second (``24x7``) or only the seconds inside the
routing file's ``working_hours`` (holidays off). A clock (``SlaClockRow``) holds
the seconds counted so far plus, while it runs, since when it has been running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from config.routing import RoutingConfig
from config.schedule import WorkingHours
from config.sla import Calendar
from storage.models import SlaClockRow

#: How far ahead a target is looked for: a calendar without a working day in ten years
#: (every day a holiday, say) never reaches one.
_HORIZON_DAYS = 3660
#: A check a second early still counts: times go through floats and whole seconds.
SLACK_S = 1.0
_ONE_DAY = timedelta(days=1)
_QUARTER_S = 900
_MAX_DATES = 50_000


@dataclass(frozen=True, slots=True)
class _Day:
    """One local day as UTC timestamps: its opening hours, and when the next day starts."""

    ranges: tuple[tuple[float, float], ...]
    next_day: float


class WorkingCalendar:
    """Seconds that count between two moments, and the moment a count is reached.

    ``hours`` None counts around the clock. Each day's opening hours are worked out
    once and kept as UTC timestamps: a scan checks thousands of clocks at a time.
    """

    def __init__(self, hours: WorkingHours | None, tz: tzinfo) -> None:
        self._hours = hours
        self._tz = tz
        self._days: dict[date, _Day] = {}
        self._dates: dict[int, date] = {}

    @classmethod
    def of(cls, routing: RoutingConfig, calendar: str) -> WorkingCalendar:
        """The calendar a clock names; working hours without a ``working_hours`` section
        are around the clock."""
        hours = routing.working_hours if calendar == Calendar.WORKING_HOURS else None
        return cls(hours, routing.tz)

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Counted seconds from ``start`` to ``end`` (0 if ``end`` is not later)."""
        return self.elapsed_s(start.timestamp(), end.timestamp())

    def elapsed_s(self, first: float, last: float) -> float:
        """:meth:`elapsed` between two moments in seconds since 1970 (a pass counts
        thousands of clocks up to one moment: no datetimes made per clock)."""
        if self._hours is None:
            return max(last - first, 0.0)
        total = 0.0
        day = self._local_date(first)
        for _ in range(_HORIZON_DAYS):
            if first >= last:
                break
            hours = self._day(day)
            for opens, closes in hours.ranges:
                total += max(min(closes, last) - max(opens, first), 0.0)
            first = max(first, hours.next_day)
            day += _ONE_DAY
        return total

    def _local_date(self, moment: float) -> date:
        # Every zone's offset, and every change of it, falls on a quarter hour: all the
        # moments of one UTC quarter hour are on the same local day.
        quarter = int(moment // _QUARTER_S)
        found = self._dates.get(quarter)
        if found is None:
            if len(self._dates) >= _MAX_DATES:
                self._dates.clear()  # a long-running service: keep the cache small
            found = self._dates[quarter] = datetime.fromtimestamp(moment, self._tz).date()
        return found

    def add(self, start: datetime, seconds: float) -> datetime | None:
        """The moment ``seconds`` of counted time after ``start`` (None: never)."""
        if seconds <= 0:
            return start
        if self._hours is None:
            return start + timedelta(seconds=seconds)
        first, left = start.timestamp(), seconds
        day = start.astimezone(self._tz).date()
        for _ in range(_HORIZON_DAYS):
            for opens, closes in self._day(day).ranges:
                begin = max(opens, first)
                if closes - begin >= left:
                    return datetime.fromtimestamp(begin + left, UTC)
                left -= max(closes - begin, 0.0)
            day += _ONE_DAY
        return None

    def _day(self, day: date) -> _Day:
        cached = self._days.get(day)
        if cached is not None:
            return cached
        hours = self._hours
        assert hours is not None
        ranges: tuple[tuple[float, float], ...] = ()
        if day not in hours.holidays:
            ranges = tuple(
                (
                    datetime.combine(day, opens, self._tz).timestamp(),
                    datetime.combine(day, closes, self._tz).timestamp(),
                )
                for opens, closes in sorted(hours.weekly.get(day.weekday(), ()))
            )
        next_day = datetime.combine(day + _ONE_DAY, time(), self._tz).timestamp()
        self._days[day] = made = _Day(ranges, next_day)
        return made


class Calendars:
    """One calendar per name, shared by every clock of a pass."""

    def __init__(self, routing: RoutingConfig) -> None:
        self._routing = routing
        self._made: dict[str, WorkingCalendar] = {}

    def __getitem__(self, name: str) -> WorkingCalendar:
        calendar = self._made.get(name)
        if calendar is None:
            calendar = self._made[name] = WorkingCalendar.of(self._routing, name)
        return calendar


def counted(
    used_s: float, since: datetime | None, calendar: WorkingCalendar, now: datetime
) -> float:
    """Seconds counted by ``now``: ``used_s`` so far, plus the run since ``since``."""
    return used_s + (calendar.elapsed(since, now) if since is not None else 0.0)


def used(clock: SlaClockRow, calendar: WorkingCalendar, now: datetime) -> float:
    """Seconds the clock has counted by ``now``."""
    return counted(clock.used_s, clock.since, calendar, now)


def left(clock: SlaClockRow, calendar: WorkingCalendar, now: datetime) -> float:
    """Counted seconds left to the target (negative: overdue by that much)."""
    return clock.target_s - used(clock, calendar, now)


def pause(clock: SlaClockRow, calendar: WorkingCalendar, at: datetime) -> None:
    """Stop counting for now (waiting for the client); the time used stays."""
    if clock.since is not None:
        clock.used_s = round(clock.used_s + calendar.elapsed(clock.since, at))
        clock.since = None


def stop(clock: SlaClockRow, calendar: WorkingCalendar, at: datetime) -> None:
    """The target is reached (answered, resolved): stop for good, unless resumed."""
    if clock.done_at is None:
        pause(clock, calendar, at)
        clock.done_at = at


def resume(clock: SlaClockRow, at: datetime) -> None:
    """Count again from ``at``, on top of the time already used."""
    if clock.since is None:
        clock.since = at
        clock.done_at = None


def settle(clock: SlaClockRow, calendar: WorkingCalendar, at: datetime) -> None:
    """Bring the time used up to ``at`` (before the clock changes calendar or target)."""
    if clock.since is not None and at > clock.since:
        clock.used_s = round(clock.used_s + calendar.elapsed(clock.since, at))
        clock.since = at


def reschedule(clock: SlaClockRow, calendar: WorkingCalendar, warn_at: float) -> None:
    """Work out when a clock reaches its target, and when the scan next looks at it.

    Both are set whenever a clock changes, so the scan itself never has to: a warning
    moves ``next_check_at`` to ``due_at``, a breach clears it.
    """
    if clock.since is None:
        clock.due_at = clock.next_check_at = None
        return
    clock.due_at = calendar.add(clock.since, max(clock.target_s - clock.used_s, 0.0))
    if clock.breached:
        clock.next_check_at = None
    elif clock.warned:
        clock.next_check_at = clock.due_at
    else:
        warning = clock.target_s * warn_at
        clock.next_check_at = calendar.add(clock.since, max(warning - clock.used_s, 0.0))


def pending_threshold(
    target_s: float, warn_at: float, *, warned: bool, breached: bool
) -> float | None:
    """The count a clock waits for next: its warning, then its target, then nothing."""
    if breached:
        return None
    return target_s if warned else target_s * warn_at


def check_at(
    since: datetime | None, used_s: float, calendar: WorkingCalendar, threshold: float | None
) -> datetime | None:
    """When a running clock reaches ``threshold`` counted seconds (None: it will not)."""
    if since is None or threshold is None:
        return None
    return calendar.add(since, max(threshold - used_s, 0.0))
