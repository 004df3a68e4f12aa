"""Periodic jobs run by APScheduler inside ``modest run``.

The jobs keep no state of their own: everything they act on is in the
database, so a restart or a second instance changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from storage.db import Database
from storage.types import utcnow

log = structlog.get_logger(__name__)

#: HelpDeskEddy retries for 24 h; keeping keys a week covers that with room to spare.
DELIVERY_RETENTION = timedelta(days=7)
#: Delivered messages and finished jobs are kept a while for diagnosis.
HISTORY_RETENTION = timedelta(days=14)


async def prune(database: Database) -> dict[str, int]:
    """Delete old delivery keys, delivered outbox rows and finished jobs."""
    now = utcnow()
    async with database.unit_of_work() as uow:
        counts = {
            "deliveries": await uow.housekeeping.delete_deliveries_before(
                now - DELIVERY_RETENTION
            ),
            "outbox": await uow.housekeeping.delete_delivered_outbox_before(
                now - HISTORY_RETENTION
            ),
            "jobs": await uow.housekeeping.delete_done_jobs_before(now - HISTORY_RETENTION),
        }
        await uow.commit()
    log.info("housekeeping.pruned", **counts)
    return counts


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    """A job run every ``every``; ``run`` takes no arguments."""

    id: str
    run: Callable[[], Awaitable[object]]
    every: timedelta


class PassObserver(Protocol):
    """Told how long each pass of a periodic job took (metrics).

    The scheduler reports every periodic job by its id (``reminders.pass``...); a pass
    run some other way may call it too, under a name of its own.
    """

    def pass_finished(self, name: str, seconds: float, *, failed: bool) -> None:
        """One pass of ``name`` ended after ``seconds`` (``failed``: it raised)."""


def timed(job: PeriodicJob, observer: PassObserver) -> Callable[[], Awaitable[object]]:
    """``job.run``, reporting each pass's duration to ``observer``."""

    async def run() -> object:
        started = time.perf_counter()
        failed = True
        try:
            result = await job.run()
            failed = False
            return result
        finally:
            observer.pass_finished(job.id, time.perf_counter() - started, failed=failed)

    return run


def build_scheduler(
    database: Database,
    jobs: Sequence[PeriodicJob] = (),
    *,
    observer: PassObserver | None = None,
) -> AsyncIOScheduler:
    """The scheduler with Modest's periodic jobs (fixed ids: re-adding replaces).

    ``max_instances=1`` and ``coalesce``: a slow pass is never run twice at once,
    and passes missed while the process was busy collapse into one. ``observer``
    is told how long each pass took.
    """
    scheduler = AsyncIOScheduler(timezone="UTC")
    prune_job = PeriodicJob("housekeeping.prune", lambda: prune(database), timedelta(hours=1))
    for job in [prune_job, *jobs]:
        scheduler.add_job(
            timed(job, observer) if observer is not None else job.run,
            "interval",
            seconds=job.every.total_seconds(),
            id=job.id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )
    return scheduler
