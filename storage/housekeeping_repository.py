"""Deleting rows that have served their purpose (the hourly housekeeping)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import JobRow, JobStatus, OutboxRow, OutboxStatus, WebhookDeliveryRow
from storage.types import rowcount


class HousekeepingRepository:
    """Deletes old rows; each method says how many went."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def delete_deliveries_before(self, cutoff: datetime) -> int:
        """Webhook delivery keys received before ``cutoff``."""
        stmt = delete(WebhookDeliveryRow).where(col(WebhookDeliveryRow.received_at) < cutoff)
        return rowcount(await self._session.execute(stmt))

    async def delete_delivered_outbox_before(self, cutoff: datetime) -> int:
        """Outbox rows sent (or superseded by a later call) and queued before ``cutoff``."""
        stmt = delete(OutboxRow).where(
            col(OutboxRow.status).in_((OutboxStatus.SENT, OutboxStatus.SUPERSEDED)),
            col(OutboxRow.created_at) < cutoff,
        )
        return rowcount(await self._session.execute(stmt))

    async def delete_done_jobs_before(self, cutoff: datetime) -> int:
        """Jobs that succeeded and were queued before ``cutoff``."""
        stmt = delete(JobRow).where(
            col(JobRow.status) == JobStatus.DONE,
            col(JobRow.created_at) < cutoff,
        )
        return rowcount(await self._session.execute(stmt))
