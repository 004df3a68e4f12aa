"""Background jobs that call a helpdesk: queueing and claiming.

The runner that executes them is ``scheduler.jobs``; ``RetryJob`` lives here so
that the handlers in ``dispatch/`` can raise it without importing the runner.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import (
    JobRow,
    JobStatus,
)
from storage.types import claim_lease, rowcount


class RetryJob(Exception):
    """Raised by a handler: the job should be tried again later."""

    def __init__(self, reason: str, *, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class JobRepository:
    """Background jobs that call a helpdesk."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.enqueued = 0

    def enqueue(self, *, kind: str, payload: dict[str, Any], ticket_id: int | None) -> None:
        """Queue a job to run after commit."""
        self._session.add(JobRow(kind=kind, payload=payload, ticket_id=ticket_id))
        self.enqueued += 1

    async def get(self, *, job_id: int) -> JobRow | None:
        """One job by id (finished ones are kept a while, see ``scheduler.housekeeping``)."""
        return await self._session.get(JobRow, job_id)

    async def due(self, *, now: datetime, limit: int) -> Sequence[JobRow]:
        """Jobs whose time has come (or whose runner's lease ran out)."""
        stmt = (
            select(JobRow)
            .where(
                or_(
                    and_(
                        col(JobRow.status) == JobStatus.PENDING,
                        col(JobRow.not_before) <= now,
                    ),
                    and_(
                        col(JobRow.status) == JobStatus.RUNNING,
                        col(JobRow.locked_until) < now,
                    ),
                )
            )
            .order_by(col(JobRow.id))
            .limit(limit)
        )
        return (await self._session.execute(stmt)).scalars().all()

    async def next_due_at(self) -> datetime | None:
        """When the earliest pending job becomes due."""
        stmt = select(func.min(col(JobRow.not_before))).where(
            col(JobRow.status) == JobStatus.PENDING
        )
        value = (await self._session.execute(stmt)).scalar_one_or_none()
        return value if isinstance(value, datetime) else None

    async def claim(self, *, job_id: int, now: datetime, lease_until: datetime) -> bool:
        """Take a job; False if another runner holds it."""
        return await claim_lease(
            self._session,
            JobRow,
            row_id=job_id,
            now=now,
            lease_until=lease_until,
            pending=JobStatus.PENDING,
            working=JobStatus.RUNNING,
        )

    async def renew(self, *, job_id: int, held_until: datetime, until: datetime) -> bool:
        """Extend a running job's lease; False if it is no longer under that claim."""
        stmt = (
            update(JobRow)
            .where(
                col(JobRow.id) == job_id,
                col(JobRow.status) == JobStatus.RUNNING,
                col(JobRow.locked_until) == held_until,
            )
            .values(locked_until=until)
            .execution_options(synchronize_session=False)
        )
        return rowcount(await self._session.execute(stmt)) == 1

    async def lease_of(self, *, job_id: int) -> datetime | None:
        """Until when the job is leased now (None when it is not running)."""
        stmt = select(col(JobRow.locked_until)).where(col(JobRow.id) == job_id)
        value = (await self._session.execute(stmt)).scalar_one_or_none()
        return value if isinstance(value, datetime) else None

    async def finish(
        self,
        *,
        job_id: int,
        status: str,
        attempts: int,
        error: str | None,
        not_before: datetime | None = None,
        lease_until: datetime | None = None,
    ) -> bool:
        """Record a job's outcome: done, failed, or pending again at ``not_before``.

        With ``lease_until``, only while the job is still under that claim; False if
        another runner has claimed it since.
        """
        values: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "last_error": error,
            "locked_until": None,
        }
        if not_before is not None:
            values["not_before"] = not_before
        stmt = update(JobRow).where(col(JobRow.id) == job_id)
        if lease_until is not None:
            stmt = stmt.where(col(JobRow.locked_until) == lease_until)
        result = await self._session.execute(
            stmt.values(**values).execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def waiting_by_kind(self) -> dict[str, int]:
        """How many jobs of each kind wait to run or are running (the queue's depth)."""
        stmt = (
            select(col(JobRow.kind), func.count())
            .where(col(JobRow.status).in_((JobStatus.PENDING, JobStatus.RUNNING)))
            .group_by(col(JobRow.kind))
        )
        return {kind: int(n) for kind, n in (await self._session.execute(stmt)).all()}
