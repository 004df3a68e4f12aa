"""SQLite through aiosqlite with one trip to its thread per statement."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.sqlite_driver import OneTripDBAPI


async def test_statements_behave_as_with_the_stock_adapter(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(sqlite_url)
    try:
        assert isinstance(database.engine.dialect.dbapi, OneTripDBAPI)
        async with database.engine.begin() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            trips: list[Any] = []
            real = raw._execute

            async def counted(function: Any, *args: Any) -> Any:
                trips.append(function)
                return await real(function, *args)

            monkeypatch.setattr(raw, "_execute", counted)
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
            await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "a"}, {"v": "b"}])
            returned = await conn.execute(text("INSERT INTO t (v) VALUES ('c') RETURNING id"))
            assert returned.scalar_one() == 3
            updated = await conn.execute(text("UPDATE t SET v = v || '!' WHERE id < 3"))
            assert updated.rowcount == 2
            rows = (await conn.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all()
            assert rows == ["a!", "b!", "c"]
            assert len(trips) == 5  # one trip per statement, executemany included
            streamed = await conn.stream(text("SELECT id FROM t ORDER BY id"))
            assert [row[0] async for row in streamed] == [1, 2, 3]
            with pytest.raises(IntegrityError):
                await conn.execute(text("INSERT INTO t (v) VALUES ('c')"))
    finally:
        await database.dispose()
