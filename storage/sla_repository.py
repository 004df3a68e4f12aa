"""SLA clocks: a ticket's clocks, the due ones for the scan, the ones at risk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import SlaClockRow, TicketRow
from storage.types import EpochSeconds, id_in

#: Ids per IN list: well under SQLite's and asyncpg's limits on bound parameters.
_CHUNK = 5_000
_CLOCKS: Any = SlaClockRow.__table__  # type: ignore[attr-defined]
_TICKETS: Any = TicketRow.__table__  # type: ignore[attr-defined]


class DueClock(NamedTuple):
    """A clock the scan has to look at, and who its ticket is with.

    A named tuple, made straight from the row: a pass after downtime reads ten thousand.
    """

    ticket_id: int
    target: str
    calendar: str
    target_s: int
    used_s: int
    #: Seconds since 1970 (a pass after downtime would parse ten thousand datetimes).
    since_s: float | None
    warned: bool
    breached: bool
    state: str
    assignee_key: str | None


@dataclass(frozen=True, slots=True)
class Headline:
    """What a message shows of a ticket."""

    number: str
    subject: str
    url: str | None


@dataclass(frozen=True, slots=True)
class ClockCheck:
    """A due clock that had nothing to say after all: when to look at it next."""

    ticket_id: int
    target: str
    next_check_at: datetime | None


class OutcomeCount(NamedTuple):
    """How many clocks of one target and policy met it, or missed it, in a period."""

    target: str
    policy: str
    met: bool
    clocks: int


class SlaRepository:
    """Queries on the ``sla_clock`` table.

    The scan's queries are SQLAlchemy Core on plain tuples, a statement per chunk of
    clocks, not ORM objects: after downtime a pass may find ten thousand due.
    """

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
        """Clocks whose next check is due, locked so no other instance takes them."""
        c, t = _CLOCKS.c, _TICKETS.c
        stmt = (
            select(
                c.ticket_id,
                c.target,
                c.calendar,
                c.target_s,
                c.used_s,
                EpochSeconds(c.since),
                c.warned,
                c.breached,
                t.state,
                t.assignee_key,
            )
            .join(_TICKETS, t.id == c.ticket_id)
            .where(c.next_check_at <= now)
            .order_by(c.next_check_at)
            .limit(limit)
            # Row locks, skipping rows another instance holds: each warning goes once.
            .with_for_update(skip_locked=True, of=_CLOCKS)
        )
        connection = await self._session.connection()
        return [DueClock._make(row) for row in (await connection.execute(stmt)).all()]

    async def mark_warned(self, *, clocks: Sequence[tuple[int, str]]) -> None:
        """These clocks gave their warning: the breach is checked next, at ``due_at``."""
        await self._mark(clocks, warned=True, next_check_at=_CLOCKS.c.due_at)

    async def mark_breached(self, *, clocks: Sequence[tuple[int, str]]) -> None:
        """These clocks passed their target and said so: nothing is pending any more."""
        await self._mark(clocks, warned=True, breached=True, next_check_at=None)

    async def _mark(self, clocks: Sequence[tuple[int, str]], **values: Any) -> None:
        by_target: dict[str, list[int]] = defaultdict(list)
        for ticket_id, target in clocks:
            by_target[target].append(ticket_id)
        connection = await self._session.connection()
        for target, ticket_ids in by_target.items():
            for start in range(0, len(ticket_ids), _CHUNK):
                await connection.execute(
                    update(_CLOCKS)
                    .where(
                        _CLOCKS.c.target == target,
                        id_in(
                            self._session, _CLOCKS.c.ticket_id, ticket_ids[start : start + _CHUNK]
                        ),
                    )
                    .values(**values)
                )

    async def reschedule_checks(self, *, checks: Sequence[ClockCheck]) -> None:
        """Store when to look at these clocks again."""
        stmt = (
            update(_CLOCKS)
            .where(
                _CLOCKS.c.ticket_id == bindparam("clock_ticket"),
                _CLOCKS.c.target == bindparam("clock_target"),
            )
            .values(next_check_at=bindparam("next_check"))
        )
        values = [
            {"clock_ticket": c.ticket_id, "clock_target": c.target, "next_check": c.next_check_at}
            for c in checks
        ]
        if values:
            connection = await self._session.connection()
            await connection.execute(stmt, values)

    async def headlines(self, *, ticket_ids: Iterable[int]) -> dict[int, Headline]:
        """Number, subject and link of these tickets, by ticket."""
        ids = list(dict.fromkeys(ticket_ids))
        t = _TICKETS.c
        found: dict[int, Headline] = {}
        connection = await self._session.connection()
        for start in range(0, len(ids), _CHUNK):
            stmt = select(t.id, t.number, t.subject, t.url).where(
                id_in(self._session, t.id, ids[start : start + _CHUNK])
            )
            for ticket_id, number, subject, url in (await connection.execute(stmt)).all():
                found[ticket_id] = Headline(number, subject, url)
        return found

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

    async def period_outcomes(self, *, start: datetime, end: datetime) -> list[OutcomeCount]:
        """Clocks settled in ``[start, end)``, met or missed, by target and policy.

        A clock settles when it stops (``done_at``: met if its time used is within the
        target) or, still counting, when its target passes (``due_at``: missed). A paused
        clock has not settled. ``end`` should not lie after now.
        """
        c = _CLOCKS.c
        settled = and_(c.done_at >= start, c.done_at < end)
        overdue = and_(
            c.done_at.is_(None), c.since.is_not(None), c.due_at >= start, c.due_at < end
        )
        met = case((and_(c.done_at.is_not(None), c.used_s <= c.target_s), 1), else_=0)
        stmt = (
            select(c.target, c.policy, met, func.count())
            .where(or_(settled, overdue))
            .group_by(c.target, c.policy, met)
        )
        connection = await self._session.connection()
        return [
            OutcomeCount(target, policy, bool(hit), int(n))
            for target, policy, hit, n in (await connection.execute(stmt)).all()
        ]
