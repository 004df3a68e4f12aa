"""Reminder buttons (digest, /queue) and the /queue and /mine commands."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import NagAction, NagCb
from bot.i18n import Texts
from bot.replies import safe_answer
from dispatch.assignment import AssignmentService
from dispatch.events import Actor
from dispatch.lists import TicketLists
from dispatch.reminders import ReminderService


def reminders_router() -> Router:
    """Handlers for the ``ng:`` buttons and the list commands."""
    router = Router(name="reminders")
    router.callback_query.register(show_tapped, NagCb.filter(F.action == NagAction.SHOW))
    router.message.register(queue_command, Command("queue"))
    router.message.register(mine_command, Command("mine"), F.chat.type == "private")
    return router


async def show_tapped(
    query: CallbackQuery,
    callback_data: NagCb,
    reminders: ReminderService,
    assignment: AssignmentService,
    texts: Texts,
    actor: Actor,
) -> None:
    """Bring up a waiting ticket's card again, as a reply with the department buttons."""
    if assignment.dispatcher(actor) is None:
        await safe_answer(query, texts("Only dispatchers can dispatch tickets."), alert=True)
        return
    shown = await reminders.bring_up(ticket_id=callback_data.ticket)
    await safe_answer(query, None if shown else texts("Already assigned or closed."))


async def queue_command(message: Message, lists: TicketLists) -> None:
    """``/queue`` in the dispatch chat: the unassigned tickets, oldest first."""
    await lists.send_queue(chat_id=message.chat.id)


async def mine_command(message: Message, lists: TicketLists, texts: Texts, actor: Actor) -> None:
    """``/mine`` in a private chat: my open tickets."""
    if not await lists.send_mine(actor=actor):
        await message.answer(texts("I don't know you yet: ask an admin to add you."))
