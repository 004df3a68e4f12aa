"""Applies the Alembic migrations in ``storage/migrations`` to a database.

Alembic (with Mako and Pygments behind it) is imported only when a migration has to run:
a service started on a database already at ``HEAD_REVISION`` never loads it, which keeps
about 8 MiB out of every long-running process.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text

from storage.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

#: The newest revision in ``storage/migrations/versions`` (a test checks that it is).
HEAD_REVISION = "0012"

#: The PostgreSQL advisory lock that lets one instance at a time migrate ("modest" in ASCII).
_MIGRATION_LOCK = 0x6D6F64657374


def alembic_config(url: str) -> Config:
    """An Alembic config for Modest's migrations and this database URL."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None before the first migration."""

    def _read(connection: Any) -> str | None:
        if not inspect(connection).has_table("alembic_version"):
            return None
        row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
        return None if row is None else str(row[0])

    async with database.engine.connect() as conn:
        return await conn.run_sync(_read)


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (idempotent)."""
    if revision == "head" and await current_revision(database) == HEAD_REVISION:
        return
    from alembic import command

    config = alembic_config(database.url)

    def _run(connection: Any) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with database.engine.begin() as conn:
        if not database.is_sqlite:
            # Instances started together would each create the tables and all but one
            # fail; behind the lock the others find the schema current. (SQLite's
            # BEGIN IMMEDIATE already lets one writer in at a time.)
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
            )
        await conn.run_sync(_run)
