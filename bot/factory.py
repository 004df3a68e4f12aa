"""Builds the aiogram Dispatcher with Modest's routers and services."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

from aiogram import Dispatcher

from bot.commands import CommandMenu
from bot.handlers.common import common_router, fallback_router
from bot.handlers.dev_tasks import dev_tasks_router
from bot.handlers.dispatch import dispatch_router
from bot.handlers.history import history_router
from bot.handlers.intake import intake_router
from bot.handlers.lines import lines_router
from bot.handlers.portal import portal_router
from bot.handlers.reminders import reminders_router
from bot.handlers.sla import sla_router
from bot.handlers.stats import stats_router
from bot.handlers.time import time_router
from bot.i18n import Texts
from bot.middlewares import ActorMiddleware
from dispatch.actors import People
from dispatch.assignment import AssignmentService
from dispatch.chats import ChatAccess
from dispatch.dev_sync import DevTaskSync
from dispatch.dev_tasks import DevTaskService
from dispatch.health.unreadable import UnreadableTickets
from dispatch.history import HistoryCommand
from dispatch.lines.service import LineService
from dispatch.lists import TicketLists
from dispatch.reassign import Reassignment
from dispatch.reminders import ReminderService
from dispatch.sla.scan import SlaService
from dispatch.stats.command import StatsReports
from dispatch.time_followup import TimeFollowUp
from dispatch.time_tracking import TimeTracker

if TYPE_CHECKING:
    from dispatch.portal.accounts import PortalAccounts  # loaded only with the cabinet on


def create_dispatcher(
    *,
    assignment: AssignmentService,
    reassignment: Reassignment,
    reminders: ReminderService,
    lists: TicketLists,
    time_tracker: TimeTracker,
    time_followup: TimeFollowUp,
    dev_tasks: DevTaskService,
    dev_sync: DevTaskSync,
    texts: Texts,
    tz: tzinfo,
    chat_access: ChatAccess,
    people: People,
    history: HistoryCommand,
    unreadable: UnreadableTickets,
    commands: CommandMenu,
    sla: SlaService,
    lines: LineService,
    stats: StatsReports | None = None,
    portal_accounts: PortalAccounts | None = None,
) -> Dispatcher:
    """A Dispatcher whose handlers get the services, and the ``actor``, as workflow data."""
    dispatcher = Dispatcher(
        assignment=assignment,
        reassignment=reassignment,
        reminders=reminders,
        lists=lists,
        time_tracker=time_tracker,
        time_followup=time_followup,
        dev_tasks=dev_tasks,
        dev_sync=dev_sync,
        texts=texts,
        tz=tz,
        chat_access=chat_access,
        history=history,
        sla=sla,
        lines=lines,
        stats=stats,
        portal_accounts=portal_accounts,
        unreadable=unreadable,
        people=people,
        commands=commands,
    )
    actors = ActorMiddleware(people)
    dispatcher.message.outer_middleware(actors)
    dispatcher.callback_query.outer_middleware(actors)
    dispatcher.include_routers(
        dispatch_router(),
        reminders_router(),
        time_router(),
        sla_router(),
        lines_router(),
        dev_tasks_router(),
        history_router(),
        *([stats_router()] if stats is not None else []),
        portal_router(),
        intake_router(),
        common_router(),
        fallback_router(),
    )
    return dispatcher
