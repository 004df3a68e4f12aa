"""RequestBudget: sliding-window quota and slow-down on low remaining, with a fake clock."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from connectors.ratelimit import RequestBudget


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def budget_with(fake: FakeTime, max_per_minute: int) -> RequestBudget:
    return RequestBudget(max_per_minute, clock=fake.clock, sleep=fake.sleep)


def assert_window_respected(stamps: list[float], limit: int) -> None:
    # Any limit+1 consecutive requests must span at least 60 s.
    for first, later in zip(stamps, stamps[limit:], strict=False):
        assert later - first >= 60.0, (first, later)


async def test_burst_of_300_never_exceeds_quota_in_any_window() -> None:
    fake = FakeTime()
    budget = budget_with(fake, 120)
    stamps: list[float] = []
    for _ in range(300):
        await budget.acquire()
        stamps.append(fake.now)
        assert budget.requests_in_window() <= 120
    assert_window_respected(stamps, 120)
    assert budget.total_requests == 300
    # 300 requests at 120/min need at least two full windows of waiting.
    assert stamps[-1] - stamps[0] >= 120.0


async def test_concurrent_burst_never_exceeds_quota() -> None:
    fake = FakeTime()
    budget = budget_with(fake, 50)
    stamps: list[float] = []

    async def one() -> None:
        await budget.acquire()
        stamps.append(fake.now)

    await asyncio.gather(*(one() for _ in range(300)))
    assert len(stamps) == 300
    assert_window_respected(sorted(stamps), 50)


async def test_requests_below_quota_do_not_wait() -> None:
    fake = FakeTime()
    budget = budget_with(fake, 10)
    for _ in range(10):
        await budget.acquire()
    assert fake.sleeps == []
    assert budget.requests_in_window() == 10
    fake.now += 61
    assert budget.requests_in_window() == 0


async def test_low_remaining_spreads_the_rest_of_the_minute() -> None:
    fake = FakeTime()
    budget = budget_with(fake, 200)
    await budget.acquire()
    budget.observe_remaining(5, 300)  # 5 left, far below 10 % of 300
    assert budget.spacing == pytest.approx(12.0)
    stamps = []
    for _ in range(5):
        await budget.acquire()
        stamps.append(fake.now)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(gap >= 12.0 for gap in gaps)
    # At most 5 requests within the next 60 s after the warning.
    assert sum(1 for stamp in stamps if stamp < 1000.0 + 60.0) <= 5


async def test_zero_remaining_waits_a_full_minute() -> None:
    fake = FakeTime()
    budget = budget_with(fake, 200)
    await budget.acquire()
    budget.observe_remaining(0, 300)
    await budget.acquire()
    assert fake.now - 1000.0 >= 60.0


async def test_plenty_remaining_switches_slow_down_off() -> None:
    fake = FakeTime()
    budget = budget_with(fake, 200)
    budget.observe_remaining(3, None)
    assert budget.spacing > 0
    budget.observe_remaining(250, 300)
    assert budget.spacing == 0.0
    for _ in range(20):
        await budget.acquire()
    assert fake.sleeps == []


@pytest.mark.parametrize(
    ("remaining", "limit", "slowed"),
    [(9, None, True), (10, None, False), (29, 300, True), (30, 300, False), (9, 50, True)],
)
def test_low_threshold_is_ten_or_ten_percent(
    remaining: int, limit: int | None, slowed: bool
) -> None:
    budget = RequestBudget(100)
    budget.observe_remaining(remaining, limit)
    assert (budget.spacing > 0) is slowed


async def test_server_quota_below_ours_is_respected() -> None:
    fake = FakeTime()
    budget = budget_with(fake, 200)
    budget.observe_remaining(None, 20)
    assert budget.max_per_minute == 20
    stamps = []
    for _ in range(60):
        await budget.acquire()
        stamps.append(fake.now)
    assert_window_respected(stamps, 20)


def test_rejects_non_positive_quota() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RequestBudget(0)
