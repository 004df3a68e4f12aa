"""Time-prompt buttons, typed answers by reply, and ``/missing``."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import TimeAction, TimeCb
from bot.i18n import Texts
from bot.replies import safe_answer
from dispatch.events import Actor
from dispatch.time_followup import TimeFollowUp
from dispatch.time_tracking import TimeOutcome, TimeResult, TimeTracker


def time_router() -> Router:
    """Handlers for the ``tm:`` buttons, replies to the time question, ``/missing``."""
    router = Router(name="time")
    router.callback_query.register(time_tapped, TimeCb.filter())
    router.message.register(missing_command, Command("missing"))
    # A plain message (not a reply, not a command) may be the time of the one open prompt.
    router.message.register(
        unprompted_time,
        F.chat.type == "private",
        F.text,
        ~F.reply_to_message,
        ~F.text.startswith("/"),
    )
    return router


async def time_tapped(
    query: CallbackQuery,
    callback_data: TimeCb,
    time_tracker: TimeTracker,
    texts: Texts,
    actor: Actor,
) -> None:
    """A quick answer, "no charge", "other…" or "change"."""
    prompt = callback_data.prompt
    match callback_data.action:
        case TimeAction.SET:
            result = await time_tracker.choose(
                prompt_id=prompt,
                minutes=callback_data.minutes,
                billable=True,
                actor=actor,
            )
        case TimeAction.FREE:
            result = await time_tracker.ask_free(prompt_id=prompt, actor=actor)
        case TimeAction.OTHER:
            result = await time_tracker.ask_other(prompt_id=prompt, actor=actor)
        case TimeAction.CHANGE:
            result = await time_tracker.change(prompt_id=prompt, actor=actor)
    text, alert = _reply(result, texts)
    await safe_answer(query, text, alert)


async def unprompted_time(
    message: Message, time_tracker: TimeTracker, texts: Texts, actor: Actor
) -> None:
    """ "1h 30m" sent on its own by someone who has exactly one closed ticket to time."""
    result = await time_tracker.answer_unprompted(text=message.text or "", actor=actor)
    if result is not None and result.outcome == TimeOutcome.LOCKED:
        await message.answer(
            texts("This month's report was issued: its time can no longer change.")
        )


async def missing_command(message: Message, time_followup: TimeFollowUp) -> None:
    """``/missing`` in the dispatch chat: closed tickets without time, by person."""
    await time_followup.send_missing(chat_id=message.chat.id)


def _reply(result: TimeResult, texts: Texts) -> tuple[str | None, bool]:
    match result.outcome:
        case TimeOutcome.OK:
            return None, False
        case TimeOutcome.NOT_YOURS:
            return texts("Only the ticket's assignee can record its time."), True
        case TimeOutcome.LOCKED:
            return texts("This month's report was issued: its time can no longer change."), True
        case _:
            return texts("This button is out of date."), True
