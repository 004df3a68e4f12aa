"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import storage.models  # noqa: F401 - registers the tables
from storage.db import Database
from storage.migrate import HEAD_REVISION, alembic_config, current_revision, upgrade


async def test_migrated_schema_matches_the_models(database: Database) -> None:
    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))

    async with database.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []


def test_head_revision_constant_is_the_newest_migration() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.get_current_head() == HEAD_REVISION


async def test_upgrade_is_a_no_op_at_head_and_leaves_alembic_unloaded(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    await upgrade(database)
    assert await current_revision(database) == HEAD_REVISION
    await database.dispose()
    # A fresh interpreter, as a restarted service: the schema is current, so the upgrade
    # returns before Alembic is imported.
    probe = (
        "import asyncio, sys\n"
        "from storage.db import Database\n"
        "from storage.migrate import upgrade\n"
        f"db = Database({sqlite_url!r})\n"
        "asyncio.run(upgrade(db))\n"
        "asyncio.run(db.dispose())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0
    assert stdout.decode().strip() == "[]"
