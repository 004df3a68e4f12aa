"""Column types shared by the tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    DateTime,
    Float,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC and gives them back aware.

    SQLite keeps no time zone, PostgreSQL would convert to the session zone:
    naive UTC in both keeps comparisons and indexes identical.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite may hand back text for raw SQL results
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


class EpochSeconds(FunctionElement[float]):
    """Seconds since 1970 of a UTC datetime column (SQLite keeps text, PostgreSQL timestamps)."""

    type = Float()
    inherit_cache = True


@compiles(EpochSeconds, "sqlite")
def _epoch_sqlite(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(EpochSeconds, "postgresql")
def _epoch_postgresql(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    # As a double: EXTRACT gives numeric, which arrives as a Decimal (slow to decode).
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS FLOAT8)"


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def rowcount(result: Any) -> int:
    """Rows an UPDATE/INSERT touched (SQLAlchemy types the result loosely)."""
    return int(result.rowcount)


async def claim_lease(
    session: AsyncSession,
    model: type[Any],
    *,
    row_id: int,
    now: datetime,
    lease_until: datetime,
    pending: str,
    working: str,
) -> bool:
    """Move a row from ``pending`` (or ``working`` with a lapsed lease) to ``working``.

    A compare-and-set: of several workers claiming the same row, one succeeds.
    """
    stmt = lease_claim(
        model, row_id=row_id, now=now, lease_until=lease_until, pending=pending, working=working
    )
    return rowcount(await session.execute(stmt)) == 1


def lease_claim(
    model: type[Any],
    *,
    row_id: int,
    now: datetime,
    lease_until: datetime,
    pending: str,
    working: str,
) -> Any:
    """The UPDATE behind ``claim_lease``, for callers that add a RETURNING clause."""
    return (
        update(model)
        .where(
            model.id == row_id,
            or_(
                model.status == pending,
                and_(model.status == working, model.locked_until < now),
            ),
        )
        .values(status=working, locked_until=lease_until)
        .execution_options(synchronize_session=False)
    )


def id_in(session: AsyncSession, column: Any, ids: Sequence[int]) -> Any:
    """``column IN ids``, as one parameter: an array on PostgreSQL, JSON text on SQLite.

    asyncpg prepares every statement, and a list of 5,000 parameters is a new
    statement (and plan) for every length; ``= ANY($1)`` is one, whatever the count.
    On SQLite, binding 5,000 parameters costs SQLAlchemy more than the query costs
    SQLite: ``IN (SELECT value FROM json_each(?))`` binds one.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=ARRAY(Integer)))
    listed = json.dumps([int(value) for value in ids])
    each = func.json_each(bindparam(None, listed, type_=String)).table_valued("value")
    return column.in_(select(each.c.value))
