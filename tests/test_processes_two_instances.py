"""Two real ``modest run`` processes on one PostgreSQL database.

Both take webhooks (a load balancer spreads them, a helpdesk may deliver one to both),
both send from the shared outbox and run the reminder passes; one polls Telegram under
the polling lease. When that one is killed, the other takes over polling and taps work.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from tests.support.processes import (
    run_command,
    service_env,
    write_routing,
)
from tests.support.telegram_emulator import TelegramEmulator

pytestmark = pytest.mark.postgres


async def waiting_on_locks(conn: asyncpg.Connection, database: str) -> int:
    """How many sessions of that database wait for a lock right now."""
    count = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
        database,
    )
    return int(count)


async def test_processes_started_together_migrate_one_database(
    tg: TelegramEmulator, pg_url: str, tmp_path: Path
) -> None:
    routing = write_routing(tmp_path / "routing.yaml", tg)
    env = service_env(tg, pg_url, routing)
    dsn = pg_url.replace("postgresql+asyncpg://", "postgresql://")
    database = dsn.rsplit("/", 1)[1]
    blocker, monitor = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        # Hold both at the first table they create, then let them go at the same moment:
        # what two replicas started together do on an empty database.
        held = blocker.transaction()
        await held.start()
        await blocker.execute("CREATE TABLE alembic_version (version_num varchar(32))")
        runs = [asyncio.create_task(run_command(tmp_path, env, "migrate")) for _ in range(2)]
        async with asyncio.timeout(30):
            while True:
                if await waiting_on_locks(monitor, database) == 2:
                    break
                await asyncio.sleep(0.05)
        await held.rollback()
        results = await asyncio.gather(*runs)
    finally:
        await blocker.close()
        await monitor.close()
    for code, output in results:
        assert code == 0, output[-2000:]
