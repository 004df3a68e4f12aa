"""The "read again" button on a notice about a ticket that could not be read."""

from __future__ import annotations

from datetime import tzinfo

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.callbacks import FetchAction, FetchCb
from bot.i18n import Texts
from bot.replies import safe_answer, tap_reply
from dispatch.assignment import TapOutcome
from dispatch.events import Actor
from dispatch.health.unreadable import UnreadableTickets


def intake_router() -> Router:
    """Handlers for the ``fx:`` buttons."""
    router = Router(name="intake")
    router.callback_query.register(read_again, FetchCb.filter(F.action == FetchAction.RETRY))
    return router


async def read_again(
    query: CallbackQuery,
    callback_data: FetchCb,
    unreadable: UnreadableTickets,
    texts: Texts,
    tz: tzinfo,
    actor: Actor,
) -> None:
    """A dispatcher asks to read the ticket again."""
    result = await unreadable.retry(
        job_id=callback_data.job, notice_id=callback_data.notice, actor=actor
    )
    if result.outcome == TapOutcome.OK:
        await safe_answer(query, texts("Reading it again…"))
        return
    text, alert = tap_reply(result, texts, tz)
    await safe_answer(query, text, alert)
