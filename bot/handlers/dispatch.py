"""Dispatch card buttons: parse, call ``AssignmentService``, answer the press."""

from __future__ import annotations

from datetime import tzinfo

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.callbacks import DispatchAction, DispatchCb
from bot.i18n import Texts
from bot.replies import answer_tap
from dispatch.assignment import AssignmentService


def dispatch_router() -> Router:
    """Handlers for the ``dp:`` button family."""
    router = Router(name="dispatch")
    router.callback_query.register(
        department_tapped, DispatchCb.filter(F.action == DispatchAction.DEPARTMENT)
    )
    router.callback_query.register(back_tapped, DispatchCb.filter(F.action == DispatchAction.BACK))
    router.callback_query.register(
        person_tapped, DispatchCb.filter(F.action == DispatchAction.ASSIGN)
    )
    router.callback_query.register(
        retry_tapped, DispatchCb.filter(F.action == DispatchAction.RETRY)
    )
    return router


async def department_tapped(
    query: CallbackQuery,
    callback_data: DispatchCb,
    assignment: AssignmentService,
    texts: Texts,
    tz: tzinfo,
) -> None:
    """A department was chosen: the card lists its people."""
    result = await assignment.browse(
        ticket_id=callback_data.ticket,
        department_key=callback_data.dept,
        actor_telegram_id=query.from_user.id,
    )
    await answer_tap(query, result, texts, tz, ticket_id=callback_data.ticket)


async def back_tapped(
    query: CallbackQuery,
    callback_data: DispatchCb,
    assignment: AssignmentService,
    texts: Texts,
    tz: tzinfo,
) -> None:
    """Back from a department's people to the departments."""
    result = await assignment.browse(
        ticket_id=callback_data.ticket, department_key=None, actor_telegram_id=query.from_user.id
    )
    await answer_tap(query, result, texts, tz, ticket_id=callback_data.ticket)


async def person_tapped(
    query: CallbackQuery,
    callback_data: DispatchCb,
    assignment: AssignmentService,
    texts: Texts,
    tz: tzinfo,
) -> None:
    """A person was chosen: assign the ticket to them."""
    result = await assignment.assign(
        ticket_id=callback_data.ticket,
        department_key=callback_data.dept,
        person_key=callback_data.person,
        actor_telegram_id=query.from_user.id,
    )
    await answer_tap(query, result, texts, tz, ticket_id=callback_data.ticket)


async def retry_tapped(
    query: CallbackQuery,
    callback_data: DispatchCb,
    assignment: AssignmentService,
    texts: Texts,
    tz: tzinfo,
) -> None:
    """Try the helpdesk write-back again."""
    result = await assignment.retry_writeback(
        ticket_id=callback_data.ticket, actor_telegram_id=query.from_user.id
    )
    await answer_tap(query, result, texts, tz, ticket_id=callback_data.ticket)
