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


async def _count_trips(database: Database, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the functions sent to aiosqlite's thread from now on (one pooled connection)."""
    async with database.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
    trips: list[str] = []
    real = raw._execute

    async def counted(function: Any, *args: Any) -> Any:
        trips.append(function.__name__)
        return await real(function, *args)

    monkeypatch.setattr(raw, "_execute", counted)
    return trips


async def test_a_transaction_costs_a_trip_per_statement_and_one_for_its_commit(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(sqlite_url)
    try:
        async with database.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
        trips = await _count_trips(database, monkeypatch)
        async with database.unit_of_work() as uow:
            await uow.session.execute(text("INSERT INTO t (v) VALUES ('a')"))
            await uow.session.execute(text("INSERT INTO t (v) VALUES ('b')"))
            await uow.commit()
        # BEGIN IMMEDIATE goes with the first statement; the pool's reset after the
        # commit finds no transaction open and costs nothing.
        assert trips == ["_begin_then", "_execute", "commit"]
        trips.clear()
        async with database.unit_of_work() as uow:
            await uow.commit()
        async with database.unit_of_work():
            pass
        assert trips == []  # a transaction that ran no statement ends without a trip
    finally:
        await database.dispose()


async def _insert_then_break_unique(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.execute(text("INSERT INTO t (v) VALUES ('c')"))
        await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))


async def test_deferred_begin_keeps_rollback_and_streaming_as_they_were(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(sqlite_url)
    try:
        async with database.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
            await conn.execute(text("INSERT INTO t (v) VALUES ('a')"))
        async with database.unit_of_work() as uow:
            await uow.session.execute(text("INSERT INTO t (v) VALUES ('b')"))
            await uow.rollback()
        with pytest.raises(IntegrityError):
            await _insert_then_break_unique(database)
        async with database.engine.begin() as conn:
            # A streamed read as the transaction's first statement: BEGIN goes first.
            streamed = await conn.stream(text("SELECT v FROM t ORDER BY id"))
            assert [row[0] async for row in streamed] == ["a"]
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw._conn.in_transaction
    finally:
        await database.dispose()
