"""``/history N``: a ticket's timeline."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.i18n import Texts
from dispatch.events import Actor
from dispatch.history import HistoryCommand


def history_router() -> Router:
    """The ``/history`` command."""
    router = Router(name="history")
    router.message.register(history_command, Command("history"))
    return router


async def history_command(
    message: Message, command: CommandObject, history: HistoryCommand, texts: Texts, actor: Actor
) -> None:
    """In the dispatch chat, or privately for the ticket's assignee and leads."""
    reference = (command.args or "").strip()
    if not reference:
        await message.answer(texts("Write the ticket's number: /history 4101"))
        return
    if not await history.send(reference=reference, actor=actor, chat_id=message.chat.id):
        await message.answer(texts("Only the ticket's assignee and the dispatchers can see this."))
