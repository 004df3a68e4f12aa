"""The job runner: background work that calls a helpdesk after commit.

The job table and its queries are ``storage.job_repository``; this is the worker
that runs them. A handler either returns (done), raises ``RetryJob`` (try again
later, up to its kind's ``max_attempts``), or raises anything else (failed for
good). When a job fails for good, the kind's ``on_failure`` hook records it in
the domain (for a write-back: the card shows the failure and a retry button).

A claimed job is leased; while its handler runs, the runner renews the lease every
third of its length, so a slow job is not taken over by another instance. Only a
runner that stopped renewing (crashed, or cut off from the database) loses it. A
handler that runs past ``max_runtime`` is cancelled and the job retried, so a hung
call cannot hold a job (and its lease) for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from storage.db import Database
from storage.job_repository import RetryJob
from storage.models import JobRow, JobStatus
from storage.types import utcnow

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class JobKind:
    """How to run one kind of job and how hard to try."""

    handler: Callable[[JobRow], Awaitable[None]]
    on_failure: Callable[[JobRow, str], Awaitable[None]] | None = None
    max_attempts: int = 6
    base_delay: float = 5.0
    max_delay: float = 300.0


class JobObserver(Protocol):
    """Told how each run of a job ended (metrics)."""

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        """A run of a ``kind`` job ended: ``done``, ``retry`` or ``failed``."""


class JobRunner:
    """Background worker that runs due jobs, a few at a time."""

    def __init__(
        self,
        database: Database,
        kinds: Mapping[str, JobKind],
        *,
        poll_interval: float = 5.0,
        lease_seconds: float = 900.0,
        concurrency: int = 4,
        renew_every: float | None = None,
        max_runtime: float | None = None,
        observer: JobObserver | None = None,
    ) -> None:
        self._db = database
        self._observer = observer
        self._kinds = kinds
        self._poll = poll_interval
        # Long: a helpdesk call may wait out its request budget (up to a minute) and
        # retry; a lease that ran out would let another instance run the job again.
        self._lease = timedelta(seconds=lease_seconds)
        self._renew_every = renew_every if renew_every is not None else lease_seconds / 3
        # Four leases (an hour by default): far beyond any helpdesk call and its retries.
        self._max_runtime = max_runtime if max_runtime is not None else 4 * lease_seconds
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Run jobs until ``stop`` is called."""
        while not self._stopping.is_set():
            try:
                wait = await self.pass_once()
            except Exception:
                log.exception("jobs.pass_failed")
                wait = self._poll
            await self._db.jobs_wakeup.wait(wait)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def stop(self) -> None:
        """Ask ``run`` to finish after the jobs in flight."""
        self._stopping.set()
        self._db.jobs_wakeup.set()

    async def pass_once(self) -> float:
        """Start the due jobs; return how long to sleep before the next pass."""
        now = utcnow()
        async with self._db.unit_of_work() as uow:
            due = await uow.jobs.due(now=now, limit=50)
            next_at = await uow.jobs.next_due_at()
        for job in due:
            task = asyncio.create_task(self._run_one(job))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        if due:
            await asyncio.gather(*list(self._running), return_exceptions=True)
            return 0.0
        if next_at is None:
            return self._poll
        return min(self._poll, max((next_at - utcnow()).total_seconds(), 0.0))

    async def _run_one(self, job: JobRow) -> None:
        assert job.id is not None
        async with self._slots:
            now = utcnow()
            lease_until = now + self._lease
            async with self._db.unit_of_work() as uow:
                if not await uow.jobs.claim(job_id=job.id, now=now, lease_until=lease_until):
                    return
                await uow.commit()
            job.locked_until = lease_until  # our claim: only it may record the outcome
            kind = self._kinds.get(job.kind)
            if kind is None:
                await self._finish(job, JobStatus.FAILED, f"unknown job kind {job.kind!r}")
                self._observed(job.kind, "failed", 0.0)
                return
            started = time.perf_counter()
            outcome = await self._execute(job, kind)
            self._observed(job.kind, outcome, time.perf_counter() - started)

    def _observed(self, kind: str, outcome: str, seconds: float) -> None:
        if self._observer is not None:
            self._observer.job_finished(kind, outcome, seconds)

    async def _execute(self, job: JobRow, kind: JobKind) -> str:
        """Run the job and record the outcome; which one (``done``, ``retry``, ``failed``)."""
        attempts = job.attempts + 1
        try:
            await self._run_leased(job, kind)
        except RetryJob as retry:
            if attempts < kind.max_attempts:
                delay = retry.delay or self._backoff(kind, attempts)
                log.warning(
                    "jobs.retry",
                    job_id=job.id,
                    kind=job.kind,
                    ticket_id=job.ticket_id,
                    attempts=attempts,
                    delay=round(delay, 2),
                    reason=retry.reason,
                )
                await self._finish(job, JobStatus.PENDING, retry.reason, attempts, delay)
                return "retry"
            await self._fail(job, kind, retry.reason, attempts)
        except Exception as exc:
            log.exception("jobs.error", job_id=job.id, kind=job.kind, ticket_id=job.ticket_id)
            await self._fail(job, kind, str(exc) or type(exc).__name__, attempts)
        else:
            await self._finish(job, JobStatus.DONE, None, attempts)
            return "done"
        return "failed"

    async def _run_leased(self, job: JobRow, kind: JobKind) -> None:
        """Run the handler while renewing the lease; renewal has stopped when this returns.

        The keeper is told to stop rather than cancelled: a renewal in flight completes,
        so ``job.locked_until`` matches the database when the outcome is recorded.
        """
        done = asyncio.Event()
        keeper = asyncio.create_task(self._keep_lease(job, done))
        try:
            async with asyncio.timeout(self._max_runtime) as deadline:
                await kind.handler(job)
        except TimeoutError as exc:
            if not deadline.expired():
                raise  # the handler's own timeout, not ours
            raise RetryJob(f"still running after {self._max_runtime:g} s: cancelled") from exc
        finally:
            done.set()
            await keeper

    async def _keep_lease(self, job: JobRow, done: asyncio.Event) -> None:
        assert job.id is not None
        # A renewal whose commit raised may still have landed: until we know, either
        # value may be the lease in the database.
        uncertain: datetime | None = None
        while True:
            with contextlib.suppress(TimeoutError):  # the timeout is the renewal tick
                await asyncio.wait_for(done.wait(), timeout=self._renew_every)
            if done.is_set() or job.locked_until is None:
                break
            until = utcnow() + self._lease
            try:
                renewed = await self._renew(job.id, (job.locked_until, uncertain), until)
            except Exception:
                # The lease still runs for a while: try again at the next tick.
                log.exception("jobs.lease_renewal_failed", job_id=job.id, kind=job.kind)
                uncertain = until
                continue
            uncertain = None
            if not renewed:
                log.warning("jobs.lease_lost", job_id=job.id, kind=job.kind)
                return
            job.locked_until = until
        if uncertain is not None:
            with contextlib.suppress(Exception):  # unknown stays unknown: finish will say
                async with self._db.unit_of_work() as uow:
                    if await uow.jobs.lease_of(job_id=job.id) == uncertain:
                        job.locked_until = uncertain

    async def _renew(
        self, job_id: int, held: tuple[datetime | None, datetime | None], until: datetime
    ) -> bool:
        async with self._db.unit_of_work() as uow:
            renewed = False
            for held_until in held:
                if held_until is not None and not renewed:
                    renewed = await uow.jobs.renew(
                        job_id=job_id, held_until=held_until, until=until
                    )
            await uow.commit()
        return renewed

    async def _fail(self, job: JobRow, kind: JobKind, reason: str, attempts: int) -> None:
        log.error(
            "jobs.failed",
            job_id=job.id,
            kind=job.kind,
            ticket_id=job.ticket_id,
            attempts=attempts,
            reason=reason,
        )
        await self._finish(job, JobStatus.FAILED, reason, attempts)
        if kind.on_failure is not None:
            await kind.on_failure(job, reason)

    async def _finish(
        self,
        job: JobRow,
        status: str,
        error: str | None,
        attempts: int | None = None,
        delay: float | None = None,
    ) -> None:
        assert job.id is not None
        not_before = utcnow() + timedelta(seconds=delay) if delay is not None else None
        async with self._db.unit_of_work() as uow:
            recorded = await uow.jobs.finish(
                job_id=job.id,
                status=status,
                error=error,
                attempts=attempts if attempts is not None else job.attempts,
                not_before=not_before,
                lease_until=job.locked_until,
            )
            await uow.commit()
        if not recorded:
            # Our lease ran out and another runner took the job: its outcome stands.
            log.warning("jobs.lease_lost", job_id=job.id, kind=job.kind, status=status)

    @staticmethod
    def _backoff(kind: JobKind, attempts: int) -> float:
        base = min(kind.max_delay, kind.base_delay * 3.0 ** min(attempts - 1, 12))
        return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto
