"""Dispatch card buttons and "hand back": parse, call ``AssignmentService`` or
``Reassignment``, answer the press."""

from __future__ import annotations

from datetime import tzinfo

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.callbacks import DispatchAction, DispatchCb, HandCb
from bot.i18n import Texts
from bot.replies import answer_tap
from dispatch.assignment import AssignmentService, TapResult
from dispatch.events import Actor
from dispatch.reassign import Reassignment


def dispatch_router() -> Router:
    """Handlers for the ``dp:`` button family."""
    router = Router(name="dispatch")
    router.callback_query.register(dispatch_tapped, DispatchCb.filter())
    router.callback_query.register(hand_back_tapped, HandCb.filter())
    return router


async def dispatch_tapped(
    query: CallbackQuery,
    callback_data: DispatchCb,
    assignment: AssignmentService,
    reassignment: Reassignment,
    texts: Texts,
    tz: tzinfo,
    actor: Actor,
) -> None:
    """A department (its people), back (the departments), a person (assign), retry saving,
    take it myself; on an assigned card: reassign (departments, people), a person, cancel."""
    ticket = callback_data.ticket
    if callback_data.action in _REASSIGNING:
        result = await _reassigning(callback_data, reassignment, actor)
        await answer_tap(query, result, texts, tz, ticket_id=ticket)
        return
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
        case _:  # TAKE; the reassigning actions went to _reassigning above
            result = await assignment.take(ticket_id=ticket, actor=actor)
    await answer_tap(query, result, texts, tz, ticket_id=ticket)


_REASSIGNING = frozenset({DispatchAction.REASSIGN, DispatchAction.MOVE, DispatchAction.CANCEL})


async def _reassigning(data: DispatchCb, reassignment: Reassignment, actor: Actor) -> TapResult:
    if data.action == DispatchAction.MOVE:
        return await reassignment.reassign(
            ticket_id=data.ticket, department_key=data.dept, person_key=data.person, actor=actor
        )
    if data.action == DispatchAction.CANCEL:
        return await reassignment.cancel(ticket_id=data.ticket, actor=actor)
    return await reassignment.browse(
        ticket_id=data.ticket, department_key=data.dept or None, actor=actor
    )


async def hand_back_tapped(
    query: CallbackQuery,
    callback_data: HandCb,
    reassignment: Reassignment,
    texts: Texts,
    tz: tzinfo,
    actor: Actor,
) -> None:
    """ "Hand back" on the assignee's private message: the ticket returns to dispatch."""
    result = await reassignment.hand_back(ticket_id=callback_data.ticket, actor=actor)
    await answer_tap(query, result, texts, tz, ticket_id=callback_data.ticket)
