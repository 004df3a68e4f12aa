"""The intake queue: accepted webhook deliveries, written in bulk, applied in batches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import IntakeEventRow, WebhookDeliveryRow
from storage.repositories import dialect_insert
from storage.types import utcnow


class IntakeRepository:
    """Deliveries accepted and waiting, claimed and applied in order."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.enqueued = 0

    async def accept(
        self, deliveries: Sequence[tuple[str, str, dict[str, Any]]], *, now: datetime | None = None
    ) -> set[tuple[str, str]]:
        """Queue each ``(source, delivery_key, payload)`` not seen before; the new keys.

        Two statements for the whole batch: one insert of the delivery keys that skips
        known ones and returns the rest, one insert of their events.
        """
        if not deliveries:
            return set()
        at = now or utcnow()
        keys = [{"source": s, "delivery_key": k, "received_at": at} for s, k, _ in deliveries]
        stmt = (
            dialect_insert(self._session, WebhookDeliveryRow)
            .values(keys)
            .on_conflict_do_nothing(index_elements=["source", "delivery_key"])
            .returning(col(WebhookDeliveryRow.source), col(WebhookDeliveryRow.delivery_key))
        )
        new = {(str(s), str(k)) for s, k in (await self._session.execute(stmt)).all()}
        events = [
            {"source": s, "payload": p, "received_at": at, "attempts": 0, "failed": False}
            for s, k, p in deliveries
            if (s, k) in new
        ]
        if events:
            await self._session.execute(dialect_insert(self._session, IntakeEventRow), events)
            self.enqueued += len(events)
        return new

    async def claim(self, *, limit: int) -> Sequence[IntakeEventRow]:
        """The oldest waiting events, locked until this transaction ends (PostgreSQL).

        Another instance skips the locked ones; SQLite has one writer anyway.
        """
        stmt = (
            select(IntakeEventRow)
            .where(col(IntakeEventRow.failed).is_(False))
            .order_by(col(IntakeEventRow.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self._session.execute(stmt)).scalars().all()

    async def done(self, event_ids: Sequence[int]) -> None:
        """Forget applied events (their delivery keys stay, for deduplication)."""
        if event_ids:
            await self._session.execute(
                delete(IntakeEventRow).where(col(IntakeEventRow.id).in_(event_ids))
            )

    async def failed_attempt(self, *, event_id: int, error: str, max_attempts: int) -> bool:
        """Count a failed attempt; True when the event has now failed for good."""
        row = await self._session.get(IntakeEventRow, event_id, with_for_update=True)
        if row is None:
            return False
        row.attempts += 1
        row.last_error = error[:2000]
        row.failed = row.attempts >= max_attempts
        return row.failed

    async def backlog(self) -> tuple[int, int]:
        """How many events wait, and how many failed for good."""
        stmt = select(col(IntakeEventRow.failed), func.count()).group_by(
            col(IntakeEventRow.failed)
        )
        counts = {bool(failed): int(n) for failed, n in (await self._session.execute(stmt)).all()}
        return counts.get(False, 0), counts.get(True, 0)
