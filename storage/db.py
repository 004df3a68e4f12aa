"""Engine, sessions and the unit of work.

SQLite runs in WAL mode behind a single pooled connection with ``BEGIN
IMMEDIATE`` transactions: SQLite has one writer anyway, and taking the write
lock up front avoids the "database is locked" errors that deferred
transactions hit when two of them try to upgrade at once. Statements go to
aiosqlite's thread in one trip each, the BEGIN with a transaction's first statement
(``storage.sqlite_driver``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.crm_repository import CrmRepository
from storage.dev_task_repository import DevTaskRepository
from storage.errors import translate
from storage.event_repository import EventRepository
from storage.housekeeping_repository import HousekeepingRepository
from storage.job_repository import JobRepository
from storage.line_repository import LineRepository
from storage.message_repository import MessageRepository
from storage.nag_repository import NagRepository
from storage.outbox_repository import OutboxRepository
from storage.repositories import (
    DeliveryRepository,
    LeaseRepository,
    SyncStateRepository,
    TicketRepository,
)
from storage.sla_repository import SlaRepository
from storage.sqlite_driver import OneTripConnection, one_trip_dbapi
from storage.stats_repository import StatsRepository
from storage.time_repository import TimeRepository

if TYPE_CHECKING:
    from storage.portal_repository import PortalRepository


class Wakeup:
    """A level-triggered signal that a background worker has work to do."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def _get(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
        return self._event

    def set(self) -> None:
        """Wake the worker."""
        self._get().set()

    def clear(self) -> None:
        """Forget earlier wake-ups: the worker is about to look at everything committed."""
        self._get().clear()

    async def wait(self, seconds: float) -> None:
        """Wait until woken or until ``seconds`` have passed, then re-arm."""
        ev = self._get()
        # A timeout is the normal poll tick, not an error.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ev.wait(), timeout=max(seconds, 0.0))
        ev.clear()


class UnitOfWork:
    """One transaction and the repositories working inside it.

    Code outside ``storage/`` goes through the repositories, ``flush`` and
    ``commit``; ``session`` is for storage itself (and tests that inspect tables).
    """

    def __init__(self, session: AsyncSession, database: Database) -> None:
        self.session = session
        self._database = database
        self.tickets = TicketRepository(session)
        self.messages = MessageRepository(session)
        self.outbox = OutboxRepository(session)
        self.deliveries = DeliveryRepository(session)
        self.jobs = JobRepository(session)
        self.sync_state = SyncStateRepository(session)
        self.nags = NagRepository(session)
        self.leases = LeaseRepository(session)
        self.time = TimeRepository(session)
        self.events = EventRepository(session)
        self.dev_tasks = DevTaskRepository(session)
        self.housekeeping = HousekeepingRepository(session)
        self.crm = CrmRepository(session)
        self.stats = StatsRepository(session)
        self.sla = SlaRepository(session)
        self.lines = LineRepository(session)

    @functools.cached_property
    def portal(self) -> PortalRepository:
        """The client cabinet's tables: loaded on first use, so only with the cabinet on."""
        from storage.portal_repository import PortalRepository

        return PortalRepository(self.session)

    async def flush(self) -> None:
        """Write the pending changes now (ids, constraints), inside the transaction."""
        await self.events.write_queued()
        await self.session.flush()

    async def relax_durability(self) -> None:
        """This transaction's commit need not wait for its WAL to reach the disk.

        For work whose loss in a crash costs nothing but asking again (a list a user asked
        for): PostgreSQL keeps the database consistent and may lose only the last such
        commits (``synchronous_commit = off`` for this transaction alone). SQLite already
        commits so (WAL with ``synchronous=NORMAL``).
        """
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text("SET LOCAL synchronous_commit TO OFF"))

    async def commit(self) -> None:
        """Commit, then wake the workers whose queues this transaction filled."""
        await self.events.write_queued()
        await self.session.commit()
        if self.outbox.enqueued:
            self.outbox.enqueued = 0
            self._database.outbox_wakeup.set()
        if self.jobs.enqueued:
            self.jobs.enqueued = 0
            self._database.jobs_wakeup.set()

    async def rollback(self) -> None:
        """Throw away everything this unit of work did."""
        await self.session.rollback()
        self.outbox.enqueued = 0
        self.jobs.enqueued = 0


class Database:
    """Owns the engine; hands out units of work."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine: AsyncEngine = _create_engine(url, echo=echo)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.outbox_wakeup = Wakeup()
        self.jobs_wakeup = Wakeup()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """A transaction; uncommitted work is rolled back on exit.

        Closing (not ``rollback()``) ends it, so rows read inside stay usable,
        detached, after the block. A driver error raised inside the block leaves
        it as a ``storage.errors.StorageError`` (a ``ConflictError`` for a broken
        unique constraint, e.g.).
        """
        async with self._sessions() as session:
            try:
                yield UnitOfWork(session, self)
            except DBAPIError as exc:
                raise translate(exc) from exc

    async def ping(self) -> bool:
        """Whether the database answers a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _create_engine(url: str, *, echo: bool) -> AsyncEngine:
    if not url.startswith("sqlite"):
        return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10)
    one_trip = one_trip_dbapi()
    engine = create_async_engine(
        url,
        echo=echo,
        **({"module": one_trip} if one_trip is not None else {}),
        pool_size=1,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"timeout": 30},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook issue BEGIN itself (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=30000",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        adapted = conn.connection.dbapi_connection
        if isinstance(adapted, OneTripConnection):
            # Sent with the transaction's first statement: one trip to the thread less.
            adapted.defer_begin("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
