"""Repositories: every query Modest makes, with keyword-only arguments."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import col

from storage.models import (
    LeaseRow,
    SyncStateRow,
    TicketRow,
    WebhookDeliveryRow,
)
from storage.ticket_lines import TicketLine, line_columns, lines_of
from storage.types import UTCDateTime, rowcount, utcnow


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


@functools.cache
def _remember_one_statement() -> TextClause:
    """One delivery, in the syntax SQLite and PostgreSQL share. A text statement: the
    dialects' ``on_conflict_do_nothing`` has no cache key, so it was compiled again for
    every webhook."""
    return text(
        "INSERT INTO webhook_delivery (source, delivery_key, received_at) "
        "VALUES (:source, :delivery_key, :received_at) "
        "ON CONFLICT (source, delivery_key) DO NOTHING"
    ).bindparams(bindparam("received_at", type_=UTCDateTime()))


@functools.cache
def _remember_statement(dialect: str) -> Any:
    """Built once per dialect: many deliveries, one statement (insertmanyvalues)."""
    table = WebhookDeliveryRow.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        # Imported here: a service on SQLite never loads the PostgreSQL dialect.
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return (
            pg_insert(table)
            .on_conflict_do_nothing(index_elements=["source", "delivery_key"])
            .returning(table.c.source, table.c.delivery_key)
        )
    return (
        sqlite_insert(table)
        .on_conflict_do_nothing(index_elements=["source", "delivery_key"])
        .returning(table.c.source, table.c.delivery_key)
    )


@functools.cache
def _create_tickets_statement() -> Any:
    """Built once: new tickets, one statement (insertmanyvalues), their ids returned."""
    table = TicketRow.__table__  # type: ignore[attr-defined]
    return insert(table).returning(table.c.id, table.c.source, table.c.external_id)


@functools.cache
def _by_external_statement(for_update: bool) -> Any:
    """Built once: the tickets of one source among many helpdesk ids (row locks on PG)."""
    stmt = select(TicketRow).where(
        col(TicketRow.source) == bindparam("source"),
        col(TicketRow.external_id).in_(bindparam("external_ids", expanding=True)),
    )
    return stmt.with_for_update() if for_update else stmt


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

    async def get_many(self, *, ticket_ids: Sequence[int]) -> list[TicketRow]:
        """Tickets by Modest's ids (those that exist), in no particular order."""
        if not ticket_ids:
            return []
        stmt = select(TicketRow).where(col(TicketRow.id).in_(list(ticket_ids)))
        return list((await self._session.execute(stmt)).scalars().all())

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

    async def get_many_by_external(
        self, *, source: str, external_ids: Sequence[str], for_update: bool = False
    ) -> list[TicketRow]:
        """The tickets of ``source`` among these helpdesk ids (those that exist)."""
        if not external_ids:
            return []
        params = {"source": source, "external_ids": sorted(set(external_ids))}
        result = await self._session.execute(_by_external_statement(for_update), params)
        return list(result.scalars().all())

    async def create_many(self, tickets: Sequence[TicketRow]) -> None:
        """Insert new tickets (distinct ``(source, external_id)``) in one multi-row INSERT
        ... RETURNING, give them their ids and make them this unit of work's rows.

        The ORM would insert them one by one on SQLite (it cannot match the returned ids
        to the rows there); the returned helpdesk ids can.
        """
        if not tickets:
            return
        table = TicketRow.__table__  # type: ignore[attr-defined]
        names = [column.key for column in table.columns if column.key != "id"]
        params = [{name: getattr(ticket, name) for name in names} for ticket in tickets]
        result = await self._session.execute(_create_tickets_statement(), params)
        ids = {(row[1], row[2]): row[0] for row in result}
        for ticket in tickets:
            ticket.id = ids[(ticket.source, ticket.external_id)]
            make_transient_to_detached(ticket)
            self._session.add(ticket)

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

    async def open_assigned_to(self, *, assignee_key: str, limit: int) -> list[TicketLine]:
        """Tickets assigned to a person and not closed, oldest first, as list lines (read
        in order from ``ix_ticket_assignee_state_received_at``, up to ``limit``)."""
        stmt = (
            line_columns()
            .where(
                col(TicketRow.assignee_key) == assignee_key,
                col(TicketRow.state) == "assigned",
            )
            .order_by(col(TicketRow.received_at))
            .limit(limit)
        )
        return lines_of((await self._session.execute(stmt)).all())

    async def open_counts(self, *, assignee_keys: Sequence[str]) -> dict[str, int]:
        """How many tickets each of these people has open (assigned, not closed)."""
        if not assignee_keys:
            return {}
        stmt = (
            select(col(TicketRow.assignee_key), func.count())
            .where(
                col(TicketRow.state) == "assigned",
                col(TicketRow.assignee_key).in_(list(assignee_keys)),
            )
            .group_by(col(TicketRow.assignee_key))
        )
        found = {key: int(n) for key, n in (await self._session.execute(stmt)).all()}
        return {key: found.get(key, 0) for key in assignee_keys}

    async def count_by_state(self) -> dict[str, int]:
        """How many tickets are in each state."""
        stmt = select(col(TicketRow.state), func.count()).group_by(col(TicketRow.state))
        return {state: int(n) for state, n in (await self._session.execute(stmt)).all()}


class DeliveryRepository:
    """Webhook deliveries already accepted, for idempotency."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def remember(self, *, source: str, delivery_key: str) -> bool:
        """Record a delivery; False if it was seen before."""
        values = {"source": source, "delivery_key": delivery_key, "received_at": utcnow()}
        return rowcount(await self._session.execute(_remember_one_statement(), values)) == 1

    async def remember_many(self, *, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Record many deliveries in one multi-row INSERT; the ``(source, delivery_key)``
        pairs that were new (the others were seen before). ``keys`` must be distinct."""
        if not keys:
            return set()
        at = utcnow()
        params = [{"source": s, "delivery_key": k, "received_at": at} for s, k in sorted(keys)]
        dialect = self._session.get_bind().dialect.name
        result = await self._session.execute(_remember_statement(dialect), params)
        return {(row[0], row[1]) for row in result}


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

    async def lock(self, *, key: str) -> str | None:
        """Hold ``key``'s row until the transaction ends (one holder at a time); its value.

        The row is made (empty) if missing, so there is always something to lock.
        """
        values = {"key": key, "value": "", "updated_at": utcnow()}
        await insert_ignoring_conflict(self._session, SyncStateRow, values, ["key"])
        stmt = select(col(SyncStateRow.value)).where(col(SyncStateRow.key) == key)
        value = (await self._session.execute(stmt.with_for_update())).scalar_one()
        return str(value) or None

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
