"""``/stats [period]`` and its section buttons."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.callbacks import StatsCb
from bot.i18n import Texts
from bot.replies import safe_answer
from bot.stats_renderers import number_day
from dispatch.events import Actor
from dispatch.stats.command import Access, StatsReports
from dispatch.stats.period import PeriodError


def stats_router() -> Router:
    """The ``/stats`` command and the ``st:`` buttons."""
    router = Router(name="stats")
    router.message.register(stats_command, Command("stats"))
    router.callback_query.register(section_pressed, StatsCb.filter())
    return router


def refusal(access: Access, texts: Texts) -> str:
    """Why statistics are not shown."""
    if access == Access.WRONG_CHAT:
        return texts("Statistics are shown in the dispatch chat or in a private chat.")
    return texts("Only leads, managers, admins and dispatchers can see statistics.")


async def stats_command(
    message: Message, command: CommandObject, stats: StatsReports, texts: Texts, actor: Actor
) -> None:
    """The overview of a period, with its chart and the section buttons."""
    chat_id = message.chat.id
    access = stats.access(actor, chat_id)
    if access != Access.SHOWN:
        await stats.answer(chat_id=chat_id, payload={"text": refusal(access, texts)})
        return
    try:
        period = stats.period(command.args or "")
    except PeriodError:
        usage = texts(
            "Write the period: /stats today, week, month, 2026-11 "
            "or 2026-11-01..2026-11-30 (a year at most)."
        )
        await stats.answer(chat_id=chat_id, payload={"text": usage})
        return
    await stats.send(actor=actor, chat_id=chat_id, period=period)


async def section_pressed(
    query: CallbackQuery, callback_data: StatsCb, stats: StatsReports, texts: Texts, actor: Actor
) -> None:
    """Redraw the summary for the pressed section and send its chart."""
    message = query.message
    if not isinstance(message, Message):
        await safe_answer(query, texts("This button is out of date."), alert=True)
        return
    access = stats.access(actor, message.chat.id)
    if access != Access.SHOWN:
        await safe_answer(query, refusal(access, texts), alert=True)
        return
    try:
        period = stats.days(number_day(callback_data.first), number_day(callback_data.last))
    except (ValueError, PeriodError):
        await safe_answer(query, texts("This button is out of date."), alert=True)
        return
    # Answered first: drawing the chart takes a moment, the press should not wait for it.
    await safe_answer(query, None)
    await stats.switch(
        actor=actor,
        chat_id=message.chat.id,
        message_id=message.message_id,
        period=period,
        section=callback_data.section,
    )
