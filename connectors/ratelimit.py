"""A client-side request budget that keeps a connector under a per-minute quota.

Some helpdesks lock the whole portal out for a long time when their quota is
crossed (HelpDeskEddy: 20 minutes to 48 hours), so the budget waits rather
than ever sending a request that could exceed it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from connectors.budgets import SharedBudgets

WINDOW_SECONDS = 60.0
#: Below this many remaining requests (or 10 % of the server's quota) we slow down.
LOW_REMAINING_FLOOR = 10
LOW_REMAINING_FRACTION = 0.1
# A floor on every wait: with an injected clock, float rounding could otherwise
# leave a wait of 1e-15 s that never advances the clock.
_MIN_SLEEP = 0.001


class RequestBudget:
    """At most ``max_per_minute`` requests in any sliding 60-second window.

    Call :meth:`acquire` before every request (retries included) and feed the
    server's rate-limit headers to :meth:`observe_remaining` after it. Waiters
    are served in arrival order. ``clock`` and ``sleep`` are injectable so the
    budget is deterministic under test.
    """

    def __init__(
        self,
        max_per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_per_minute < 1:
            raise ValueError(f"max_per_minute must be at least 1, got {max_per_minute}")
        self._max = max_per_minute
        self._server_limit: int | None = None
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._spacing = 0.0
        # Created lazily: an asyncio.Lock made outside a running loop is fine on
        # 3.10+, but building nothing up front keeps construction side-effect free.
        self._lock: asyncio.Lock | None = None
        self.total_requests = 0
        self.total_waited = 0.0

    @property
    def max_per_minute(self) -> int:
        """The effective quota: ours, or the server's if it announced a lower one."""
        if self._server_limit is None:
            return self._max
        return min(self._max, self._server_limit)

    @property
    def spacing(self) -> float:
        """Minimum seconds between requests while the server says few are left (0 = off)."""
        return self._spacing

    def left(self) -> float:
        """How many more requests fit in the budget right now."""
        return float(max(self.max_per_minute - self.requests_in_window(), 0))

    def requests_in_window(self) -> int:
        """How many requests were let through in the last 60 seconds."""
        self._expire(self._clock())
        return len(self._stamps)

    async def acquire(self) -> None:
        """Wait until one more request fits in the budget, then count it."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    self._stamps.append(now)
                    self.total_requests += 1
                    return
                delay = max(wait, _MIN_SLEEP)
                self.total_waited += delay
                await self._sleep(delay)

    def observe_remaining(self, remaining: int | None, limit: int | None) -> None:
        """Take the server's ``X-Rate-Limit-Remaining`` / ``X-Rate-Limit`` into account.

        When few requests are left, the next ones are spread so that at most
        ``remaining`` are sent in the next 60 seconds — whenever the server's
        minute started, this cannot exceed it. Plenty left switches that off.
        """
        if limit is not None and limit > 0:
            self._server_limit = limit
        if remaining is None:
            return
        threshold = float(LOW_REMAINING_FLOOR)
        if limit is not None and limit > 0:
            threshold = max(threshold, limit * LOW_REMAINING_FRACTION)
        if remaining >= threshold:
            self._spacing = 0.0
            return
        self._spacing = WINDOW_SECONDS / max(remaining, 1)

    def _wait_needed(self, now: float) -> float:
        self._expire(now)
        wait = 0.0
        if len(self._stamps) >= self.max_per_minute:
            # The oldest counted request must leave the window before another fits.
            oldest = self._stamps[len(self._stamps) - self.max_per_minute]
            wait = oldest + WINDOW_SECONDS - now
        if self._spacing > 0 and self._stamps:
            wait = max(wait, self._stamps[-1] + self._spacing - now)
        return wait

    def _expire(self, now: float) -> None:
        while self._stamps and self._stamps[0] <= now - WINDOW_SECONDS:
            self._stamps.popleft()


def shared_budget(
    budgets: SharedBudgets | None, key: str, max_per_minute: int
) -> RequestBudget | None:
    """The budget under ``key`` in ``budgets`` (made on first use); None without them.

    Kept there, the composition root can read what is left of it (metrics).
    """
    if budgets is None:
        return None
    return budgets.get(key, RequestBudget, lambda: RequestBudget(max_per_minute))
