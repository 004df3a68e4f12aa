"""The weekly digest: every Monday at ``reports.time``, leads get last week's statistics.

The scheduler runs :meth:`WeeklyDigest.run` every few minutes. The week sent is
recorded in the database in the same transaction that queues the messages, so a
restart sends nothing twice, and of two instances only one sends. A service that
was down on Monday sends the digest as soon as it is up again that week.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from config.routing import Role, RoutingConfig
from dispatch.stats.command import Section, StatsReports
from dispatch.stats.period import Period, week_of
from dispatch.stats.service import StatsService
from storage.db import Database
from storage.types import utcnow

log = structlog.get_logger(__name__)


class WeeklyDigest:
    """The scheduler's job: last week's overview and chart to every lead, once."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        service: StatsService,
        reports: StatsReports,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._service = service
        self._reports = reports
        self._clock = clock

    def due_week(self, now: datetime) -> Period | None:
        """Last week, once this Monday has passed ``reports.time``; None before."""
        local = now.astimezone(self._routing.tz)
        if local.weekday() == 0 and local.time().replace(tzinfo=None) < self._routing.reports.time:
            return None
        return week_of(local.date() - timedelta(days=7), self._routing.tz)

    async def run(self, now: datetime | None = None) -> bool:
        """Send the due digest unless it went out already; whether this run sent it."""
        now = now or self._clock()
        week = self.due_week(now)
        if week is None:
            return False
        async with self._db.unit_of_work() as uow:
            if await uow.stats.digest_sent(week=week.first):
                return False
        # Drawn before the claim: the transaction that claims the week stays short.
        stats = await self._service.compute(week, now=now)
        text, chart = await self._reports.render(stats, Section.OVERVIEW, weekly=True)
        leads = [p.telegram_id for p in self._routing.people if p.has_role(Role.LEAD)]
        chats = [chat for chat in leads if chat is not None]
        async with self._db.unit_of_work() as uow:
            if not await uow.stats.claim_digest(week=week.first, now=now):
                return False
            for chat_id in chats:
                await self._reports.deliver(uow, chat_id, text, chart)
            await uow.commit()
        if not chats:
            log.warning("stats.digest_no_leads", week=week.first.isoformat())
        log.info("stats.digest_sent", week=week.first.isoformat(), leads=len(chats))
        return True
