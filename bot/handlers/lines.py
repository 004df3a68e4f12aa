"""Passing a ticket to the next support line: the buttons, and the comment by reply."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.types import CallbackQuery, Message

from bot.callbacks import LineAction, LineCb
from bot.i18n import Texts
from bot.replies import safe_answer
from dispatch.events import Actor
from dispatch.lines.service import LineOutcome, LineService


def lines_router() -> Router:
    """``ln:`` buttons and replies to the hand-over question (before other reply handlers)."""
    router = Router(name="lines")
    router.callback_query.register(line_tapped, LineCb.filter())
    router.message.register(comment_received, F.chat.type == "private", F.reply_to_message, F.text)
    return router


async def line_tapped(
    query: CallbackQuery, callback_data: LineCb, lines: LineService, texts: Texts, actor: Actor
) -> None:
    """ "Pass to line N" (ask for the department), or the department picked (pass it on)."""
    if callback_data.action == LineAction.START:
        outcome = await lines.start(ticket_id=callback_data.ref, actor=actor)
        done = None
    else:
        outcome = await lines.pass_on(
            handover_id=callback_data.ref, department_key=callback_data.dept, actor=actor
        )
        done = texts("Passed on")
    text, alert = _reply(outcome, texts)
    await safe_answer(query, done if outcome == LineOutcome.OK else text, alert)


async def comment_received(
    message: Message, lines: LineService, texts: Texts, actor: Actor
) -> None:
    """A reply to the hand-over question is the comment; any other reply goes on."""
    assert message.reply_to_message is not None
    outcome = await lines.comment(
        chat_id=message.chat.id,
        reply_to_message_id=message.reply_to_message.message_id,
        text=message.text or "",
        actor=actor,
    )
    if outcome is None:
        raise SkipHandler  # a reply to some other question of the bot
    if outcome != LineOutcome.OK:
        await message.answer(_reply(outcome, texts)[0] or "")


def _reply(outcome: LineOutcome, texts: Texts) -> tuple[str | None, bool]:
    match outcome:
        case LineOutcome.OK:
            return None, False
        case LineOutcome.NOT_YOURS:
            return texts("Only the ticket's assignee can pass it on."), True
        case LineOutcome.NO_NEXT_LINE:
            return texts("There is no next line to pass it to."), True
        case LineOutcome.DONE_ALREADY:
            return texts("Already passed on."), True
        case _:
            return texts("This button is out of date."), True
