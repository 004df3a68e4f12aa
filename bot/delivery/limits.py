"""Telegram's send limits, as the outbox sender keeps to them.

Counted per call that posts, edits or deletes a message:

* one chat: at most one call per ``per_chat_interval`` seconds (about 1/s);
* a group (negative chat id): at most ``group_per_minute`` calls in any 60 s;
* all chats together: at most ``global_per_second`` calls in any second.

A ``margin`` is added to every wait because the request reaches Telegram a
little after we decide to send it; without it jitter turns into 429s.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from dispatch.digests.pace import ChatPace


class TelegramRateLimiter:
    """Decides whether a call to a chat may go now, and records it when it does."""

    def __init__(
        self,
        *,
        per_chat_interval: float = 1.0,
        group_per_minute: int = 20,
        global_per_second: int = 30,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_chat = per_chat_interval
        self._group_limit = group_per_minute
        self._global_limit = global_per_second
        self._margin = margin
        self._clock = clock
        self._chat_next: dict[int, float] = {}
        self._group_sent: dict[int, deque[float]] = {}
        self._global_sent: deque[float] = deque()
        self._last: dict[int, float] = {}

    def pace(self) -> ChatPace:
        """How fast these limits let calls go to one chat (burst digests estimate with it)."""
        return ChatPace(per_call=self._per_chat + self._margin, group_per_minute=self._group_limit)

    def wait_time(self, chat_id: int) -> float:
        """Seconds until a call to ``chat_id`` is allowed (0 when it is allowed now)."""
        now = self._clock()
        wait = self._chat_next.get(chat_id, 0.0) - now
        if chat_id < 0:
            sent = self._group_sent.get(chat_id)
            if sent is not None and len(sent) >= self._group_limit:
                wait = max(wait, sent[-self._group_limit] + 60.0 + self._margin - now)
        if len(self._global_sent) >= self._global_limit:
            wait = max(wait, self._global_sent[-self._global_limit] + 1.0 + self._margin - now)
        return max(wait, 0.0)

    def try_acquire(self, chat_id: int) -> float:
        """Record a call if allowed now and return 0; otherwise return the wait."""
        wait = self.wait_time(chat_id)
        if wait > 0:
            return wait
        now = self._clock()
        self._last[chat_id] = now
        self._chat_next[chat_id] = now + self._per_chat + self._margin
        if chat_id < 0:
            sent = self._group_sent.setdefault(chat_id, deque())
            sent.append(now)
            while len(sent) > self._group_limit:
                sent.popleft()
        self._global_sent.append(now)
        while len(self._global_sent) > self._global_limit:
            self._global_sent.popleft()
        return 0.0

    def forget_last(self, chat_id: int) -> None:
        """Telegram refused the last call to this chat (429): it used no share of the windows."""
        stamp = self._last.pop(chat_id, None)
        if stamp is None:
            return
        for window in (self._group_sent.get(chat_id), self._global_sent):
            if window is not None and stamp in window:
                window.remove(stamp)

    def penalize(self, chat_id: int, seconds: float) -> None:
        """Telegram said ``retry_after``: hold this chat, and only this chat, that long."""
        until = self._clock() + seconds + self._margin
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), until)
