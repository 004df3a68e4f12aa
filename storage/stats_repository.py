"""Aggregate reads of the ticket event log for statistics (``dispatch.stats``).

Every query picks events by ``(kind, at)`` (the ``ix_ticket_event_kind_at`` index)
and joins the ticket for what the event does not carry. Durations and local
dates are worked out by the caller: percentiles and time zones are not portable
SQL, and a month's rows are few enough to hand over.
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

_E = TicketEventRow
_T = TicketRow
_REPLIES = ("first_staff_reply", "staff_replied")
_ASSIGNMENTS = ("assigned", "reassigned")


@dataclass(frozen=True, slots=True)
class Arrival:
    """A ticket created in the period, as it is now."""

    at: datetime
    channel: str
    type: str
    priority: str
    status: str
    client_company: str
    client_email: str
    state: str
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Moment:
    """One event of a ticket, with when the ticket arrived and whose it is now."""

    ticket_id: int
    kind: str
    at: datetime
    arrived: datetime
    type: str
    priority: str
    assignee_key: str | None
    department_key: str | None


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

    async def arrivals(self, *, start: datetime, end: datetime) -> list[Arrival]:
        """Tickets whose ``created`` event falls in the period."""
        stmt = (
            select(
                col(_E.at),
                col(_T.channel),
                col(_T.type),
                col(_T.priority),
                col(_T.status),
                col(_T.client_company),
                col(_T.client_email),
                col(_T.state),
                col(_T.closed_at),
            )
            .join(_T, col(_T.id) == col(_E.ticket_id))
            .where(_in_period(("created",), start, end))
        )
        return [Arrival(*row) for row in (await self._session.execute(stmt)).tuples()]

    async def moments(
        self, *, kinds: Iterable[str], start: datetime, end: datetime, first_only: bool = False
    ) -> list[Moment]:
        """Events of ``kinds`` in the period with their tickets, oldest first.

        ``first_only``: only a ticket's first event of those kinds ever (its first
        assignment), so a ticket assigned again later is not counted again.
        """
        kinds = tuple(kinds)
        stmt = (
            select(
                col(_E.ticket_id),
                col(_E.kind),
                col(_E.at),
                col(_T.received_at),
                col(_T.type),
                col(_T.priority),
                col(_T.assignee_key),
                col(_T.department_key),
            )
            .join(_T, col(_T.id) == col(_E.ticket_id))
            .where(_in_period(kinds, start, end))
            .order_by(col(_E.at))
        )
        if first_only:
            earlier = aliased(_E)
            stmt = stmt.where(
                ~exists().where(
                    col(earlier.ticket_id) == col(_E.ticket_id),
                    col(earlier.kind).in_(kinds),
                    col(earlier.id) < col(_E.id),
                )
            )
        return [Moment(*row) for row in (await self._session.execute(stmt)).tuples()]

    async def count(self, *, kind: str, start: datetime, end: datetime) -> int:
        """How many events of one kind the period holds."""
        stmt = select(func.count()).select_from(_E).where(_in_period((kind,), start, end))
        return int((await self._session.execute(stmt)).scalar_one())

    async def assignments_to(
        self, *, field: str, start: datetime, end: datetime
    ) -> dict[str, int]:
        """Assignments in the period by who (``assignee``) or where (``department``) they went."""
        target = col(_E.changes)[(field, 1)].as_string()
        stmt = (
            select(target, func.count())
            .where(_in_period(_ASSIGNMENTS, start, end), target.is_not(None))
            .group_by(target)
        )
        return {str(key): int(n) for key, n in (await self._session.execute(stmt)).tuples()}

    async def replies_by_person(self, *, start: datetime, end: datetime) -> dict[str, int]:
        """Staff replies in the period by the routing-file person who wrote them."""
        stmt = (
            select(col(_E.actor), func.count())
            .where(_in_period(_REPLIES, start, end), col(_E.actor_kind) == "person")
            .group_by(col(_E.actor))
        )
        return {str(key): int(n) for key, n in (await self._session.execute(stmt)).tuples()}

    async def minutes_by_person(self, *, first: date, last: date) -> list[PersonMinutes]:
        """Recorded time of tickets closed on ``first`` … ``last`` (local days), per person."""
        minutes = func.sum(col(TimeEntryRow.minutes))
        stmt = (
            select(col(TimeEntryRow.person_key), col(TimeEntryRow.billable), minutes)
            .where(col(TimeEntryRow.closed_on) >= first, col(TimeEntryRow.closed_on) <= last)
            .group_by(col(TimeEntryRow.person_key), col(TimeEntryRow.billable))
        )
        rows = (await self._session.execute(stmt)).tuples()
        return [PersonMinutes(key, bool(billable), int(n or 0)) for key, billable, n in rows]

    async def backlog(self, *, at: datetime) -> Backlog:
        """Tickets that had arrived and were not closed at ``at``.

        Read from the tickets' last close and last assignment: a ticket closed
        before ``at`` and reopened after it counts as closed then.
        """
        unassigned = or_(col(_T.assigned_at).is_(None), col(_T.assigned_at) > at)
        stmt = select(func.count(), func.sum(case((unassigned, 1), else_=0))).where(
            col(_T.received_at) < at,
            or_(
                col(_T.state) != "closed",
                and_(col(_T.closed_at).is_not(None), col(_T.closed_at) > at),
            ),
        )
        total, waiting = (await self._session.execute(stmt)).tuples().one()
        return Backlog(int(total or 0), int(waiting or 0))

    async def dev_tasks_done(
        self, *, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """(done at, task created at) of each developer task done in the period."""
        task = col(_E.detail)["task"].as_string()
        stmt = (
            select(col(_E.at), col(DevTaskRow.created_at))
            .join(
                DevTaskRow,
                and_(
                    col(DevTaskRow.ticket_id) == col(_E.ticket_id),
                    col(DevTaskRow.external_id) == task,
                ),
            )
            .where(_in_period(("dev_task_done",), start, end))
        )
        return list((await self._session.execute(stmt)).tuples())

    async def findings(self, *, start: datetime, end: datetime) -> list[Finding]:
        """The forbidden-word events of the period."""
        stmt = select(col(_E.actor_kind), col(_E.actor), col(_E.detail)).where(
            _in_period(("forbidden_word",), start, end)
        )
        rows = (await self._session.execute(stmt)).tuples()
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
