"""Hand-overs of tickets to the next support line."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import LineHandoverRow
from storage.types import rowcount


class LineRepository:
    """Queries on the ``line_handover`` table."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, row: LineHandoverRow) -> LineHandoverRow:
        """Insert a hand-over being prepared and give it its id."""
        self._session.add(row)
        await self._session.flush()
        return row

    async def get(self, *, handover_id: int) -> LineHandoverRow | None:
        """One hand-over by id."""
        return await self._session.get(LineHandoverRow, handover_id)

    async def by_question(self, *, question_id: int) -> LineHandoverRow | None:
        """The hand-over a question message belongs to."""
        stmt = select(LineHandoverRow).where(col(LineHandoverRow.question_id) == question_id)
        return (await self._session.execute(stmt)).scalars().first()

    async def finish(self, *, handover_id: int, department_key: str, at: datetime) -> bool:
        """Mark a hand-over done; False if it already was (a double tap, two at once)."""
        stmt = (
            update(LineHandoverRow)
            .where(col(LineHandoverRow.id) == handover_id, col(LineHandoverRow.state) == "asked")
            .values(state="done", department_key=department_key, done_at=at)
            .execution_options(synchronize_session=False)
        )
        done = rowcount(await self._session.execute(stmt)) == 1
        cached = await self._session.get(LineHandoverRow, handover_id)
        if done and cached is not None:
            await self._session.refresh(cached)
        return done

    async def latest_done(self, *, ticket_id: int) -> LineHandoverRow | None:
        """The ticket's last completed hand-over, if any."""
        stmt = (
            select(LineHandoverRow)
            .where(
                col(LineHandoverRow.ticket_id) == ticket_id,
                col(LineHandoverRow.state) == "done",
            )
            .order_by(col(LineHandoverRow.id).desc())
            .limit(1)
        )
        return (await self._session.execute(stmt)).scalars().first()
