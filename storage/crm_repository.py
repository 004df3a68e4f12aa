"""CRM look-ups kept between calls, tickets' requesters in the CRM, timeline notes written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import CrmCacheRow, CrmNoteRow, TicketCrmRow
from storage.repositories import insert_ignoring_conflict, upsert


class CrmRepository:
    """The CRM cache, the ticket-to-CRM links and the notes already written."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def cached(self, *, key: str) -> CrmCacheRow | None:
        """A kept look-up, however old (the caller compares ``fetched_at``)."""
        return await self._session.get(CrmCacheRow, key)

    async def cached_many(self, *, keys: list[str]) -> dict[str, CrmCacheRow]:
        """Kept look-ups by key."""
        if not keys:
            return {}
        stmt = select(CrmCacheRow).where(col(CrmCacheRow.key).in_(keys))
        return {row.key: row for row in (await self._session.execute(stmt)).scalars().all()}

    async def keep(self, *, key: str, value: dict[str, Any], at: datetime) -> None:
        """Store a look-up, replacing what was kept under ``key``."""
        row = {"key": key, "value": value, "fetched_at": at}
        await upsert(self._session, CrmCacheRow, row, ["key"])

    async def link(self, *, ticket_id: int) -> TicketCrmRow | None:
        """What the CRM said about the ticket's requester; None before the look-up."""
        return await self._session.get(TicketCrmRow, ticket_id)

    async def add_link(self, row: TicketCrmRow) -> bool:
        """Store the look-up of a ticket's requester; False if one was already stored."""
        values = row.model_dump()
        return await insert_ignoring_conflict(self._session, TicketCrmRow, values, ["ticket_id"])

    async def note_written(self, *, ticket_id: int, round: int) -> bool:
        """Whether the timeline note for this close of the ticket was written."""
        return await self._session.get(CrmNoteRow, (ticket_id, round)) is not None

    async def record_note(
        self, *, ticket_id: int, round: int, company_id: str, note_id: str | None
    ) -> bool:
        """Record the note for this close; False if it was recorded already."""
        values = {
            "ticket_id": ticket_id,
            "round": round,
            "company_id": company_id,
            "note_id": note_id,
        }
        return await insert_ignoring_conflict(
            self._session, CrmNoteRow, values, ["ticket_id", "round"]
        )
