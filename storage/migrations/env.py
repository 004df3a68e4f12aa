"""Alembic environment: runs on a connection handed in by ``storage.migrate``,
or, from the ``alembic`` command line, on ``DATABASE_URL``."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

# Register the tables on SQLModel.metadata.
import storage.models
import storage.portal_models  # noqa: F401

target_metadata = SQLModel.metadata


def _configure_and_run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(_configure_and_run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _configure_and_run(connection)
else:
    url = os.environ.get("DATABASE_URL") or context.config.get_main_option("sqlalchemy.url")
    asyncio.run(_run_from_url(url or "sqlite+aiosqlite:///./modest.db"))
