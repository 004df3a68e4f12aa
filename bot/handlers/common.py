"""/start, and the catch-all that answers presses no other handler took."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery, Message

from bot.i18n import Texts
from bot.replies import safe_answer
from storage.db import Database
from storage.outbox import OutboxSender


def common_router() -> Router:
    """/start in private chats."""
    router = Router(name="common")
    router.message.register(start_command, CommandStart())
    return router


def fallback_router() -> Router:
    """Registered last: every press is answered, even for buttons we no longer know."""
    router = Router(name="fallback")
    router.callback_query.register(unknown_button)
    return router


async def start_command(
    message: Message, texts: Texts, database: Database, outbox_sender: OutboxSender
) -> None:
    """Greets the user; a user who blocked the bot and came back gets messages again."""
    async with database.unit_of_work() as uow:
        await uow.outbox.unblock(chat_id=message.chat.id)
        greeting = texts("Hello! I will send you the tickets assigned to you here.")
        uow.outbox.enqueue_plain(chat_id=message.chat.id, payload={"text": greeting})
        await uow.commit()
    outbox_sender.forget_block(message.chat.id)


async def unknown_button(query: CallbackQuery, texts: Texts) -> None:
    """A press on a button from an older version, or a forged one."""
    await safe_answer(query, texts("This button is out of date."), alert=True)
