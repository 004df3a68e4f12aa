"""Reading typed durations: ``90``, ``1:30``, ``1.5h``, ``1h 30m``, ``1ч 30м``, ``2 ч``."""

from __future__ import annotations

import re

MAX_MINUTES = 24 * 60

_HOURS = r"(?:h|hr|hrs|hour|hours|ч|час|часа|часов)"
_MINUTES = r"(?:m|min|mins|minute|minutes|м|мин|минут|минута|минуты)"
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_FORMS = (
    re.compile(rf"^{_NUMBER}$"),  # bare number: minutes
    re.compile(r"^(\d{1,2}):(\d{2})$"),  # h:mm
    re.compile(rf"^{_NUMBER}\s*{_HOURS}\.?(?:\s*(\d+)\s*{_MINUTES}\.?)?$"),  # 1.5h, 1h 30m
    re.compile(rf"^(\d+)\s*{_MINUTES}\.?$"),  # 45m
)


class DurationError(ValueError):
    """The text is not a duration Modest accepts; the message says why."""


def parse_minutes(text: str) -> int:
    """Minutes in ``text``; DurationError when it is unreadable, zero or over 24 h."""
    value = " ".join(text.strip().lower().split())
    minutes = _read(value)
    if minutes is None:
        raise DurationError("unreadable")
    if minutes <= 0:
        raise DurationError("zero")
    if minutes > MAX_MINUTES:
        raise DurationError("too long")
    return minutes


def _read(value: str) -> int | None:
    bare, clock, hours, only_minutes = (form.match(value) for form in _FORMS)
    if bare:
        return _rounded(float(bare.group(1).replace(",", ".")))
    if clock:
        if int(clock.group(2)) > 59:
            return None
        return int(clock.group(1)) * 60 + int(clock.group(2))
    if hours:
        total = float(hours.group(1).replace(",", ".")) * 60
        if hours.group(2):
            if "." in hours.group(1) or "," in hours.group(1) or int(hours.group(2)) > 59:
                return None  # "1.5h 30m" is ambiguous
            total += int(hours.group(2))
        return _rounded(total)
    if only_minutes:
        return int(only_minutes.group(1))
    return None


def _rounded(minutes: float) -> int:
    # A number of hundreds of digits is a float of inf, which int() refuses: cap it.
    return int(minutes + 0.5) if minutes <= MAX_MINUTES else MAX_MINUTES + 1


def format_minutes(minutes: int) -> str:
    """``1:30`` style, language-neutral."""
    hours, rest = divmod(minutes, 60)
    return f"{hours}:{rest:02d}"
