"""The cost of one sender pass, with an empty outbox and behind a backlog.

Used by ``python -m bench.outbox --backlog N``. A backlog is what an outage leaves: ``N``
messages waiting in ``HELD_CHATS`` chats (``N / HELD_CHATS`` each), all of them held by a
``not_before`` a day ahead, as rows waiting out a long retry are. A pass therefore finds
the head of every held chat, may send none of them, and claims nothing: what it costs is
finding the heads (and the blocked chats) among every undelivered row.

Measured with the real ``OutboxSender.pass_once`` (its unit of work, its queries) on three
databases side by side, so that a busy moment of the machine falls on all three alike:

* an empty outbox;
* the heads alone: one held message in each of the ``HELD_CHATS`` chats;
* the backlog: ``N`` held messages in the same chats.

The passes go round-robin, ``BLOCK`` on each database in turn, ``ROUNDS`` times after a
warm-up; reported is the median of the wall time and of this process's CPU time (SQLite's
thread included; PostgreSQL's own work is only in the wall time; PostgreSQL gets a ``VACUUM
ANALYZE`` after the inserts, what autovacuum does within a minute of them). What exists
before the passes is frozen out of the garbage collector's reach, as the service does once
started.
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text

from bot.delivery.limits import TelegramRateLimiter
from bot.delivery.sender import DeliveryResult, OutboxSender
from storage.db import Database
from storage.models import OutboxOp, OutboxRow, OutboxStatus
from storage.types import utcnow

HELD_CHATS = 50
BLOCK = 10
ROUNDS = 40
WARMUP_ROUNDS = 3
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
    if not database.is_sqlite:  # what autovacuum does within a minute of such a load
        async with database.engine.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(
                text("VACUUM ANALYZE outbox")
            )


@dataclass
class Timings:
    """Milliseconds of each pass on one database."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    async def passes(self, sender: OutboxSender, count: int, *, keep: bool) -> None:
        """Run ``count`` passes that may send nothing, timing each."""
        for _ in range(count):
            wall, cpu = time.perf_counter(), time.process_time()
            await sender.pass_once()
            if keep:
                self.cpu.append((time.process_time() - cpu) * 1000)
                self.wall.append((time.perf_counter() - wall) * 1000)

    def median(self) -> tuple[float, float]:
        """Median wall and CPU milliseconds."""
        return statistics.median(self.wall), statistics.median(self.cpu)


@dataclass(frozen=True)
class PassCost:
    """Median (wall, CPU) milliseconds of a pass: empty, heads alone, heads behind a backlog."""

    backlog: int
    empty: tuple[float, float]
    heads: tuple[float, float]
    behind: tuple[float, float]

    def ratio(self, index: int) -> float:
        """The backlog's pass over the empty outbox's (0: wall, 1: CPU)."""
        return self.behind[index] / self.empty[index] if self.empty[index] else 0.0


async def measure(empty: Database, heads: Database, behind: Database, backlog: int) -> PassCost:
    """Fill the heads and the backlog databases, then time passes on all three in turn."""
    await add_held(heads, HELD_CHATS)
    await add_held(behind, backlog)
    databases = (empty, heads, behind)
    senders = [OutboxSender(db, NoTransport(), TelegramRateLimiter()) for db in databases]
    timings = [Timings() for _ in databases]
    gc.freeze()  # as ``modest run`` does once started (``modest.app``)
    try:
        for round_ in range(WARMUP_ROUNDS + ROUNDS):
            for sender, timing in zip(senders, timings, strict=True):
                await timing.passes(sender, BLOCK, keep=round_ >= WARMUP_ROUNDS)
    finally:
        gc.unfreeze()
    medians = [timing.median() for timing in timings]
    return PassCost(backlog=backlog, empty=medians[0], heads=medians[1], behind=medians[2])
