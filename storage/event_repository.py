"""The ticket event log: append and read, never update or delete."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Insert, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import TicketEventRow, TicketRow
from storage.types import id_in

#: Ids per IN list: well under SQLite's and asyncpg's limits on bound parameters.
_CHUNK = 5_000
_EVENTS: Any = TicketEventRow.__table__  # type: ignore[attr-defined]
_TICKETS: Any = TicketRow.__table__  # type: ignore[attr-defined]


@functools.cache
def _insert_events() -> Insert:
    """Built once: every transaction that records an event runs it."""
    return insert(_EVENTS)


class EventRepository:
    """Ticket events in the order they happened (by id)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._queued: list[dict[str, Any]] = []

    def queue(self, values: Mapping[str, Any]) -> None:
        """Add an event given as its column values (every column but ``id``).

        The events queued in a transaction are inserted together, in the order they were
        queued, with one statement and no ORM object each, before this log is next read
        here and at the unit of work's flush or commit (``write_queued``). A query of
        ``ticket_event`` elsewhere in the same transaction sees them after ``uow.flush()``.
        """
        self._queued.append(dict(values))

    async def write_queued(self) -> None:
        """Insert the queued events now (the unit of work calls it before its flush and
        commit; the reads here call it first)."""
        if not self._queued:
            return
        rows, self._queued = self._queued, []
        await self._session.execute(_insert_events(), rows)

    def append(self, row: TicketEventRow) -> None:
        """Add an event to the log; it is written with the transaction's next flush.

        Rows of one table are inserted in the order they were added, so the ids
        keep the order the events happened in.
        """
        self._session.add(row)

    async def append_many(self, rows: Sequence[TicketEventRow]) -> None:
        """Add many events in one statement (a reminder digest's tickets)."""
        await self.append_values([row.model_dump(exclude={"id"}) for row in rows])

    async def append_values(self, values: Sequence[Mapping[str, Any]]) -> None:
        """Add many events given as column values, in one statement."""
        if not values:
            return
        await self._session.flush()  # events added one by one come first
        await self.write_queued()
        await self._session.execute(_insert_events(), list(values))

    async def append_for_tickets(
        self, *, ticket_ids: Sequence[int], values: Mapping[str, Any]
    ) -> None:
        """The same event for many tickets: an INSERT ... SELECT per chunk of ids.

        The shared values are bound once, not once per ticket: a pass may record ten
        thousand (a reminder digest, SLA warnings after downtime).
        """
        if not ticket_ids:
            return
        await self._session.flush()  # events added one by one come first
        await self.write_queued()
        tickets = _TICKETS.c
        constants = [literal(value, _EVENTS.c[name].type) for name, value in values.items()]
        for start in range(0, len(ticket_ids), _CHUNK):
            chunk = list(ticket_ids[start : start + _CHUNK])
            rows = (
                select(tickets.id, *constants)
                .where(id_in(self._session, tickets.id, chunk))
                .order_by(tickets.id)
            )
            await self._session.execute(insert(_EVENTS).from_select(["ticket_id", *values], rows))

    async def for_ticket(
        self, *, ticket_id: int, kinds: Iterable[str] | None = None
    ) -> Sequence[TicketEventRow]:
        """A ticket's events, oldest first; only ``kinds`` when given."""
        await self.write_queued()
        stmt = select(TicketEventRow).where(col(TicketEventRow.ticket_id) == ticket_id)
        if kinds is not None:
            stmt = stmt.where(col(TicketEventRow.kind).in_(list(kinds)))
        stmt = stmt.order_by(col(TicketEventRow.id))
        return (await self._session.execute(stmt)).scalars().all()
