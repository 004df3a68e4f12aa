"""Whether a database can be used, said in one line an operator can act on."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from storage.db import Database


async def unusable(database: Database) -> str | None:
    """Why ``database`` cannot be used (one line, never the URL); None when it answers."""
    try:
        await database.ping()
    except Exception as exc:
        problem = _problem(database, exc)
        if problem is None:
            raise
        return problem
    return None


def _problem(database: Database, exc: Exception) -> str | None:
    if not database.is_sqlite:
        # Only for PostgreSQL: a service on SQLite never loads asyncpg (~2 MiB).
        import asyncpg

        if isinstance(exc, asyncpg.InvalidCatalogNameError):
            name = make_url(database.url).database
            return f"{exc}; create it first (createdb {name})"
        if isinstance(exc, asyncpg.PostgresError):
            return str(exc).splitlines()[0]
    if isinstance(exc, OSError):
        return f"cannot connect: {exc.strerror or exc}"
    if isinstance(exc, DBAPIError):
        reason = str(exc.orig or exc).splitlines()[0]
        if database.is_sqlite:
            return f"{reason}; does {_sqlite_directory(database.url)} exist and is it writable?"
        return reason
    return None


def _sqlite_directory(url: str) -> str:
    path = make_url(url).database or ""
    return str(Path(path).parent) if path else "its directory"
