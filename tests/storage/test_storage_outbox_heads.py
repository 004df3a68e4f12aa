"""The outbox heads found by index walk are the oldest live row of each chat."""

from __future__ import annotations

import random

from sqlalchemy import insert, select
from sqlmodel import col

from storage.db import Database
from storage.models import BlockedChatRow, OutboxOp, OutboxRow, OutboxStatus

STATUSES = [status.value for status in OutboxStatus]
LIVE = {OutboxStatus.PENDING.value, OutboxStatus.SENDING.value}


async def fill(database: Database, seed: int) -> None:
    """Rows of random status in random chats (private and groups), some chats blocked."""
    rng = random.Random(seed)
    chats = rng.sample([*range(-30, 0), *range(1, 30), -1_002_000_000_000, 9_000_000_000], 12)
    rows = [
        {
            "chat_id": rng.choice(chats),
            "op": OutboxOp.SEND.value,
            "payload": {"n": n},
            "status": rng.choice(STATUSES),
        }
        for n in range(rng.randint(0, 200))
    ]
    async with database.unit_of_work() as uow:
        if rows:
            await uow.session.execute(insert(OutboxRow), rows)
        for chat_id in rng.sample(chats, 3):
            uow.session.add(BlockedChatRow(chat_id=chat_id, reason="blocked"))
        await uow.commit()


async def expected(database: Database, limit: int) -> tuple[list[int], set[int]]:
    """The heads and their blocked chats, worked out here from every row."""
    async with database.unit_of_work() as uow:
        columns = select(col(OutboxRow.id), col(OutboxRow.chat_id), col(OutboxRow.status))
        rows = (await uow.session.execute(columns)).all()
        blocked_rows = await uow.session.execute(select(col(BlockedChatRow.chat_id)))
        blocked = set(blocked_rows.scalars())
    first: dict[int, int] = {}
    for row_id, chat_id, status in sorted(rows):
        if status in LIVE:
            first.setdefault(chat_id, row_id)
    heads = sorted(first.values())[:limit]
    chats = {chat for chat, row_id in first.items() if row_id in heads}
    return heads, chats & blocked


async def test_heads_are_each_chats_oldest_live_row_for_any_mix(database: Database) -> None:
    for seed in range(8):
        async with database.unit_of_work() as uow:
            await uow.session.execute(OutboxRow.__table__.delete())  # type: ignore[attr-defined]
            await uow.session.execute(BlockedChatRow.__table__.delete())  # type: ignore[attr-defined]
            await uow.commit()
        await fill(database, seed)
        for limit in (1000, 3):
            want_ids, want_blocked = await expected(database, limit)
            async with database.unit_of_work() as uow:
                heads, blocked = await uow.outbox.heads_and_blocked(limit=limit)
            assert [row.id for row in heads] == want_ids, (seed, limit)
            assert blocked == want_blocked, (seed, limit)


async def test_an_empty_outbox_has_no_heads(database: Database) -> None:
    async with database.unit_of_work() as uow:
        assert await uow.outbox.heads_and_blocked(limit=10) == ([], set())
