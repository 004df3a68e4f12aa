"""When queued calls to one chat may go, under the limits the outbox keeps to.

Telegram takes about one message a second in a chat and 20 a minute in a group
(``bot.delivery.limits.TelegramRateLimiter`` keeps to them; it hands out the
``ChatPace`` that matches its own settings). From the calls already made and the
number waiting, ``waits`` says how long each waiting call has before it may go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: The window of the per-group limit, in seconds.
GROUP_WINDOW = 60.0


@dataclass(frozen=True, slots=True)
class ChatPace:
    """How fast calls may go to one chat."""

    #: Seconds between two calls to one chat.
    per_call: float = 1.0
    #: Calls to one group in any ``GROUP_WINDOW`` seconds.
    group_per_minute: int = 20

    def waits(self, ago: Sequence[float], queued: int, *, group: bool) -> list[float]:
        """Seconds from now until each of ``queued`` calls may go, oldest first.

        ``ago``: how many seconds ago each recent call to the chat was made (0 for one
        being made now). Only the latest ``group_per_minute`` of them matter.
        """
        made = sorted(-seconds for seconds in ago)
        at = max(made[-1] + self.per_call, 0.0) if made else 0.0
        waits: list[float] = []
        for _ in range(queued):
            if group and len(made) >= self.group_per_minute:
                at = max(at, made[-self.group_per_minute] + GROUP_WINDOW)
            waits.append(at)
            made.append(at)
            at += self.per_call
        return waits
