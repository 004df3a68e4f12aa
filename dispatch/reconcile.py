"""Polling and reconciliation: what a helpdesk lists as changed becomes domain events.

Used to catch webhooks that never came (HelpDeskEddy, every
``helpdesk.reconcile_interval``) and as the intake of helpdesks without webhooks
(Request Tracker, every ``helpdesk.poll_interval``). A watermark in the database
(the latest change seen) makes a restart neither miss nor repeat a ticket;
a small overlap re-reads the edge, and applying an unchanged ticket changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from connectors.base import HelpdeskConnector
from dispatch.events import Source
from dispatch.intake import IntakeService
from dispatch.models import TicketEventKind
from storage.db import Database
from storage.types import utcnow

log = structlog.get_logger(__name__)


class HelpdeskPoller:
    """One pass lists the tickets changed since the watermark and applies them."""

    def __init__(
        self,
        database: Database,
        helpdesk: HelpdeskConnector,
        intake: IntakeService,
        *,
        via: Source = Source.RECONCILE,
        overlap: timedelta = timedelta(minutes=2),
        first_lookback: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._helpdesk = helpdesk
        self._intake = intake
        self._via = via
        self._overlap = overlap
        self._first_lookback = first_lookback
        self._clock = clock
        self._key = f"poll.{helpdesk.slug}.watermark"

    async def run_once(self) -> int:
        """Apply every ticket changed since the last pass; return how many were seen."""
        async with self._db.unit_of_work() as uow:
            stored = await uow.sync_state.get(key=self._key)
        watermark = datetime.fromisoformat(stored) if stored else None
        since = watermark - self._overlap if watermark else self._clock() - self._first_lookback
        latest, seen = watermark, 0
        async for ticket in self._helpdesk.list_updated_since(since):
            kind = TicketEventKind.CLOSED if ticket.closed else TicketEventKind.UPDATED
            await self._intake.apply_fetched(
                source=self._helpdesk.slug, kind=kind, data=ticket, via=self._via
            )
            seen += 1
            if ticket.updated_at and (latest is None or ticket.updated_at > latest):
                latest = ticket.updated_at
        if latest is not None and latest != watermark:
            async with self._db.unit_of_work() as uow:
                await uow.sync_state.put(key=self._key, value=latest.isoformat())
                await uow.commit()
        log.info(
            "helpdesk.polled",
            helpdesk=self._helpdesk.slug,
            seen=seen,
            since=since.isoformat(),
            watermark=latest.isoformat() if latest else None,
        )
        return seen
