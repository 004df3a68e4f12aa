"""The ticket event log: append and read, never update or delete."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import TicketEventRow


class EventRepository:
    """Ticket events in the order they happened (by id)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def append(self, row: TicketEventRow) -> None:
        """Add an event to the log; it is written with the transaction's next flush.

        Rows of one table are inserted in the order they were added, so the ids
        keep the order the events happened in.
        """
        self._session.add(row)

    async def append_many(self, rows: Sequence[TicketEventRow]) -> None:
        """Add many events in one statement (a reminder digest's tickets)."""
        if not rows:
            return
        await self._session.flush()  # events added one by one come first
        values = [row.model_dump(exclude={"id"}) for row in rows]
        await self._session.execute(insert(TicketEventRow), values)

    async def for_ticket(
        self, *, ticket_id: int, kinds: Iterable[str] | None = None
    ) -> Sequence[TicketEventRow]:
        """A ticket's events, oldest first; only ``kinds`` when given."""
        stmt = select(TicketEventRow).where(col(TicketEventRow.ticket_id) == ticket_id)
        if kinds is not None:
            stmt = stmt.where(col(TicketEventRow.kind).in_(list(kinds)))
        stmt = stmt.order_by(col(TicketEventRow.id))
        return (await self._session.execute(stmt)).scalars().all()
