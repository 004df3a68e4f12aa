"""Durations and working hours in the routing file.

Durations read ``30s``, ``5m``, ``1h``, ``1h30m`` (or a bare number of seconds).
Working hours are weekly ranges in the routing file's time zone::

    working_hours:
      mon-fri: "09:00-19:00"
      sat: "10:00-14:00"
      holidays: [2026-01-01, 2026-01-07]

No ``working_hours`` at all means 24/7.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("modest_routing", message)


def parse_duration(value: object) -> timedelta:
    """``"5m"`` → 5 minutes; a number is seconds; at least one second."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and (match := _DURATION.match(value)) and any(match.groups()):
        hours, minutes, secs = (int(part or 0) for part in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    else:
        raise _invalid(f"invalid duration {value!r}: use e.g. 30s, 5m, 1h or 1h30m")
    if seconds < 1:
        raise _invalid("must be at least 1s")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _days(spec: str) -> list[int]:
    days: list[int] = []
    for part in spec.lower().split(","):
        first, _, last = part.strip().partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise _invalid(f"unknown day {spec!r}: use mon..sun, ranges like mon-fri or lists")
        start, end = _DAYS.index(first), _DAYS.index(last or first)
        days.extend(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
    return days


def _ranges(value: object) -> list[tuple[time, time]]:
    items = value if isinstance(value, list) else [value]
    ranges = []
    for item in items:
        match = _RANGE.match(str(item))
        if not match:
            raise _invalid(f'invalid hours {item!r}: use "09:00-18:00"')
        h1, m1, h2, m2 = (int(x) for x in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2) or (h1, m1) >= (h2, m2):
            raise _invalid(f"invalid hours {item!r}: the start must come before the end")
        end = time.max if h2 == 24 else time(h2, m2)
        ranges.append((time(h1, m1), end))
    return ranges


class WorkingHours(BaseModel):
    """Weekly opening hours and holidays; ``is_open`` answers for a moment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weekly: dict[int, tuple[tuple[time, time], ...]]
    holidays: frozenset[date] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "weekly" in data:
            return data
        weekly: dict[int, list[tuple[time, time]]] = {}
        holidays = data.get("holidays") or []
        for spec, hours in data.items():
            if spec == "holidays":
                continue
            for day in _days(str(spec)):
                weekly.setdefault(day, []).extend(_ranges(hours))
        return {"weekly": {d: tuple(r) for d, r in weekly.items()}, "holidays": holidays}

    def is_open(self, moment: datetime, tz: tzinfo) -> bool:
        """Whether ``moment`` falls in working hours."""
        local = moment.astimezone(tz)
        if local.date() in self.holidays:
            return False
        clock = local.time().replace(tzinfo=None)
        return any(start <= clock < end for start, end in self.weekly.get(local.weekday(), ()))

    def next_open(self, moment: datetime, tz: tzinfo) -> datetime | None:
        """The first moment at or after ``moment`` that is in working hours (None: never)."""
        local = moment.astimezone(tz)
        for offset in range(0, 370):
            day = (local + timedelta(days=offset)).date()
            if day in self.holidays:
                continue
            for start, end in sorted(self.weekly.get(day.weekday(), ())):
                opening = datetime.combine(day, start, tzinfo=tz)
                closing = datetime.combine(day, end, tzinfo=tz)
                if closing > local:
                    return max(opening, local)
        return None
