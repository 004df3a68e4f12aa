"""``/stats``: a period's summary and chart, in the dispatch chat or a private chat.

The summary is one message with a button per section; a press redraws it for
that section and sends the section's chart. Figures are read in one short
transaction; the chart is drawn outside it, in a worker thread (plotting takes
a few hundred milliseconds of CPU that must not hold up the event loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from config.routing import RoutingConfig
from dispatch.actors import People
from dispatch.events import Actor
from dispatch.stats.figures import Stats
from dispatch.stats.period import Period, between, parse_period
from dispatch.stats.service import StatsService
from dispatch.views import Payload
from storage.db import Database, UnitOfWork
from storage.models import MessageKind
from storage.types import utcnow


class Section(StrEnum):
    """Which part of the statistics a message shows (values ride in buttons)."""

    OVERVIEW = "o"
    PEOPLE = "p"
    TYPES = "t"
    SLA = "s"


class Access(StrEnum):
    """Whether a request for statistics is answered."""

    SHOWN = "shown"
    NOT_ALLOWED = "not_allowed"
    WRONG_CHAT = "wrong_chat"


class StatsRenderer(Protocol):
    """Draws statistics (the bot's implementation lives in ``bot``)."""

    def stats_text(self, stats: Stats, section: Section, *, weekly: bool = False) -> Payload:
        """The summary of one section, with the section buttons."""
        ...

    def stats_chart(self, stats: Stats, section: Section) -> Payload | None:
        """The section's chart as a photo message, or None for a section without one."""
        ...


class StatsReports:
    """Answers ``/stats`` and its buttons; renders for the weekly digest too."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        service: StatsService,
        renderer: StatsRenderer,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._service = service
        self._renderer = renderer
        self._clock = clock
        self._people = People(routing)

    def period(self, text: str) -> Period:
        """The period someone asked for (``PeriodError`` when it cannot be read)."""
        return parse_period(text, tz=self._routing.tz, now=self._clock())

    def days(self, first: date, last: date) -> Period:
        """The period a section button carries (``PeriodError`` for a forged one)."""
        return between(first, last, self._routing.tz)

    def access(self, actor: Actor, chat_id: int) -> Access:
        """In the dispatch chat or the reader's own private chat, for readers only.

        Telegram's group ids are negative, private chats have the user's (positive) id.
        """
        in_dispatch = chat_id == self._routing.dispatch.chat_id
        if not in_dispatch and chat_id < 0:
            return Access.WRONG_CHAT
        person = self._people.person(actor)
        own_chat = person is not None and person.telegram_id == chat_id
        if (in_dispatch or own_chat) and self._service.may_read(actor):
            return Access.SHOWN
        return Access.NOT_ALLOWED

    async def send(
        self, *, actor: Actor, chat_id: int, period: Period, section: Section = Section.OVERVIEW
    ) -> Access:
        """Send the section's summary and chart to ``chat_id``."""
        access = self.access(actor, chat_id)
        if access != Access.SHOWN:
            return access
        text, chart = await self.render(await self._service.compute(period), section)
        async with self._db.unit_of_work() as uow:
            await self.deliver(uow, chat_id, text, chart)
            await uow.commit()
        return access

    async def switch(
        self, *, actor: Actor, chat_id: int, message_id: int, period: Period, section: Section
    ) -> Access:
        """A section button: redraw the summary message, then send that section's chart."""
        access = self.access(actor, chat_id)
        if access != Access.SHOWN:
            return access
        text, chart = await self.render(await self._service.compute(period), section)
        async with self._db.unit_of_work() as uow:
            row = await uow.messages.get_by_telegram(chat_id=chat_id, message_id=message_id)
            if row is None or row.kind != MessageKind.STATS:
                await self.deliver(uow, chat_id, text, chart)
            else:
                await uow.outbox.enqueue_edit(message=row, payload=text, ticket_id=None)
                if chart is not None:
                    uow.outbox.enqueue_plain(chat_id=chat_id, payload=chart)
            await uow.commit()
        return access

    async def answer(self, *, chat_id: int, payload: Payload) -> None:
        """A short answer (a refusal, how to write a period), in turn with the chat's messages.

        Through the outbox, not straight to Telegram: right after a summary and its
        chart, a direct answer would break the chat's rate limit.
        """
        async with self._db.unit_of_work() as uow:
            uow.outbox.enqueue_plain(chat_id=chat_id, payload=payload)
            await uow.commit()

    async def render(
        self, stats: Stats, section: Section, *, weekly: bool = False
    ) -> tuple[Payload, Payload | None]:
        """The summary and the chart (drawn in a worker thread)."""
        text = self._renderer.stats_text(stats, section, weekly=weekly)
        chart = await asyncio.to_thread(self._renderer.stats_chart, stats, section)
        return text, chart

    async def deliver(
        self, uow: UnitOfWork, chat_id: int, text: Payload, chart: Payload | None
    ) -> None:
        """Queue the summary (kept, so its buttons can redraw it) and then the chart."""
        row = await uow.messages.create(ticket_id=None, kind=MessageKind.STATS, chat_id=chat_id)
        await uow.outbox.enqueue_send(message=row, payload=text, ticket_id=None)
        if chart is not None:
            uow.outbox.enqueue_plain(chat_id=chat_id, payload=chart)
