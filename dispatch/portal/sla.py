"""A ticket's SLA targets as its client sees them: when each falls due, or how it went.

Read from the ticket's SLA clocks (``dispatch.sla``): a running target shows when it
falls due (or that it is overdue), a paused one that it waits for the client, a
reached one whether it was met. Without SLA policies there is nothing to show.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from config.routing import RoutingConfig
from dispatch.portal.models import SlaLine, SlaState
from dispatch.sla import clock
from dispatch.sla.clock import Calendars
from dispatch.sla.policies import SlaTarget
from storage.db import UnitOfWork
from storage.models import SlaClockRow
from storage.types import utcnow

_OPEN = frozenset({SlaState.RUNNING, SlaState.OVERDUE, SlaState.PAUSED})
_TARGETS = tuple(SlaTarget)
_NEVER = datetime.max.replace(tzinfo=UTC)


class PortalSla:
    """The SLA lines of a ticket's page."""

    def __init__(self, routing: RoutingConfig, *, now: Callable[[], datetime] = utcnow) -> None:
        self._enabled = routing.sla.enabled
        self._calendars = Calendars(routing)
        self._now = now

    async def lines(self, uow: UnitOfWork, ticket_id: int) -> list[SlaLine]:
        """The ticket's targets: open ones first, the nearest first; then the reached ones."""
        if not self._enabled:
            return []
        now = self._now()
        lines = [self._line(row, now) for row in await uow.sla.clocks(ticket_id=ticket_id)]
        return sorted(lines, key=_order)

    def _line(self, row: SlaClockRow, now: datetime) -> SlaLine:
        if row.done_at is not None:
            met = clock.used(row, self._calendars[row.calendar], now) <= row.target_s
            return SlaLine(row.target, SlaState.MET if met else SlaState.MISSED)
        if row.since is None:
            return SlaLine(row.target, SlaState.PAUSED)
        left = clock.left(row, self._calendars[row.calendar], now)
        return SlaLine(row.target, SlaState.RUNNING if left > 0 else SlaState.OVERDUE, row.due_at)


def _order(line: SlaLine) -> tuple[bool, datetime, int]:
    rank = _TARGETS.index(SlaTarget(line.target)) if line.target in _TARGETS else len(_TARGETS)
    # Open before reached; of the open ones, the one falling due first (overdue: earliest).
    return (line.state not in _OPEN, line.due or _NEVER, rank)
