"""Aggregate reads of the ticket event log for statistics (``dispatch.stats``).

Every query picks events by ``(kind, at)`` (the ``ix_ticket_event_kind_at`` index)
and joins the ticket for what the event does not carry. Percentiles and local
dates are worked out by the caller (neither is portable SQL), so moments come back
as seconds since 1970 and durations as seconds, computed by the database: a month
has tens of thousands of them, and parsing as many datetimes would cost more than
the queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from storage.models import DevTaskRow, TicketEventRow, TicketRow, TimeEntryRow, WeeklyDigestRow
from storage.repositories import insert_ignoring_conflict
from storage.types import EpochSeconds

_E = TicketEventRow
_T = TicketRow
_REPLIES = ("first_staff_reply", "staff_replied")
_ASSIGNMENTS = ("assigned", "reassigned")


def _seconds(value: Any) -> float:
    # julianday arithmetic is exact to some microseconds: milliseconds are plenty. (Not
    # round(x, 3): that goes through a decimal conversion, ~100 times slower.)
    return round(float(value) * 1000) / 1000


@dataclass(frozen=True, slots=True)
class Arrival:
    """A ticket created in the period, as it is now (moments in seconds since 1970)."""

    at: float
    channel: str
    type: str
    priority: str
    status: str
    client_company: str
    client_email: str
    state: str
    closed_at: float | None


@dataclass(frozen=True, slots=True)
class Moment:
    """One event of a ticket: when the ticket arrived, how long after it, whose it is now."""

    ticket_id: int
    kind: str
    #: Seconds since 1970 of the ticket's arrival, and from the arrival to the event.
    arrived: float
    took: float
    type: str
    priority: str
    assignee_key: str | None
    department_key: str | None


@dataclass(frozen=True, slots=True)
class Assignments:
    """How many assignments went to a person in a department (either may be None)."""

    person_key: str | None
    department_key: str | None
    count: int


@dataclass(frozen=True, slots=True)
class PersonMinutes:
    """Time a person recorded, billable or not."""

    person_key: str
    billable: bool
    minutes: int


@dataclass(frozen=True, slots=True)
class Backlog:
    """Tickets open at a moment, and how many of them had nobody assigned."""

    open: int
    unassigned: int


@dataclass(frozen=True, slots=True)
class Finding:
    """A staff reply that held forbidden words: who wrote it, which words."""

    actor_kind: str
    actor: str | None
    words: tuple[str, ...]


class StatsRepository:
    """Counts and rows of a period, ``start`` inclusive, ``end`` exclusive."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _execute(self, stmt: Any) -> Any:
        # On the session's connection: plain rows, without the ORM's per-row loading work
        # (tens of thousands of rows a month); callers take them with .all(), in one go.
        connection = await self._session.connection()
        return await connection.execute(stmt)

    async def arrivals(self, *, start: datetime, end: datetime) -> list[Arrival]:
        """Tickets whose ``created`` event falls in the period."""
        stmt = (
            select(
                EpochSeconds(col(_E.at)),
                col(_T.channel),
                col(_T.type),
                col(_T.priority),
                col(_T.status),
                col(_T.client_company),
                col(_T.client_email),
                col(_T.state),
                EpochSeconds(col(_T.closed_at)),
            )
            .join(_T, col(_T.id) == col(_E.ticket_id))
            .where(_in_period(("created",), start, end))
        )
        return [
            Arrival(
                _seconds(at),
                channel,
                type_,
                priority,
                status,
                company,
                email,
                state,
                None if closed is None else _seconds(closed),
            )
            for at, channel, type_, priority, status, company, email, state, closed in (
                await self._execute(stmt)
            )
            .tuples()
            .all()
        ]

    async def moments(
        self, *, kinds: Iterable[str], start: datetime, end: datetime, first_only: bool = False
    ) -> list[Moment]:
        """Events of ``kinds`` in the period with their tickets, oldest first.

        ``first_only``: leave out the events of tickets that had one of those kinds
        before the period (a first assignment); a ticket may still come twice.
        """
        kinds = tuple(kinds)
        arrived = EpochSeconds(col(_T.received_at))
        stmt = (
            select(
                col(_E.ticket_id),
                col(_E.kind),
                arrived,
                EpochSeconds(col(_E.at)) - arrived,
                col(_T.type),
                col(_T.priority),
                col(_T.assignee_key),
                col(_T.department_key),
            )
            .join(_T, col(_T.id) == col(_E.ticket_id))
            .where(_in_period(kinds, start, end))
            .order_by(col(_E.at), col(_E.id))
        )
        if first_only:
            # A ticket that arrived in the period has nothing earlier: only older ones are
            # looked up (a ticket's events by its index). Repeats inside the period are
            # left to the caller, who keeps a ticket's first.
            earlier = aliased(_E)
            stmt = stmt.where(
                or_(
                    col(_T.received_at) >= start,
                    ~exists().where(
                        col(earlier.ticket_id) == col(_E.ticket_id),
                        col(earlier.id) < col(_E.id),
                        col(earlier.kind).in_(kinds),
                    ),
                )
            )
        rows = (await self._execute(stmt)).tuples().all()
        return [
            Moment(ticket, kind, _seconds(arrived), _seconds(took), type_, priority, person, dept)
            for ticket, kind, arrived, took, type_, priority, person, dept in rows
        ]

    async def counts(
        self, *, kinds: Iterable[str], start: datetime, end: datetime
    ) -> dict[str, int]:
        """How many events of each kind the period holds (kinds with none left out)."""
        stmt = (
            select(col(_E.kind), func.count())
            .where(_in_period(tuple(kinds), start, end))
            .group_by(col(_E.kind))
        )
        return {str(kind): int(n) for kind, n in (await self._execute(stmt)).tuples().all()}

    async def assignments(self, *, start: datetime, end: datetime) -> list[Assignments]:
        """Assignments in the period by the assignee and department they went to."""
        person = col(_E.changes)[("assignee", 1)].as_string()
        department = col(_E.changes)[("department", 1)].as_string()
        stmt = (
            select(person, department, func.count())
            .where(_in_period(_ASSIGNMENTS, start, end))
            .group_by(person, department)
        )
        rows = (await self._execute(stmt)).tuples().all()
        return [Assignments(person, department, int(n)) for person, department, n in rows]

    async def handovers_by_line(self, *, start: datetime, end: datetime) -> dict[int, int]:
        """Tickets passed to the next support line in the period, by the line they left."""
        line = col(_E.changes)[("line", 0)].as_integer()
        stmt = (
            select(line, func.count())
            .where(_in_period(("passed_to_line",), start, end))
            .group_by(line)
        )
        rows = (await self._execute(stmt)).tuples().all()
        return {int(key): int(n) for key, n in rows if key is not None}

    async def replies_by_person(self, *, start: datetime, end: datetime) -> dict[str, int]:
        """Staff replies in the period by the routing-file person who wrote them."""
        stmt = (
            select(col(_E.actor), func.count())
            .where(_in_period(_REPLIES, start, end), col(_E.actor_kind) == "person")
            .group_by(col(_E.actor))
        )
        return {str(key): int(n) for key, n in (await self._execute(stmt)).tuples().all()}

    async def minutes_by_person(self, *, first: date, last: date) -> list[PersonMinutes]:
        """Recorded time of tickets closed on ``first`` … ``last`` (local days), per person."""
        minutes = func.sum(col(TimeEntryRow.minutes))
        stmt = (
            select(col(TimeEntryRow.person_key), col(TimeEntryRow.billable), minutes)
            .where(col(TimeEntryRow.closed_on) >= first, col(TimeEntryRow.closed_on) <= last)
            .group_by(col(TimeEntryRow.person_key), col(TimeEntryRow.billable))
        )
        rows = (await self._execute(stmt)).tuples().all()
        return [PersonMinutes(key, bool(billable), int(n or 0)) for key, billable, n in rows]

    async def backlog(self, *, at: datetime) -> Backlog:
        """Tickets that had arrived and were not closed at ``at``.

        Read from the tickets' last close and last assignment: a ticket closed
        before ``at`` and reopened after it counts as closed then.
        """
        unassigned = or_(col(_T.assigned_at).is_(None), col(_T.assigned_at) > at)
        counts = select(func.count(), func.sum(case((unassigned, 1), else_=0)))
        # Two reads along ix_ticket_state_closed_at: the open tickets, the ones closed later.
        still_open = counts.where(
            col(_T.state).in_(("unassigned", "assigned")), col(_T.received_at) < at
        )
        closed_later = counts.where(
            col(_T.state) == "closed", col(_T.closed_at) > at, col(_T.received_at) < at
        )
        total = waiting = 0
        for stmt in (still_open, closed_later):
            n, w = (await self._execute(stmt)).tuples().one()
            total, waiting = total + int(n or 0), waiting + int(w or 0)
        return Backlog(total, waiting)

    async def dev_tasks_done(self, *, start: datetime, end: datetime) -> list[float]:
        """Seconds from creation to done of each developer task done in the period."""
        task = col(_E.detail)["task"].as_string()
        took = EpochSeconds(col(_E.at)) - EpochSeconds(col(DevTaskRow.created_at))
        stmt = (
            select(took)
            .join(
                DevTaskRow,
                and_(
                    col(DevTaskRow.ticket_id) == col(_E.ticket_id),
                    col(DevTaskRow.external_id) == task,
                ),
            )
            .where(_in_period(("dev_task_done",), start, end))
        )
        return [_seconds(value) for value in (await self._execute(stmt)).scalars().all()]

    async def findings(self, *, start: datetime, end: datetime) -> list[Finding]:
        """The forbidden-word events of the period."""
        stmt = select(col(_E.actor_kind), col(_E.actor), col(_E.detail)).where(
            _in_period(("forbidden_word",), start, end)
        )
        rows = (await self._execute(stmt)).tuples().all()
        return [Finding(kind, actor, _words(detail)) for kind, actor, detail in rows]

    async def digest_sent(self, *, week: date) -> bool:
        """Whether the digest of the week starting on ``week`` went out."""
        return await self._session.get(WeeklyDigestRow, week) is not None

    async def claim_digest(self, *, week: date, now: datetime) -> bool:
        """Mark the week's digest as sent; False if another run already did."""
        return await insert_ignoring_conflict(
            self._session, WeeklyDigestRow, {"week": week, "sent_at": now}, ["week"]
        )


def _in_period(kinds: Sequence[str], start: datetime, end: datetime) -> Any:
    return and_(col(_E.kind).in_(kinds), col(_E.at) >= start, col(_E.at) < end)


def _words(detail: Any) -> tuple[str, ...]:
    words = detail.get("words") if isinstance(detail, dict) else None
    return tuple(str(word) for word in words) if isinstance(words, list) else ()
