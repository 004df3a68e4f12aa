"""/start, the bot's membership in chats, and the catch-all for unknown presses."""

from __future__ import annotations

from aiogram import Router
from aiogram.enums import ChatMemberStatus
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

from bot.i18n import Texts
from bot.replies import safe_answer
from dispatch.chats import ChatAccess


def common_router() -> Router:
    """/start, and the bot being blocked, removed or added back."""
    router = Router(name="common")
    router.message.register(start_command, CommandStart())
    router.my_chat_member.register(membership_changed)
    return router


def fallback_router() -> Router:
    """Registered last: every press is answered, even for buttons we no longer know."""
    router = Router(name="fallback")
    router.callback_query.register(unknown_button)
    return router


async def start_command(message: Message, texts: Texts, chat_access: ChatAccess) -> None:
    """Greets the user; a user who blocked the bot and came back gets messages again."""
    greeting = texts("Hello! I will send you the tickets assigned to you here.")
    await chat_access.reopened(chat_id=message.chat.id, greeting={"text": greeting})


async def membership_changed(update: ChatMemberUpdated, chat_access: ChatAccess) -> None:
    """The bot was blocked, kicked or removed; or added back."""
    status = update.new_chat_member.status
    if status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR):
        await chat_access.reopened(chat_id=update.chat.id)
    elif status in (ChatMemberStatus.KICKED, ChatMemberStatus.LEFT):
        await chat_access.closed(chat_id=update.chat.id, reason=f"bot {status}")


async def unknown_button(query: CallbackQuery, texts: Texts) -> None:
    """A press on a button from an older version, or a forged one."""
    await safe_answer(query, texts("This button is out of date."), alert=True)
