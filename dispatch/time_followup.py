"""Unanswered time prompts: asked again within working hours, listed by ``/missing``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from config.routing import RoutingConfig
from dispatch.time_tracking import TimeTracker
from dispatch.views import MissingTime, TimeMessages
from storage.db import Database
from storage.types import utcnow

log = structlog.get_logger(__name__)


class TimeFollowUp:
    """Re-asks unanswered prompts and answers ``/missing``."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        renderer: TimeMessages,
        tracker: TimeTracker,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._renderer = renderer
        self._tracker = tracker
        self._clock = clock

    async def ask_again(self, now: datetime | None = None) -> int:
        """Send the prompt again where its interval has passed; paused outside working hours."""
        now = now or self._clock()
        hours = self._routing.working_hours
        if hours is not None and not hours.is_open(now, self._routing.tz):
            return 0
        asked = 0
        async with self._db.unit_of_work() as uow:
            for prompt in await uow.time.due_prompts(now=now, limit=500):
                ticket = await uow.tickets.get(ticket_id=prompt.ticket_id)
                if ticket is None:
                    continue
                if prompt.message_id is not None:
                    old = await uow.messages.get(message_row_id=prompt.message_id)
                    if old is not None:
                        await uow.outbox.enqueue_delete(message=old, ticket_id=ticket.id)
                await self._tracker.send_prompt(uow, prompt, ticket)
                prompt.asked_count += 1
                prompt.next_ask_at = now + self._routing.time_prompt.interval
                asked += 1
            await uow.commit()
        if asked:
            log.info("time.asked_again", prompts=asked)
        return asked

    async def send_missing(self, *, chat_id: int) -> bool:
        """``/missing`` in the dispatch chat; False elsewhere."""
        if chat_id != self._routing.dispatch.chat_id:
            return False
        async with self._db.unit_of_work() as uow:
            rows = []
            for prompt, ticket in await uow.time.unanswered():
                person = self._routing.person(prompt.person_key)
                rows.append(
                    MissingTime(
                        person.name if person else prompt.person_key,
                        ticket.number,
                        ticket.subject,
                        prompt.closed_at,
                    )
                )
            uow.outbox.enqueue_plain(chat_id=chat_id, payload=self._renderer.missing_time(rows))
            await uow.commit()
        return True
