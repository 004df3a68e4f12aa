"""Repositories: every query Modest makes, with keyword-only arguments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import (
    LeaseRow,
    SyncStateRow,
    TelegramMessageRow,
    TicketRow,
    WebhookDeliveryRow,
)
from storage.types import rowcount, utcnow


def _insert(session: AsyncSession, table: type[Any]) -> Any:
    """An INSERT with the dialect's ON CONFLICT clauses (SQLite and PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        # Imported here: a service on SQLite never loads the PostgreSQL dialect (~2 MiB).
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    return sqlite_insert(table)


async def insert_ignoring_conflict(
    session: AsyncSession, table: type[Any], values: dict[str, Any], keys: list[str]
) -> bool:
    """Insert a row unless one with the same ``keys`` exists; True if inserted."""
    stmt = _insert(session, table).values(**values).on_conflict_do_nothing(index_elements=keys)
    return rowcount(await session.execute(stmt)) == 1


async def upsert(
    session: AsyncSession, table: type[Any], values: dict[str, Any], keys: list[str]
) -> None:
    """Insert a row, or update the one with the same ``keys`` to ``values``."""
    changes = {name: value for name, value in values.items() if name not in keys}
    stmt = _insert(session, table).values(**values)
    await session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=changes))


class TicketRepository:
    """Tickets and their assignment compare-and-set."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, *, ticket_id: int, for_update: bool = False) -> TicketRow | None:
        """One ticket by Modest's id."""
        stmt = select(TicketRow).where(col(TicketRow.id) == ticket_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def get_by_external(
        self, *, source: str, external_id: str, for_update: bool = False
    ) -> TicketRow | None:
        """One ticket by the helpdesk's id."""
        stmt = select(TicketRow).where(
            col(TicketRow.source) == source,
            col(TicketRow.external_id) == external_id,
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def find_by_reference(self, *, reference: str) -> Sequence[TicketRow]:
        """Tickets whose helpdesk id or number is ``reference`` (newest first)."""
        stmt = (
            select(TicketRow)
            .where(
                (col(TicketRow.external_id) == reference) | (col(TicketRow.number) == reference)
            )
            .order_by(col(TicketRow.id).desc())
        )
        return (await self._session.execute(stmt)).scalars().all()

    async def create(self, ticket: TicketRow) -> TicketRow:
        """Insert a ticket and give it its id."""
        self._session.add(ticket)
        await self._session.flush()
        return ticket

    async def claim_assignment(
        self,
        *,
        ticket_id: int,
        department_key: str,
        assignee_key: str,
        assigned_by: str,
        at: datetime,
        writeback: str,
    ) -> bool:
        """Assign an unassigned ticket; False if someone else got there first."""
        stmt = (
            update(TicketRow)
            .where(col(TicketRow.id) == ticket_id, col(TicketRow.state) == "unassigned")
            .values(
                state="assigned",
                department_key=department_key,
                assignee_key=assignee_key,
                assigned_by=assigned_by,
                assigned_at=at,
                writeback=writeback,
                writeback_error=None,
                version=col(TicketRow.version) + 1,
            )
            .execution_options(synchronize_session=False)
        )
        claimed = rowcount(await self._session.execute(stmt)) == 1
        if claimed:
            await self._refresh(ticket_id)
        return claimed

    async def set_writeback(self, *, ticket_id: int, state: str, error: str | None) -> None:
        """Record how the helpdesk write-back went."""
        stmt = (
            update(TicketRow)
            .where(col(TicketRow.id) == ticket_id)
            .values(writeback=state, writeback_error=error)
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(stmt)
        await self._refresh(ticket_id)

    async def _refresh(self, ticket_id: int) -> None:
        cached = await self._session.get(TicketRow, ticket_id)
        if cached is not None:
            await self._session.refresh(cached)

    async def open_assigned_to(self, *, assignee_key: str, limit: int) -> Sequence[TicketRow]:
        """Tickets assigned to a person and not closed, oldest first."""
        stmt = (
            select(TicketRow)
            .where(
                col(TicketRow.assignee_key) == assignee_key,
                col(TicketRow.state) == "assigned",
            )
            .order_by(col(TicketRow.received_at))
            .limit(limit)
        )
        return (await self._session.execute(stmt)).scalars().all()

    async def count_by_state(self) -> dict[str, int]:
        """How many tickets are in each state."""
        stmt = select(col(TicketRow.state), func.count()).group_by(col(TicketRow.state))
        return {state: int(n) for state, n in (await self._session.execute(stmt)).all()}


class MessageRepository:
    """Telegram messages stored against their ticket."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, *, message_row_id: int) -> TelegramMessageRow | None:
        """One message row by id."""
        return await self._session.get(TelegramMessageRow, message_row_id)

    async def find(self, *, ticket_id: int, kind: str) -> list[TelegramMessageRow]:
        """A ticket's messages of one kind."""
        stmt = select(TelegramMessageRow).where(
            col(TelegramMessageRow.ticket_id) == ticket_id,
            col(TelegramMessageRow.kind) == kind,
        )
        return list((await self._session.execute(stmt)).scalars().all())

    async def create(
        self, *, ticket_id: int | None, kind: str, chat_id: int
    ) -> TelegramMessageRow:
        """A new, not yet delivered, message of a ticket."""
        row = TelegramMessageRow(ticket_id=ticket_id, kind=kind, chat_id=chat_id)
        self._session.add(row)
        await self._session.flush()
        return row

    async def set_message_id(self, *, message_row_id: int, message_id: int) -> None:
        """Remember which Telegram message a delivered send became."""
        stmt = (
            update(TelegramMessageRow)
            .where(col(TelegramMessageRow.id) == message_row_id)
            .values(message_id=message_id)
        )
        await self._session.execute(stmt)

    async def get_by_telegram(self, *, chat_id: int, message_id: int) -> TelegramMessageRow | None:
        """The row for a Telegram message, e.g. the one a button was pressed on."""
        stmt = select(TelegramMessageRow).where(
            col(TelegramMessageRow.chat_id) == chat_id,
            col(TelegramMessageRow.message_id) == message_id,
        )
        return (await self._session.execute(stmt)).scalars().first()


class DeliveryRepository:
    """Webhook deliveries already accepted, for idempotency."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def remember(self, *, source: str, delivery_key: str) -> bool:
        """Record a delivery; False if it was seen before."""
        values = {"source": source, "delivery_key": delivery_key, "received_at": utcnow()}
        return await insert_ignoring_conflict(
            self._session, WebhookDeliveryRow, values, ["source", "delivery_key"]
        )


class SyncStateRepository:
    """Named values kept between runs of background work (polling watermarks)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, *, key: str) -> str | None:
        """The value stored under ``key``."""
        row = await self._session.get(SyncStateRow, key)
        return row.value if row else None

    async def replace(self, *, key: str, old: str, new: str) -> bool:
        """Set ``new`` only if the value is still ``old``; False if someone changed it."""
        stmt = (
            update(SyncStateRow)
            .where(col(SyncStateRow.key) == key, col(SyncStateRow.value) == old)
            .values(value=new, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return rowcount(await self._session.execute(stmt)) == 1

    async def add_if_absent(self, *, key: str, value: str) -> bool:
        """Store ``value`` unless ``key`` holds one already; True if it was stored."""
        values = {"key": key, "value": value, "updated_at": utcnow()}
        return await insert_ignoring_conflict(self._session, SyncStateRow, values, ["key"])

    async def put(self, *, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        row = await self._session.get(SyncStateRow, key)
        if row is None:
            self._session.add(SyncStateRow(key=key, value=value))
        else:
            row.value = value
            row.updated_at = utcnow()


class LeaseRepository:
    """Named leases: at most one holder at a time, until it stops renewing."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def acquire(self, *, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take or renew the lease; False while another holder's lease runs."""
        stmt = _insert(self._session, LeaseRow).values(name=name, holder=holder, expires_at=until)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"holder": holder, "expires_at": until},
            where=(col(LeaseRow.expires_at) < now) | (col(LeaseRow.holder) == holder),
        )
        return rowcount(await self._session.execute(stmt)) == 1

    async def release(self, *, name: str, holder: str) -> None:
        """Give the lease up at once (clean shutdown)."""
        await self._session.execute(
            delete(LeaseRow).where(col(LeaseRow.name) == name, col(LeaseRow.holder) == holder)
        )
