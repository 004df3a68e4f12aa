"""Periods of statistics: whole local days, from the first to the last."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

#: Longer periods are refused: a year is the most anyone plans staff with.
MAX_DAYS = 366

_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})")
_WORDS = {
    "today": "today",
    "сегодня": "today",
    "week": "week",
    "неделя": "week",
    "month": "month",
    "месяц": "month",
}


class PeriodError(ValueError):
    """A period nobody can compute: unreadable, reversed, or too long."""


@dataclass(frozen=True, slots=True)
class Period:
    """Local days ``first`` … ``last``; ``start`` and ``end`` (exclusive) in UTC."""

    first: date
    last: date
    tz: tzinfo

    @property
    def start(self) -> datetime:
        """The first day's local midnight, in UTC."""
        return _midnight(self.first, self.tz)

    @property
    def end(self) -> datetime:
        """The local midnight after the last day, in UTC."""
        return _midnight(self.last + timedelta(days=1), self.tz)

    def until(self, now: datetime) -> datetime:
        """The end, or ``now`` for a period that is still going on."""
        return min(self.end, now)

    def days(self, now: datetime) -> list[date]:
        """Every day of the period up to today."""
        today = now.astimezone(self.tz).date()
        last = min(self.last, today)
        return [self.first + timedelta(days=n) for n in range((last - self.first).days + 1)]


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def parse_period(text: str, *, tz: tzinfo, now: datetime) -> Period:
    """``today``, ``week`` (since Monday), ``month``, ``YYYY-MM`` or ``FROM..TO``.

    Empty text is the current week. Raises :class:`PeriodError`.
    """
    spoken = text.strip().lower() or "week"
    today = now.astimezone(tz).date()
    word = _WORDS.get(spoken)
    if word == "today":
        return Period(today, today, tz)
    if word == "week":
        return week_of(today, tz)
    if word == "month":
        return month_of(today.year, today.month, tz)
    if match := _MONTH.fullmatch(spoken):
        return month_of(int(match[1]), int(match[2]), tz)
    if match := _RANGE.fullmatch(spoken):
        try:
            first, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
        except ValueError as exc:
            raise PeriodError(str(exc)) from None
        return between(first, last, tz)
    raise PeriodError(f"unknown period {text.strip()!r}")


def between(first: date, last: date, tz: tzinfo) -> Period:
    """The days ``first`` … ``last``; raises :class:`PeriodError` for a bad range."""
    if last < first:
        raise PeriodError("the period ends before it starts")
    if (last - first).days >= MAX_DAYS:
        raise PeriodError(f"the period is longer than {MAX_DAYS} days")
    return Period(first, last, tz)


def week_of(day: date, tz: tzinfo) -> Period:
    """Monday … Sunday of the week ``day`` is in."""
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6), tz)


def month_of(year: int, month: int, tz: tzinfo) -> Period:
    """The whole calendar month."""
    first = date(year, month, 1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following - timedelta(days=1), tz)
