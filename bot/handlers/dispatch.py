"""Dispatch card buttons: parse, call ``AssignmentService``, answer the press."""

from __future__ import annotations

from datetime import tzinfo

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.callbacks import DispatchAction, DispatchCb
from bot.i18n import Texts
from bot.replies import answer_tap
from dispatch.assignment import AssignmentService
from dispatch.events import Actor


def dispatch_router() -> Router:
    """Handlers for the ``dp:`` button family."""
    router = Router(name="dispatch")
    router.callback_query.register(dispatch_tapped, DispatchCb.filter())
    return router


async def dispatch_tapped(
    query: CallbackQuery,
    callback_data: DispatchCb,
    assignment: AssignmentService,
    texts: Texts,
    tz: tzinfo,
    actor: Actor,
) -> None:
    """A department (its people), back (the departments), a person (assign), retry saving."""
    ticket = callback_data.ticket
    match callback_data.action:
        case DispatchAction.DEPARTMENT:
            result = await assignment.browse(
                ticket_id=ticket, department_key=callback_data.dept, actor=actor
            )
        case DispatchAction.BACK:
            result = await assignment.browse(ticket_id=ticket, department_key=None, actor=actor)
        case DispatchAction.ASSIGN:
            result = await assignment.assign(
                ticket_id=ticket,
                department_key=callback_data.dept,
                person_key=callback_data.person,
                actor=actor,
            )
        case DispatchAction.RETRY:
            result = await assignment.retry_writeback(ticket_id=ticket, actor=actor)
    await answer_tap(query, result, texts, tz, ticket_id=ticket)
