"""Telegram messages stored against their ticket: the rows the outbox sends and edits."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import Update, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import MessageKind, TelegramMessageRow


@functools.cache
def _set_message_id_statement() -> Update:
    """Built once: the sender runs it for every delivered send."""
    table = TelegramMessageRow.__table__  # type: ignore[attr-defined]
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(message_id=bindparam("telegram_id"))
    )


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
        """A new, not yet delivered, message of a ticket, flushed: its id is known."""
        row = self.add(ticket_id=ticket_id, kind=kind, chat_id=chat_id)
        await self._session.flush()
        return row

    def add(self, *, ticket_id: int | None, kind: str, chat_id: int) -> TelegramMessageRow:
        """A new message whose id comes with the next flush.

        For a message that is only sent (``OutboxRepository.enqueue_send`` links the two,
        and that flush inserts both): a card costs no flush of its own. Use ``create``
        where the id is needed at once.
        """
        row = TelegramMessageRow(ticket_id=ticket_id, kind=kind, chat_id=chat_id)
        self._session.add(row)
        return row

    async def set_message_id(self, *, message_row_id: int, message_id: int) -> None:
        """Remember which Telegram message a delivered send became (a Core UPDATE: a row
        already loaded in this unit of work keeps the value it had)."""
        params = {"row_id": message_row_id, "telegram_id": message_id}
        await self._session.execute(_set_message_id_statement(), params)

    async def mark_withdrawn(self, *, message_row_ids: Sequence[int]) -> None:
        """These messages will never go out (their send was withdrawn)."""
        if not message_row_ids:
            return
        stmt = (
            update(TelegramMessageRow)
            .where(col(TelegramMessageRow.id).in_(list(message_row_ids)))
            .values(kind=MessageKind.WITHDRAWN)
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(stmt)

    async def get_by_telegram(self, *, chat_id: int, message_id: int) -> TelegramMessageRow | None:
        """The row for a Telegram message, e.g. the one a button was pressed on."""
        stmt = select(TelegramMessageRow).where(
            col(TelegramMessageRow.chat_id) == chat_id,
            col(TelegramMessageRow.message_id) == message_id,
        )
        return (await self._session.execute(stmt)).scalars().first()
