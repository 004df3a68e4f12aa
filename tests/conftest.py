"""Shared fixtures: databases on SQLite and PostgreSQL, routing, the emulator."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import structlog
from hypothesis import settings as hypothesis_settings

import modest  # noqa: F401 - first, so aiogram is imported as the service imports it
from config.routing import RoutingConfig, load_routing_text
from storage.db import Database
from storage.migrate import upgrade
from tests.support.redmine import redmine_api, redmine_server  # noqa: F401 - shared fixtures
from tests.support.routing import ROUTING_YAML
from tests.support.rt import rt_server  # noqa: F401 - a shared fixture
from tests.support.telegram_emulator import TelegramEmulator

PG_DSN = os.environ.get("MODEST_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def pytest_configure(config: pytest.Config) -> None:
    """Property tests: bounded and repeatable; ``HYPOTHESIS_PROFILE=explore`` hunts longer."""
    hypothesis_settings.register_profile(
        "ci", max_examples=200, deadline=None, derandomize=True, database=None
    )
    hypothesis_settings.register_profile("explore", max_examples=2000, deadline=None)
    hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _default_structlog() -> Iterator[None]:
    """Undo ``configure_logging`` (CLI tests): it binds the stdout of the test that ran it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers, root.level = handlers, level


@pytest.fixture
async def tg() -> AsyncIterator[TelegramEmulator]:
    """The Telegram Bot API emulator, enforcing Telegram's limits."""
    async with TelegramEmulator() as emulator:
        yield emulator


@pytest.fixture
def routing() -> RoutingConfig:
    """The routing file most tests use (English texts, two departments)."""
    return load_routing_text(ROUTING_YAML, "routing.yaml")


def _pg_available() -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(PG_DSN, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL not reachable at {PG_DSN}: {exc!r}"
    return None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A database of its own on the local PostgreSQL for this run, dropped after."""
    reason = _pg_available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (PostgreSQL tests must run in CI)")
        pytest.skip(reason)
    name = f"modest_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _reset_pg(url: str) -> None:
    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        await conn.exec_driver_sql("CREATE SCHEMA public")
    await database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'modest.db'}"
    url: str = request.getfixturevalue("pg_server")
    asyncio.run(_reset_pg(url))
    return url


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty PostgreSQL database URL."""
    asyncio.run(_reset_pg(pg_server))
    return pg_server


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database URL (for tests that need only the default backend)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'modest.db'}"


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    """A migrated database on each backend."""
    db = Database(db_url)
    await upgrade(db)
    yield db
    await db.dispose()
