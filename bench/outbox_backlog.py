"""The cost of one sender pass, with an empty outbox and behind a backlog.

Used by ``python -m bench.outbox --backlog N``. A backlog is what an outage leaves: ``N``
messages waiting in ``HELD_CHATS`` chats (``N / HELD_CHATS`` each), all of them held by a
``not_before`` a day ahead, as rows waiting out a long retry are. A pass therefore finds the
head of every held chat, may send none of them, and claims nothing: what it costs is finding
the heads (and the blocked chats) among every undelivered row.

Measured with the real ``OutboxSender.pass_once`` (its unit of work, its queries), wall time
in this process (SQLite's thread included), median of ``PASSES`` passes after ``WARMUP``:

* an empty outbox;
* the heads alone: one held message in each of the ``HELD_CHATS`` chats;
* the backlog: ``N`` held messages in the same chats.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from bot.delivery.limits import TelegramRateLimiter
from bot.delivery.sender import DeliveryResult, OutboxSender
from storage.db import Database
from storage.models import OutboxOp, OutboxRow, OutboxStatus
from storage.types import utcnow

HELD_CHATS = 50
PASSES = 300
WARMUP = 30
BATCH = 10_000


def held_chats() -> list[int]:
    """Chats of the backlog: none of them is one the drain sends to."""
    return [3_000_000 + n for n in range(HELD_CHATS)]


class NoTransport:
    """The passes measured here must not send anything."""

    async def deliver(
        self, *, op: OutboxOp, chat_id: int, message_id: int | None, payload: dict[str, Any]
    ) -> DeliveryResult:
        raise AssertionError(f"a held message was sent to {chat_id}")


async def add_held(database: Database, count: int) -> None:
    """Queue ``count`` messages, round-robin over the held chats, all held for a day."""
    chats = held_chats()
    held_until = utcnow() + timedelta(days=1)
    rows = [
        {
            "chat_id": chats[n % len(chats)],
            "op": OutboxOp.SEND.value,
            "payload": {"text": f"held message {n}"},
            "status": OutboxStatus.PENDING.value,
            "attempts": 1,
            "not_before": held_until,
            "created_at": utcnow(),
        }
        for n in range(count)
    ]
    async with database.unit_of_work() as uow:
        for start in range(0, count, BATCH):
            await uow.session.execute(insert(OutboxRow), rows[start : start + BATCH])
        await uow.commit()


async def pass_ms(database: Database) -> float:
    """Median wall milliseconds of one pass that may send nothing."""
    sender = OutboxSender(database, NoTransport(), TelegramRateLimiter())
    timings = []
    for n in range(WARMUP + PASSES):
        started = time.perf_counter()
        await sender.pass_once()
        if n >= WARMUP:
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


@dataclass(frozen=True)
class PassCost:
    """Median milliseconds of a pass: empty outbox, heads alone, heads behind a backlog."""

    backlog: int
    empty_ms: float
    heads_ms: float
    backlog_ms: float

    @property
    def ratio(self) -> float:
        """The backlog's pass over the empty outbox's."""
        return self.backlog_ms / self.empty_ms if self.empty_ms else 0.0


async def measure(database: Database, backlog: int) -> PassCost:
    """Empty, then one held message per chat, then ``backlog`` held messages in all."""
    empty = await pass_ms(database)
    await add_held(database, HELD_CHATS)
    heads = await pass_ms(database)
    await add_held(database, max(backlog - HELD_CHATS, 0))
    behind = await pass_ms(database)
    return PassCost(backlog=backlog, empty_ms=empty, heads_ms=heads, backlog_ms=behind)
