"""Answers to button presses: every press gets one, at once."""

from __future__ import annotations

from datetime import tzinfo

import structlog
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery

from bot.i18n import Texts
from dispatch.assignment import TapOutcome, TapResult

log = structlog.get_logger(__name__)


def tap_reply(result: TapResult, texts: Texts, tz: tzinfo) -> tuple[str | None, bool]:
    """The toast (or alert) text for a tap outcome, and whether it is an alert."""
    t = texts
    match result.outcome:
        case TapOutcome.OK:
            if result.assignee:
                return t("Assigned to {name}", name=result.assignee), False
            return None, False
        case TapOutcome.NOT_DISPATCHER:
            return t("Only dispatchers can dispatch tickets."), True
        case TapOutcome.ALREADY_TAKEN:
            at = f"{result.taken_at.astimezone(tz):%H:%M}" if result.taken_at else "?"
            return t(
                "Already taken: {assignee}, assigned by {by} at {at}.",
                assignee=result.assignee or "?",
                by=result.taken_by or "?",
                at=at,
            ), True
        case TapOutcome.CLOSED:
            return t("This ticket is closed."), True
        case TapOutcome.NOTHING_TO_RETRY:
            return t("Nothing to retry: the assignment is saved."), False
        case TapOutcome.UNCHANGED:
            return t("Already assigned to {name}.", name=result.assignee or "?"), False
        case TapOutcome.HANDED_BACK:
            return t("Handed back to dispatch."), False
        case TapOutcome.NOT_YOURS:
            return t("This ticket is no longer yours."), True
        case TapOutcome.NOT_A_MEMBER:
            return t("You are in no department: choose someone on the card."), True
        case _:
            return t("This button is out of date."), True


async def answer_tap(
    query: CallbackQuery, result: TapResult, texts: Texts, tz: tzinfo, *, ticket_id: int
) -> None:
    """Answer the press with the outcome; log it as one line."""
    text, alert = tap_reply(result, texts, tz)
    log.info(
        "bot.tap",
        ticket_id=ticket_id,
        data=query.data,
        user_id=query.from_user.id,
        outcome=result.outcome.value,
    )
    await safe_answer(query, text, alert)


async def safe_answer(query: CallbackQuery, text: str | None, alert: bool = False) -> None:
    """Answer a callback; a press answered too late is logged, not raised."""
    try:
        await query.answer(text=text, show_alert=alert)
    except TelegramBadRequest as exc:
        # "query is too old": the user has moved on; nothing left to tell them.
        log.warning("bot.answer_failed", data=query.data, error=exc.message)
