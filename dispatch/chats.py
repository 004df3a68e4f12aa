"""Whether Telegram chats take our messages: blocked, and open again."""

from __future__ import annotations

import structlog

from dispatch.views import Payload
from storage.db import Database

log = structlog.get_logger(__name__)


class ChatAccess:
    """Marks chats that refuse the bot and clears the mark when they take it back."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def reopened(self, *, chat_id: int, greeting: Payload | None = None) -> None:
        """The user started the bot again, or the bot is back in a group."""
        async with self._db.unit_of_work() as uow:
            if await uow.outbox.unblock(chat_id=chat_id):
                log.info("chat.unblocked", chat_id=chat_id)
            if greeting is not None:
                uow.outbox.enqueue_plain(chat_id=chat_id, payload=greeting)
            await uow.commit()

    async def send(self, *, chat_id: int, payload: Payload) -> None:
        """Queue an answer to a command (the outbox keeps to Telegram's limits)."""
        async with self._db.unit_of_work() as uow:
            uow.outbox.enqueue_plain(chat_id=chat_id, payload=payload)
            await uow.commit()

    async def closed(self, *, chat_id: int, reason: str) -> None:
        """The user blocked the bot, or it was removed from the chat."""
        async with self._db.unit_of_work() as uow:
            await uow.outbox.mark_blocked(chat_id=chat_id, reason=reason)
            await uow.commit()
        log.warning("chat.blocked", chat_id=chat_id, reason=reason)
