"""Time prompts, time entries, month locks and package alerts."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import (
    MonthLockRow,
    PackageAlertRow,
    TelegramMessageRow,
    TicketRow,
    TimeEntryRow,
    TimePromptRow,
)
from storage.repositories import insert_ignoring_conflict


class TimeRepository:
    """Queries for time tracking and monthly reports."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_prompt(self, prompt: TimePromptRow) -> TimePromptRow:
        """Store a new prompt and give it its id."""
        self._session.add(prompt)
        await self._session.flush()
        return prompt

    async def prompt(self, *, prompt_id: int) -> TimePromptRow | None:
        """One prompt."""
        return await self._session.get(TimePromptRow, prompt_id)

    async def prompt_by_question(self, *, question_id: int) -> TimePromptRow | None:
        """The prompt whose "other…" question is this message row."""
        stmt = select(TimePromptRow).where(col(TimePromptRow.question_id) == question_id)
        return (await self._session.execute(stmt)).scalars().first()

    async def prompt_of_message(self, *, message: TelegramMessageRow) -> TimePromptRow | None:
        """The newest prompt of the ticket a prompt message (first or re-asked) belongs to."""
        stmt = (
            select(TimePromptRow)
            .where(
                col(TimePromptRow.ticket_id) == message.ticket_id,
                col(TimePromptRow.chat_id) == message.chat_id,
            )
            .order_by(col(TimePromptRow.round).desc())
            .limit(1)
        )
        return (await self._session.execute(stmt)).scalars().first()

    async def open_prompts(self, *, person_key: str, limit: int = 2) -> Sequence[TimePromptRow]:
        """A person's unanswered prompts (up to ``limit``)."""
        stmt = (
            select(TimePromptRow)
            .where(
                col(TimePromptRow.person_key) == person_key,
                col(TimePromptRow.state) == "asked",
            )
            .limit(limit)
        )
        return (await self._session.execute(stmt)).scalars().all()

    async def rounds(self, *, ticket_id: int) -> int:
        """How many times this ticket's assignee was already asked (one per close)."""
        stmt = select(func.count()).where(col(TimePromptRow.ticket_id) == ticket_id)
        return int((await self._session.execute(stmt)).scalar_one())

    async def due_prompts(self, *, now: datetime, limit: int) -> Sequence[TimePromptRow]:
        """Unanswered prompts whose time to ask again has come, locked for this instance."""
        stmt = (
            select(TimePromptRow)
            .where(col(TimePromptRow.state) == "asked", col(TimePromptRow.next_ask_at) <= now)
            .order_by(col(TimePromptRow.next_ask_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self._session.execute(stmt)).scalars().all()

    async def unanswered(self) -> Sequence[tuple[TimePromptRow, TicketRow]]:
        """Closed tickets still without time, with their tickets."""
        stmt = (
            select(TimePromptRow, TicketRow)
            .join(TicketRow, col(TicketRow.id) == col(TimePromptRow.ticket_id))
            .where(col(TimePromptRow.state) == "asked")
            .order_by(col(TimePromptRow.person_key), col(TimePromptRow.closed_at))
        )
        return list((await self._session.execute(stmt)).tuples().all())

    async def entry(self, *, ticket_id: int, round: int) -> TimeEntryRow | None:
        """The entry for one close of a ticket."""
        stmt = select(TimeEntryRow).where(
            col(TimeEntryRow.ticket_id) == ticket_id, col(TimeEntryRow.round) == round
        )
        return (await self._session.execute(stmt)).scalars().first()

    async def add_entry(self, entry: TimeEntryRow) -> None:
        """Store a new entry."""
        self._session.add(entry)
        await self._session.flush()

    async def billable_minutes(self, *, client_key: str, month: str) -> int:
        """A client's billable minutes in a month."""
        stmt = select(func.coalesce(func.sum(TimeEntryRow.minutes), 0)).where(
            col(TimeEntryRow.client_key) == client_key,
            col(TimeEntryRow.month) == month,
            col(TimeEntryRow.billable).is_(True),
        )
        return int((await self._session.execute(stmt)).scalar_one())

    async def ticket_minutes(self, *, ticket_id: int) -> int:
        """All time recorded on a ticket, over every close."""
        stmt = select(func.coalesce(func.sum(TimeEntryRow.minutes), 0)).where(
            col(TimeEntryRow.ticket_id) == ticket_id
        )
        return int((await self._session.execute(stmt)).scalar_one())

    async def entries(
        self, *, client_key: str | None, month: str
    ) -> Sequence[tuple[TimeEntryRow, TicketRow]]:
        """A client's entries in a month with their tickets, by close date."""
        stmt = (
            select(TimeEntryRow, TicketRow)
            .join(TicketRow, col(TicketRow.id) == col(TimeEntryRow.ticket_id))
            .where(col(TimeEntryRow.client_key) == client_key, col(TimeEntryRow.month) == month)
            .order_by(col(TimeEntryRow.closed_on), col(TimeEntryRow.id))
        )
        return list((await self._session.execute(stmt)).tuples().all())

    async def clients_with_entries(self, *, month: str) -> set[str]:
        """Clients with any time entry in the month."""
        stmt = (
            select(col(TimeEntryRow.client_key))
            .where(col(TimeEntryRow.month) == month, col(TimeEntryRow.client_key).is_not(None))
            .distinct()
        )
        return {key for key in (await self._session.execute(stmt)).scalars().all() if key}

    async def guard_month(self, *, client_key: str, month: str) -> None:
        """Serialise, until commit, everything that reads or changes a client's month.

        Recording time and issuing the report both take it, so no entry lands in a
        month whose report is going out. SQLite already runs one writer at a time.
        """
        if self._session.get_bind().dialect.name != "postgresql":
            return
        key = int.from_bytes(
            hashlib.sha256(f"{client_key}/{month}".encode()).digest()[:8], "big", signed=True
        )
        await self._session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    async def is_locked(self, *, client_key: str, month: str) -> bool:
        """Whether the client's month report was issued."""
        return await self._session.get(MonthLockRow, (client_key, month)) is not None

    async def lock(self, *, client_key: str, month: str) -> bool:
        """Lock a client's month; False if it already was (another instance issued it)."""
        return await insert_ignoring_conflict(
            self._session,
            MonthLockRow,
            {"client_key": client_key, "month": month},
            ["client_key", "month"],
        )

    async def alert_once(self, *, client_key: str, month: str, threshold: int) -> bool:
        """Record a package alert; False if this threshold was already announced."""
        return await insert_ignoring_conflict(
            self._session,
            PackageAlertRow,
            {"client_key": client_key, "month": month, "threshold": threshold},
            ["client_key", "month", "threshold"],
        )
