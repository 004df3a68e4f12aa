"""Reading typed durations in English and Russian."""

from __future__ import annotations

import pytest

from dispatch.durations import DurationError, parse_minutes


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90", 90),
        ("1:30", 90),
        ("1.5h", 90),
        ("1,5 ч", 90),
        ("1h 30m", 90),
        ("1ч 30м", 90),
        ("2 ч", 120),
        ("45m", 45),
        ("45 мин", 45),
        ("1 час 30 минут", 90),
        ("  1H30M ", 90),
        ("0:15", 15),
        ("24h", 1440),
        ("1 hour", 60),
    ],
)
def test_accepted_forms(text: str, minutes: int) -> None:
    assert parse_minutes(text) == minutes


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "unreadable"),
        ("abc", "unreadable"),
        ("1:75", "unreadable"),
        ("-5", "unreadable"),
        ("1.5h 30m", "unreadable"),
        ("0", "zero"),
        ("0h", "zero"),
        ("25h", "too long"),
        ("1441", "too long"),
        ("полтора часа", "unreadable"),
    ],
)
def test_refused_forms(text: str, reason: str) -> None:
    with pytest.raises(DurationError, match=reason):
        parse_minutes(text)
