"""Developer tasks linked to tickets, and the tracker comments already carried."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import DevTaskCommentRow, DevTaskRow, TicketRow
from storage.repositories import insert_ignoring_conflict


class DevTaskRepository:
    """Developer tasks in a tracker and their comments."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, task: DevTaskRow) -> DevTaskRow:
        """Insert a task and give it its id."""
        self._session.add(task)
        await self._session.flush()
        return task

    async def get(self, *, task_id: int) -> DevTaskRow | None:
        """One task by Modest's id."""
        return await self._session.get(DevTaskRow, task_id)

    async def get_by_external(
        self, *, tracker: str, external_id: str, for_update: bool = False
    ) -> DevTaskRow | None:
        """One task by the tracker's id."""
        stmt = select(DevTaskRow).where(
            col(DevTaskRow.tracker) == tracker,
            col(DevTaskRow.external_id) == external_id,
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self._session.execute(stmt)).scalars().first()

    async def open_or_changed_since(
        self, *, tracker: str, since: datetime
    ) -> Sequence[DevTaskRow]:
        """A tracker's tasks still open, or closed but changed after ``since``."""
        stmt = select(DevTaskRow).where(
            col(DevTaskRow.tracker) == tracker,
            col(DevTaskRow.closed).is_(False) | (col(DevTaskRow.updated_at) > since),
        )
        return (await self._session.execute(stmt)).scalars().all()

    async def of_person(self, *, person_key: str) -> Sequence[tuple[DevTaskRow, TicketRow]]:
        """Tasks a person develops or whose ticket they handle, open first, newest first."""
        stmt = (
            select(DevTaskRow, TicketRow)
            .join(TicketRow, col(TicketRow.id) == col(DevTaskRow.ticket_id))
            .where(
                (col(DevTaskRow.developer_key) == person_key)
                | (col(DevTaskRow.specialist_key) == person_key)
            )
            .order_by(col(DevTaskRow.closed), col(DevTaskRow.id).desc())
        )
        return list((await self._session.execute(stmt)).tuples().all())

    async def remember_comment(self, *, task_id: int, external_id: str, ours: bool) -> bool:
        """Record a tracker comment as carried (or as written by Modest); False if it was."""
        return await insert_ignoring_conflict(
            self._session,
            DevTaskCommentRow,
            {"task_id": task_id, "external_id": external_id, "ours": ours},
            ["task_id", "external_id"],
        )
