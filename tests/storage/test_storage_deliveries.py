"""Webhook deliveries remembered once, with a statement compiled once per process."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from storage.db import Database


async def test_a_delivery_is_new_once_and_its_statement_is_served_from_the_cache(
    database: Database,
) -> None:
    stats: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, _p: Any, context: Any, _m: Any) -> None:
        if statement.startswith("INSERT INTO webhook_delivery"):
            stats.append(context._get_cache_stats())

    event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
    outcomes = []
    for key in ("a", "a", "b"):
        async with database.unit_of_work() as uow:
            outcomes.append(await uow.deliveries.remember(source="generic", delivery_key=key))
            await uow.commit()
    assert outcomes == [True, False, True]
    # The dialects' ON CONFLICT construct has no cache key: it was compiled every time.
    assert [s.split(" ")[0] for s in stats] == ["generated", "cached", "cached"], stats
