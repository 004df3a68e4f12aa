"""SLA clocks: a ticket's clocks, the due ones for the scan, the ones at risk."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import SlaClockRow, TicketRow

#: Ids per IN list: well under SQLite's and asyncpg's limits on bound parameters.
_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class DueClock:
    """A clock the scan has to look at, with what its messages show of the ticket."""

    ticket_id: int
    target: str
    calendar: str
    target_s: int
    used_s: int
    since: datetime | None
    warned: bool
    breached: bool
    number: str
    subject: str
    state: str
    assignee_key: str | None
    url: str | None


class SlaRepository:
    """Queries on the ``sla_clock`` table."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, clock: SlaClockRow) -> None:
        """Start a clock (written with the transaction)."""
        self._session.add(clock)

    async def clocks(self, *, ticket_id: int, for_update: bool = False) -> Sequence[SlaClockRow]:
        """A ticket's clocks (locked: the scan skips them until this transaction ends)."""
        stmt = select(SlaClockRow).where(col(SlaClockRow.ticket_id) == ticket_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self._session.execute(stmt)).scalars().all()

    async def for_tickets(self, *, ticket_ids: Iterable[int]) -> dict[int, list[SlaClockRow]]:
        """The clocks of many tickets, by ticket (lists, reports)."""
        ids = list(dict.fromkeys(ticket_ids))
        found: dict[int, list[SlaClockRow]] = {}
        for start in range(0, len(ids), _CHUNK):
            stmt = select(SlaClockRow).where(
                col(SlaClockRow.ticket_id).in_(ids[start : start + _CHUNK])
            )
            for clock in (await self._session.execute(stmt)).scalars():
                found.setdefault(clock.ticket_id, []).append(clock)
        return found

    async def claim_due(self, *, now: datetime, limit: int) -> list[DueClock]:
        """Clocks whose next check is due, locked so no other instance takes them.

        Plain column tuples, not ORM objects: a pass may claim ten thousand, and
        writes its results in bulk (``record_checks``).
        """
        stmt = (
            select(
                col(SlaClockRow.ticket_id),
                col(SlaClockRow.target),
                col(SlaClockRow.calendar),
                col(SlaClockRow.target_s),
                col(SlaClockRow.used_s),
                col(SlaClockRow.since),
                col(SlaClockRow.warned),
                col(SlaClockRow.breached),
                col(TicketRow.number),
                col(TicketRow.subject),
                col(TicketRow.state),
                col(TicketRow.assignee_key),
                col(TicketRow.url),
            )
            .join(TicketRow, col(TicketRow.id) == col(SlaClockRow.ticket_id))
            .where(col(SlaClockRow.next_check_at) <= now)
            .order_by(col(SlaClockRow.next_check_at))
            .limit(limit)
            # Row locks, skipping rows another instance holds: each warning goes once.
            .with_for_update(skip_locked=True, of=SlaClockRow)
        )
        return [DueClock(*row) for row in (await self._session.execute(stmt)).all()]

    async def record_checks(self, *, checks: Sequence[Mapping[str, Any]]) -> None:
        """Store what a scan found: each clock's flags and its next check, in bulk.

        Each mapping holds ``ticket_id``, ``target`` and the columns to set.
        """
        for start in range(0, len(checks), _CHUNK):
            await self._session.execute(
                update(SlaClockRow), [dict(check) for check in checks[start : start + _CHUNK]]
            )

    async def warned_open(self, *, limit: int) -> Sequence[tuple[SlaClockRow, TicketRow]]:
        """Clocks past their warning that are still counting or paused, with their tickets."""
        stmt = (
            select(SlaClockRow, TicketRow)
            .join(TicketRow, col(TicketRow.id) == col(SlaClockRow.ticket_id))
            .where(
                col(SlaClockRow.warned).is_(True),
                col(SlaClockRow.done_at).is_(None),
                col(TicketRow.state) != "closed",
            )
            .limit(limit)
        )
        return [(clock, ticket) for clock, ticket in (await self._session.execute(stmt)).all()]
