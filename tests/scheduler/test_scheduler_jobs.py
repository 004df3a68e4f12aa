"""The job runner: retries, failure hooks, and leases that protect a job's outcome."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from scheduler.jobs import JobKind, JobRunner
from storage.db import Database
from storage.job_repository import RetryJob
from storage.models import JobRow, JobStatus
from storage.types import utcnow


async def queue(database: Database, kind: str) -> int:
    async with database.unit_of_work() as uow:
        uow.jobs.enqueue(kind=kind, payload={"n": 1}, ticket_id=None)
        await uow.commit()
        job = (await uow.session.execute(select(JobRow))).scalars().first()
    assert job is not None
    assert job.id is not None
    return job.id


async def job_row(database: Database, job_id: int) -> JobRow:
    async with database.unit_of_work() as uow:
        row = await uow.session.get(JobRow, job_id)
    assert row is not None
    return row


async def test_a_job_is_retried_until_it_succeeds(database: Database) -> None:
    calls: list[int] = []

    async def flaky(job: JobRow) -> None:
        calls.append(job.attempts)
        if len(calls) < 3:
            raise RetryJob("not yet", delay=0.01)

    job_id = await queue(database, "flaky")
    runner = JobRunner(database, {"flaky": JobKind(flaky, max_attempts=5)})
    for _ in range(20):
        await runner.pass_once()
        if (await job_row(database, job_id)).status == JobStatus.DONE:
            break
        await asyncio.sleep(0.02)
    assert len(calls) == 3
    assert (await job_row(database, job_id)).status == JobStatus.DONE


async def test_a_job_that_keeps_failing_ends_failed_and_calls_its_hook(
    database: Database,
) -> None:
    failed: list[str] = []

    async def never(job: JobRow) -> None:
        raise RetryJob("down", delay=0.01)

    async def hook(job: JobRow, reason: str) -> None:
        failed.append(reason)

    job_id = await queue(database, "never")
    runner = JobRunner(database, {"never": JobKind(never, hook, max_attempts=2)})
    for _ in range(20):
        await runner.pass_once()
        if failed:
            break
        await asyncio.sleep(0.02)
    assert failed == ["down"]
    assert (await job_row(database, job_id)).status == JobStatus.FAILED


async def test_a_runner_whose_lease_ran_out_cannot_overwrite_the_new_claim(
    database: Database,
) -> None:
    job_id = await queue(database, "slow")
    now = utcnow()
    first_lease = now + timedelta(seconds=1)
    async with database.unit_of_work() as uow:
        assert await uow.jobs.claim(job_id=job_id, now=now, lease_until=first_lease)
        await uow.commit()
    later = now + timedelta(seconds=2)  # the first lease has run out
    second_lease = later + timedelta(seconds=60)
    async with database.unit_of_work() as uow:
        assert await uow.jobs.claim(job_id=job_id, now=later, lease_until=second_lease)
        await uow.commit()
    async with database.unit_of_work() as uow:
        stale = await uow.jobs.finish(
            job_id=job_id, status=JobStatus.DONE, attempts=1, error=None, lease_until=first_lease
        )
        await uow.commit()
    assert stale is False
    assert (await job_row(database, job_id)).status == JobStatus.RUNNING


async def test_a_job_that_outlives_its_lease_is_not_run_again_elsewhere(
    database: Database,
) -> None:
    runs: list[str] = []

    def slow_handler(name: str) -> JobKind:
        async def slow(_job: JobRow) -> None:
            runs.append(name)
            await asyncio.sleep(1.2)  # three leases long: only renewal keeps it ours

        return JobKind(slow)

    job_id = await queue(database, "slow")
    first = JobRunner(database, {"slow": slow_handler("first")}, lease_seconds=0.4)
    second = JobRunner(database, {"slow": slow_handler("second")}, lease_seconds=0.4)
    running = asyncio.create_task(first.pass_once())
    for _ in range(12):  # another instance polls all the while
        await asyncio.sleep(0.1)
        await second.pass_once()
    await running
    assert runs == ["first"]
    row = await job_row(database, job_id)
    assert row.status == JobStatus.DONE
    assert row.locked_until is None


async def test_a_hung_handler_is_cancelled_after_max_runtime_and_retried(
    database: Database,
) -> None:
    async def hangs(_job: JobRow) -> None:
        await asyncio.sleep(60)

    job_id = await queue(database, "hangs")
    runner = JobRunner(database, {"hangs": JobKind(hangs)}, lease_seconds=0.3, max_runtime=0.3)
    await asyncio.wait_for(runner.pass_once(), timeout=5)
    row = await job_row(database, job_id)
    assert row.status == JobStatus.PENDING
    assert row.attempts == 1
    assert "still running after 0.3 s" in (row.last_error or "")


async def test_a_renewal_whose_commit_was_unclear_is_found_by_either_lease(
    database: Database,
) -> None:
    job_id = await queue(database, "slow")
    now = utcnow()
    landed = now + timedelta(seconds=60)  # the renewal that raised, but committed
    async with database.unit_of_work() as uow:
        assert await uow.jobs.claim(job_id=job_id, now=now, lease_until=landed)
        await uow.commit()
    runner = JobRunner(database, {})
    stale = now + timedelta(seconds=30)  # what the runner last knew for sure
    later = now + timedelta(seconds=90)
    assert await runner._renew(job_id, (stale, landed), later)
    async with database.unit_of_work() as uow:
        assert await uow.jobs.lease_of(job_id=job_id) == later
