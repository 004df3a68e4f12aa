"""Queries of the client cabinet: accounts, sessions, throttling, a client's tickets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import MonthLockRow, TicketRow, TimeEntryRow
from storage.portal_models import (
    ClientTicketRow,
    PortalAttemptRow,
    PortalInviteRow,
    PortalLockRow,
    PortalSessionRow,
    PortalUserRow,
    TicketAttachmentRow,
)
from storage.repositories import _insert, insert_ignoring_conflict
from storage.types import rowcount


@dataclass(frozen=True, slots=True)
class TicketQuery:
    """Which of a client's tickets to list; empty fields do not filter."""

    client_key: str
    states: frozenset[str] = frozenset()
    status_in: frozenset[str] = frozenset()
    status_not_in: frozenset[str] = frozenset()
    created_from: datetime | None = None
    created_before: datetime | None = None
    requester: str | None = None
    #: Each word must be in the subject, or the whole text be the number.
    words: tuple[str, ...] = field(default=())
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    """An attachment without its bytes."""

    id: int
    filename: str
    content_type: str
    size: int


def _created() -> ColumnElement[datetime]:
    return func.coalesce(col(TicketRow.created_at), col(TicketRow.received_at))


def _variants(word: str) -> set[str]:
    # SQLite folds the case of ASCII letters only: the usual spellings of a word cover
    # Cyrillic subjects there (PostgreSQL's ILIKE folds every letter).
    return {word, word.lower(), word.upper(), word.capitalize()}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PortalRepository:
    """Every query the cabinet makes."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # Accounts and invitations

    async def user(self, *, user_id: int) -> PortalUserRow | None:
        """One user by id."""
        return await self._session.get(PortalUserRow, user_id)

    async def user_by_email(self, *, email: str) -> PortalUserRow | None:
        """The user with this (lower-cased) e-mail address."""
        stmt = select(PortalUserRow).where(col(PortalUserRow.email) == email)
        return (await self._session.execute(stmt)).scalars().first()

    async def add(self, row: PortalUserRow | PortalInviteRow | TicketAttachmentRow) -> None:
        """Insert a row and give it its id."""
        self._session.add(row)
        await self._session.flush()

    async def expire_invites(self, *, user_id: int, now: datetime) -> None:
        """End every unused invitation of a user (a new one replaces them)."""
        await self._session.execute(
            update(PortalInviteRow)
            .where(col(PortalInviteRow.user_id) == user_id, col(PortalInviteRow.used_at).is_(None))
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )

    async def invite(self, *, token_hash: str) -> PortalInviteRow | None:
        """The invitation with this digest, locked until commit."""
        stmt = (
            select(PortalInviteRow)
            .where(col(PortalInviteRow.token_hash) == token_hash)
            .with_for_update()
        )
        return (await self._session.execute(stmt)).scalars().first()

    # Sessions

    def add_session(self, row: PortalSessionRow) -> None:
        """Store a new session."""
        self._session.add(row)

    async def session(self, *, session_id: str) -> PortalSessionRow | None:
        """One session by the digest of its cookie."""
        return await self._session.get(PortalSessionRow, session_id)

    async def sessions_of(self, *, user_id: int, now: datetime) -> Sequence[PortalSessionRow]:
        """A user's unexpired sessions, the newest first."""
        stmt = (
            select(PortalSessionRow)
            .where(
                col(PortalSessionRow.user_id) == user_id, col(PortalSessionRow.expires_at) > now
            )
            .order_by(col(PortalSessionRow.last_seen_at).desc())
        )
        return (await self._session.execute(stmt)).scalars().all()

    async def end_sessions(self, *, user_id: int, keep: str | None = None) -> int:
        """Delete a user's sessions (but ``keep``); how many."""
        stmt = delete(PortalSessionRow).where(col(PortalSessionRow.user_id) == user_id)
        if keep is not None:
            stmt = stmt.where(col(PortalSessionRow.id) != keep)
        return rowcount(await self._session.execute(stmt))

    async def end_session(self, *, session_id: str) -> None:
        """Delete one session."""
        await self._session.execute(
            delete(PortalSessionRow).where(col(PortalSessionRow.id) == session_id)
        )

    # Throttling

    def add_attempt(self, *, email: str, address: str, outcome: str, at: datetime) -> None:
        """Record a sign-in attempt (or a password request)."""
        self._session.add(PortalAttemptRow(email=email, address=address, outcome=outcome, at=at))

    async def count_attempts(
        self,
        *,
        outcome: str,
        since: datetime,
        email: str | None = None,
        address: str | None = None,
    ) -> int:
        """Attempts with this outcome since a time, by account or by address."""
        stmt = select(func.count()).where(
            col(PortalAttemptRow.outcome) == outcome, col(PortalAttemptRow.at) >= since
        )
        if email is not None:
            stmt = stmt.where(col(PortalAttemptRow.email) == email)
        if address is not None:
            stmt = stmt.where(col(PortalAttemptRow.address) == address)
        await self._session.flush()
        return int((await self._session.execute(stmt)).scalar_one())

    async def locked_until(self, *, keys: Sequence[str], now: datetime) -> datetime | None:
        """The latest lock still running on any of ``keys``."""
        stmt = select(func.max(col(PortalLockRow.until))).where(
            col(PortalLockRow.key).in_(list(keys)), col(PortalLockRow.until) > now
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def lock(self, *, key: str, until: datetime) -> None:
        """Lock an account or address until ``until``."""
        stmt = _insert(self._session, PortalLockRow).values(key=key, until=until)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"until": until})
        await self._session.execute(stmt)

    async def prune(self, *, now: datetime, attempts_before: datetime) -> int:
        """Delete expired sessions, invitations and locks, and old attempts."""
        removed = 0
        for stmt in (
            delete(PortalSessionRow).where(col(PortalSessionRow.expires_at) < now),
            delete(PortalLockRow).where(col(PortalLockRow.until) < now),
            delete(PortalAttemptRow).where(col(PortalAttemptRow.at) < attempts_before),
            delete(PortalInviteRow).where(col(PortalInviteRow.expires_at) < attempts_before),
        ):
            removed += rowcount(await self._session.execute(stmt))
        return removed

    # Which client a ticket belongs to

    async def client_of(self, *, ticket_id: int) -> ClientTicketRow | None:
        """The stored client of a ticket."""
        return await self._session.get(ClientTicketRow, ticket_id)

    async def set_client(self, *, ticket_id: int, client_key: str | None, pinned: bool) -> None:
        """Store (or replace) a ticket's client."""
        stmt = _insert(self._session, ClientTicketRow).values(
            ticket_id=ticket_id, client_key=client_key, pinned=pinned
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["ticket_id"], set_={"client_key": client_key, "pinned": pinned}
        )
        await self._session.execute(stmt)

    async def add_client_if_missing(self, *, ticket_id: int, client_key: str | None) -> bool:
        """Store a ticket's client unless one is stored; True if stored."""
        values = {"ticket_id": ticket_id, "client_key": client_key, "pinned": False}
        return await insert_ignoring_conflict(
            self._session, ClientTicketRow, values, ["ticket_id"]
        )

    async def tickets_without_client(self, *, after_id: int, limit: int) -> Sequence[TicketRow]:
        """Tickets whose client was never worked out, by id."""
        stmt = (
            select(TicketRow)
            .outerjoin(ClientTicketRow, col(ClientTicketRow.ticket_id) == col(TicketRow.id))
            .where(col(ClientTicketRow.ticket_id).is_(None), col(TicketRow.id) > after_id)
            .order_by(col(TicketRow.id))
            .limit(limit)
        )
        return (await self._session.execute(stmt)).scalars().all()

    async def unpinned_tickets(self, *, after_id: int, limit: int) -> Sequence[TicketRow]:
        """Tickets whose client came from the match rules, by id."""
        stmt = (
            select(TicketRow)
            .join(ClientTicketRow, col(ClientTicketRow.ticket_id) == col(TicketRow.id))
            .where(col(ClientTicketRow.pinned).is_(False), col(TicketRow.id) > after_id)
            .order_by(col(TicketRow.id))
            .limit(limit)
        )
        return (await self._session.execute(stmt)).scalars().all()

    # A client's tickets

    async def client_tickets(self, query: TicketQuery) -> tuple[list[tuple[TicketRow, int]], int]:
        """One page of a client's tickets (newest first) with their minutes, and the total."""
        conditions = self._conditions(query)
        minutes = (
            select(
                col(TimeEntryRow.ticket_id).label("ticket_id"),
                func.sum(col(TimeEntryRow.minutes)).label("minutes"),
            )
            .group_by(col(TimeEntryRow.ticket_id))
            .subquery()
        )
        base = select(TicketRow).join(
            ClientTicketRow, col(ClientTicketRow.ticket_id) == col(TicketRow.id)
        )
        total = (
            await self._session.execute(
                select(func.count()).select_from(base.where(*conditions).subquery())
            )
        ).scalar_one()
        stmt = (
            select(TicketRow, func.coalesce(minutes.c.minutes, 0))
            .join(ClientTicketRow, col(ClientTicketRow.ticket_id) == col(TicketRow.id))
            .outerjoin(minutes, minutes.c.ticket_id == col(TicketRow.id))
            .where(*conditions)
            .order_by(_created().desc(), col(TicketRow.id).desc())
            .offset(query.offset)
            .limit(query.limit)
        )
        rows = [(ticket, int(spent)) for ticket, spent in (await self._session.execute(stmt))]
        return rows, int(total)

    def _conditions(self, query: TicketQuery) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [
            col(ClientTicketRow.client_key) == query.client_key
        ]
        if query.states:
            conditions.append(col(TicketRow.state).in_(sorted(query.states)))
        if query.status_in:
            conditions.append(col(TicketRow.status).in_(sorted(query.status_in)))
        if query.status_not_in:
            conditions.append(col(TicketRow.status).not_in(sorted(query.status_not_in)))
        if query.created_from is not None:
            conditions.append(_created() >= query.created_from)
        if query.created_before is not None:
            conditions.append(_created() < query.created_before)
        if query.requester:
            conditions.append(col(TicketRow.client_email) == query.requester)
        if query.words:
            in_subject = and_(
                *(
                    or_(
                        *(
                            col(TicketRow.subject).ilike(f"%{_escape_like(v)}%", escape="\\")
                            for v in _variants(word)
                        )
                    )
                    for word in query.words
                )
            )
            number = " ".join(query.words).removeprefix("#")
            conditions.append(or_(in_subject, col(TicketRow.number) == number))
        return conditions

    async def requesters(self, *, client_key: str) -> list[tuple[str, str]]:
        """Who sent a client's tickets: (e-mail, name), by e-mail."""
        stmt = (
            select(col(TicketRow.client_email), func.max(col(TicketRow.client_name)))
            .join(ClientTicketRow, col(ClientTicketRow.ticket_id) == col(TicketRow.id))
            .where(
                col(ClientTicketRow.client_key) == client_key, col(TicketRow.client_email) != ""
            )
            .group_by(col(TicketRow.client_email))
            .order_by(col(TicketRow.client_email))
        )
        return [(email, name or "") for email, name in await self._session.execute(stmt)]

    async def client_ticket(self, *, client_key: str, number: str) -> TicketRow | None:
        """A client's ticket by its number (the newest, should two share it)."""
        stmt = (
            select(TicketRow)
            .join(ClientTicketRow, col(ClientTicketRow.ticket_id) == col(TicketRow.id))
            .where(col(ClientTicketRow.client_key) == client_key, col(TicketRow.number) == number)
            .order_by(col(TicketRow.id).desc())
        )
        return (await self._session.execute(stmt)).scalars().first()

    # Attachments and reports

    async def attachments(self, *, ticket_id: int) -> list[AttachmentInfo]:
        """A ticket's attachments, without their bytes."""
        stmt = (
            select(
                col(TicketAttachmentRow.id),
                col(TicketAttachmentRow.filename),
                col(TicketAttachmentRow.content_type),
                col(TicketAttachmentRow.size),
            )
            .where(col(TicketAttachmentRow.ticket_id) == ticket_id)
            .order_by(col(TicketAttachmentRow.id))
        )
        return [AttachmentInfo(*row) for row in await self._session.execute(stmt)]

    async def attachment(
        self, *, ticket_id: int, attachment_id: int
    ) -> TicketAttachmentRow | None:
        """One attachment of a ticket, with its bytes."""
        stmt = select(TicketAttachmentRow).where(
            col(TicketAttachmentRow.id) == attachment_id,
            col(TicketAttachmentRow.ticket_id) == ticket_id,
        )
        return (await self._session.execute(stmt)).scalars().first()

    async def issued_months(self, *, client_key: str) -> list[MonthLockRow]:
        """The months whose report was issued for a client, the newest first."""
        stmt = (
            select(MonthLockRow)
            .where(col(MonthLockRow.client_key) == client_key)
            .order_by(col(MonthLockRow.month).desc())
        )
        return list((await self._session.execute(stmt)).scalars().all())
