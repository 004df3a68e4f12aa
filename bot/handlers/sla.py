"""``/sla`` in the dispatch chat and its buttons to the tickets' cards."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import SlaAction, SlaCb
from bot.i18n import Texts
from bot.replies import safe_answer
from dispatch.events import Actor
from dispatch.sla.scan import ShowOutcome, SlaService


def sla_router() -> Router:
    """The ``/sla`` command and the ``sl:`` buttons."""
    router = Router(name="sla")
    router.message.register(sla_command, Command("sla"))
    router.callback_query.register(show_tapped, SlaCb.filter(F.action == SlaAction.SHOW))
    return router


async def sla_command(message: Message, sla: SlaService, texts: Texts) -> None:
    """Tickets at risk and overdue, most urgent first (the dispatch chat only)."""
    if not await sla.send_list(chat_id=message.chat.id):
        await message.answer(texts("/sla works in the dispatch chat."))


async def show_tapped(
    query: CallbackQuery, callback_data: SlaCb, sla: SlaService, texts: Texts, actor: Actor
) -> None:
    """Bring up the ticket's card in the dispatch chat."""
    outcome = await sla.show_card(ticket_id=callback_data.ticket, actor=actor)
    if outcome == ShowOutcome.OK:
        await safe_answer(query, None)
    elif outcome == ShowOutcome.NOT_ALLOWED:
        await safe_answer(
            query, texts("Only dispatchers and leads can bring up cards."), alert=True
        )
    else:
        await safe_answer(query, texts("This button is out of date."), alert=True)
