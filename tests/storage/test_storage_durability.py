"""A unit of work may commit without waiting for the disk: that transaction alone."""

from __future__ import annotations

from sqlalchemy import text

from storage.db import Database


async def synchronous_commit(database: Database, *, relaxed: bool) -> str | None:
    """PostgreSQL's ``synchronous_commit`` inside a transaction; None on SQLite."""
    async with database.unit_of_work() as uow:
        if relaxed:
            await uow.relax_durability()
        if uow.session.get_bind().dialect.name != "postgresql":
            await uow.commit()
            return None
        value = (await uow.session.execute(text("SHOW synchronous_commit"))).scalar_one()
        await uow.commit()
        return str(value)


async def test_relaxed_durability_holds_for_its_transaction_only(database: Database) -> None:
    relaxed = await synchronous_commit(database, relaxed=True)
    after = await synchronous_commit(database, relaxed=False)
    if database.engine.dialect.name == "postgresql":
        assert (relaxed, after) == ("off", "on")
    else:  # SQLite: WAL with synchronous=NORMAL already commits without a sync
        assert (relaxed, after) == (None, None)


async def test_a_relaxed_commit_is_committed(database: Database) -> None:
    async with database.unit_of_work() as uow:
        uow.outbox.enqueue_plain(chat_id=5, payload={"text": "the list"})
        await uow.relax_durability()
        await uow.commit()
    async with database.unit_of_work() as uow:
        assert await uow.outbox.backlog() == 1
