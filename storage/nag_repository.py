"""Reminder state of unassigned tickets: start, stop, claim the due ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import (
    MessageKind,
    NagRow,
    OutboxRow,
    OutboxStatus,
    TelegramMessageRow,
    TicketRow,
)
from storage.ticket_lines import TicketLine, line_columns, lines_of

#: Ids per IN list: well under SQLite's and asyncpg's limits on bound parameters.
_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class DueNag:
    """A reminder that is due, with what a reminder or digest line shows."""

    ticket_id: int
    count: int
    last_message_id: int | None
    number: str
    subject: str
    received_at: datetime


class NagRepository:
    """Queries on the ``nag`` table."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, *, ticket_id: int) -> NagRow | None:
        """A ticket's reminder state."""
        return await self._session.get(NagRow, ticket_id)

    async def start(self, *, ticket_id: int, next_at: datetime, fresh: bool = False) -> NagRow:
        """Begin (or resume) reminding about a ticket (``fresh``: it has never had one)."""
        nag = None if fresh else await self._session.get(NagRow, ticket_id)
        if nag is None:
            nag = NagRow(ticket_id=ticket_id, next_at=next_at)
            self._session.add(nag)
        else:
            nag.active, nag.next_at, nag.count, nag.escalations = True, next_at, 0, 0
        return nag

    async def stop(self, *, ticket_id: int) -> NagRow | None:
        """Stop reminding; the row stays for its last reminder message."""
        nag = await self._session.get(NagRow, ticket_id)
        if nag is not None:
            nag.active = False
        return nag

    async def claim_due(
        self, *, now: datetime, limit: int, priorities: frozenset[str] | None = None
    ) -> list[DueNag]:
        """Due reminders, locked so no other instance takes them (``priorities``: only those).

        Plain column tuples, not ORM objects: a digest pass may claim ten thousand.
        """
        stmt = (
            select(
                col(NagRow.ticket_id),
                col(NagRow.count),
                col(NagRow.last_message_id),
                col(TicketRow.number),
                col(TicketRow.subject),
                col(TicketRow.received_at),
            )
            .join(TicketRow, col(TicketRow.id) == col(NagRow.ticket_id))
            .where(col(NagRow.active).is_(True), col(NagRow.next_at) <= now)
            .order_by(col(NagRow.next_at))
            .limit(limit)
            # Row locks, skipping rows another instance holds: each reminder goes once.
            .with_for_update(skip_locked=True, of=NagRow)
        )
        if priorities is not None:
            stmt = stmt.where(col(TicketRow.priority).in_(priorities))
        rows = (await self._session.execute(stmt)).all()
        return [DueNag(*row) for row in rows]

    async def advance(self, *, ticket_ids: Sequence[int], next_at: datetime) -> None:
        """Count one more reminder for each ticket and schedule the next one."""
        for start in range(0, len(ticket_ids), _CHUNK):
            chunk = ticket_ids[start : start + _CHUNK]
            await self._session.execute(
                update(NagRow)
                .where(col(NagRow.ticket_id).in_(chunk))
                .values(count=NagRow.count + 1, next_at=next_at)
                .execution_options(synchronize_session=False)
            )

    async def set_last_message(self, *, ticket_id: int, message_id: int | None) -> None:
        """Remember the ticket's live reminder message (None: there is none)."""
        await self._session.execute(
            update(NagRow)
            .where(col(NagRow.ticket_id) == ticket_id)
            .values(last_message_id=message_id)
            .execution_options(synchronize_session=False)
        )

    async def count_escalations(self, *, ticket_ids: Sequence[int]) -> None:
        """Record that these tickets were escalated once more."""
        for start in range(0, len(ticket_ids), _CHUNK):
            await self._session.execute(
                update(NagRow)
                .where(col(NagRow.ticket_id).in_(ticket_ids[start : start + _CHUNK]))
                .values(escalations=NagRow.escalations + 1)
                .execution_options(synchronize_session=False)
            )

    async def next_due_at(self) -> datetime | None:
        """When the earliest active reminder is due."""
        stmt = select(func.min(col(NagRow.next_at))).where(col(NagRow.active).is_(True))
        value = (await self._session.execute(stmt)).scalar_one_or_none()
        return value if isinstance(value, datetime) else None

    async def waiting(self, *, limit: int) -> list[TicketLine]:
        """Unassigned tickets being reminded about, oldest first, as list lines.

        Read in order from ``ix_ticket_state_received_at`` (the unassigned ones), each
        checked for an active reminder, up to ``limit``: no sort of every reminder.
        """
        stmt = (
            line_columns()
            .join(NagRow, col(TicketRow.id) == col(NagRow.ticket_id))
            .where(col(TicketRow.state) == "unassigned", col(NagRow.active).is_(True))
            .order_by(col(TicketRow.received_at))
            .limit(limit)
        )
        return lines_of((await self._session.execute(stmt)).all())

    async def drop_queued_reminders(self, *, ticket_id: int) -> int:
        """Supersede reminder and escalation sends of a ticket not yet delivered."""
        reminder_rows = select(col(TelegramMessageRow.id)).where(
            col(TelegramMessageRow.ticket_id) == ticket_id,
            col(TelegramMessageRow.kind).in_((MessageKind.REMINDER, MessageKind.ESCALATION)),
        )
        stmt = (
            update(OutboxRow)
            .where(
                col(OutboxRow.target_id).in_(reminder_rows),
                col(OutboxRow.status) == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.SUPERSEDED)
            .execution_options(synchronize_session=False)
        )
        result = await self._session.execute(stmt)
        return int(result.rowcount)  # type: ignore[attr-defined]
