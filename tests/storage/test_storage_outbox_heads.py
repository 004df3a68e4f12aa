"""The outbox heads found by index walk: each chat's oldest live row that may go now, and
of the held ones (a retry time ahead, a live lease) only the one of each kind free first."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlmodel import col

from storage.db import Database
from storage.models import BlockedChatRow, OutboxOp, OutboxRow, OutboxStatus
from storage.types import utcnow

STATUSES = [status.value for status in OutboxStatus]
PENDING, SENDING = OutboxStatus.PENDING.value, OutboxStatus.SENDING.value
NOW = utcnow()


def moment(rng: random.Random) -> datetime:
    """Some time within an hour of ``NOW``, either side, to the microsecond (no ties)."""
    return NOW + timedelta(microseconds=rng.randint(-3_600_000_000, 3_600_000_000))


async def clear(database: Database) -> None:
    """No outbox rows, no blocked chats."""
    async with database.unit_of_work() as uow:
        await uow.session.execute(OutboxRow.__table__.delete())  # type: ignore[attr-defined]
        await uow.session.execute(BlockedChatRow.__table__.delete())  # type: ignore[attr-defined]
        await uow.commit()


async def fill(database: Database, seed: int) -> None:
    """Rows of random status and times in random chats (private and groups), some blocked."""
    rng = random.Random(seed)
    chats = rng.sample([*range(-30, 0), *range(1, 30), -1_002_000_000_000, 9_000_000_000], 12)
    rows = []
    for n in range(rng.randint(0, 200)):
        status = rng.choice(STATUSES)
        leased = status == SENDING and rng.random() < 0.8
        rows.append(
            {
                "chat_id": rng.choice(chats),
                "op": OutboxOp.SEND.value,
                "payload": {"n": n},
                "status": status,
                "not_before": moment(rng) if rng.random() < 0.5 else NOW - timedelta(days=1),
                "locked_until": moment(rng) if leased else None,
            }
        )
    async with database.unit_of_work() as uow:
        if rows:
            await uow.session.execute(insert(OutboxRow), rows)
        for chat_id in rng.sample(chats, 3):
            uow.session.add(BlockedChatRow(chat_id=chat_id, reason="blocked"))
        await uow.commit()


async def expected(database: Database, limit: int) -> tuple[list[int], set[int], int]:
    """The heads and their blocked chats, worked out here from every row, and how many
    held heads are left out."""
    async with database.unit_of_work() as uow:
        rows = (await uow.session.execute(select(OutboxRow))).scalars().all()
        blocked_rows = await uow.session.execute(select(col(BlockedChatRow.chat_id)))
        blocked = set(blocked_rows.scalars())
    first: dict[int, OutboxRow] = {}
    for row in sorted(rows, key=lambda row: row.id or 0):
        if row.status in (PENDING, SENDING):
            first.setdefault(row.chat_id, row)
    due, held = [], []
    for head in first.values():
        leased = head.status == SENDING and head.locked_until and head.locked_until > NOW
        free_at = head.locked_until if leased else head.not_before
        assert free_at is not None
        (due if free_at <= NOW else held).append((free_at, head))
    picked = [head for _, head in due]
    for status in (PENDING, SENDING):
        waiting = sorted((at, head.id or 0, head) for at, head in held if head.status == status)
        picked += [waiting[0][2]] if waiting else []
    heads = sorted(head.id or 0 for head in picked)[:limit]
    chats = {head.chat_id for head in picked if head.id in heads}
    return heads, chats & blocked, len(first) - len(picked)


async def test_heads_are_the_oldest_live_rows_that_may_go_and_the_first_held(
    database: Database,
) -> None:
    left_out = 0
    for seed in range(12):
        await clear(database)
        await fill(database, seed)
        for limit in (1000, 3):
            want_ids, want_blocked, unread = await expected(database, limit)
            left_out += unread
            async with database.unit_of_work() as uow:
                heads, blocked = await uow.outbox.heads_and_blocked(limit=limit, now=NOW)
            assert [row.id for row in heads] == want_ids, (seed, limit)
            assert blocked == want_blocked, (seed, limit)
    assert left_out > 0, "no held head was left out: the data does not test it"


async def test_an_empty_outbox_has_no_heads(database: Database) -> None:
    async with database.unit_of_work() as uow:
        assert await uow.outbox.heads_and_blocked(limit=10) == ([], set())


async def test_nothing_may_go_before_the_first_due_time(database: Database) -> None:
    """``first_due`` never says "later" while a head may go, nor a time after a held head
    becomes free: a pass that trusts it neither misses a row nor oversleeps."""
    saw_held_only = saw_due = 0
    for seed in range(40):
        await clear(database)
        await fill(database, seed)
        if seed % 2:  # every row held: a backlog waiting out its backoffs
            await hold_everything(database, seed)
        async with database.unit_of_work() as uow:
            rows = (await uow.session.execute(select(OutboxRow))).scalars().all()
            due_at = await uow.outbox.first_due(now=NOW)
            heads, _ = await uow.outbox.heads_and_blocked(limit=1000, now=NOW)
        live = [row for row in rows if row.status in (PENDING, SENDING)]
        assert (due_at is None) == (not live), seed
        if due_at is None:
            continue
        free = [row for row in heads if _free_at(row) <= NOW]
        if free:
            saw_due += 1
            assert due_at <= NOW, seed
        else:
            saw_held_only += due_at > NOW
        assert due_at <= min(_free_at(row) for row in heads), seed
    assert saw_due, "the data does not test a head that may go"
    assert saw_held_only, "the data does not test held heads alone"


async def hold_everything(database: Database, seed: int) -> None:
    rng = random.Random(seed)
    async with database.unit_of_work() as uow:
        for row in (await uow.session.execute(select(OutboxRow))).scalars():
            row.not_before = NOW + timedelta(seconds=rng.randint(1, 3600))
            if row.status == SENDING and row.locked_until is not None:
                row.locked_until = NOW + timedelta(seconds=rng.randint(1, 3600))
        await uow.commit()


def _free_at(row: OutboxRow) -> datetime:
    leased = row.status == SENDING and row.locked_until and row.locked_until > NOW
    moment = row.locked_until if leased else row.not_before
    assert moment is not None
    return moment
