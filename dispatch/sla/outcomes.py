"""How tickets did against their SLA targets: times and met or missed, for reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from config.routing import RoutingConfig
from dispatch.sla import clock
from dispatch.sla.clock import Calendars
from dispatch.sla.policies import SlaTarget
from storage.db import UnitOfWork
from storage.models import SlaClockRow
from storage.types import utcnow


@dataclass(frozen=True, slots=True)
class SlaOutcome:
    """One target of one ticket: the time it took (counted as its clock counts), met or not."""

    minutes: int
    met: bool


@dataclass(frozen=True, slots=True)
class SlaShare:
    """Targets met among a client's tickets, per target."""

    first_response_met: int
    first_response_total: int
    resolution_met: int
    resolution_total: int


@dataclass(frozen=True, slots=True)
class TicketOutcomes:
    """The outcomes of a set of tickets, by ticket and target."""

    by_ticket: dict[int, dict[SlaTarget, SlaOutcome]]

    def of(self, ticket_id: int) -> tuple[SlaOutcome | None, SlaOutcome | None]:
        """A ticket's first response and resolution."""
        found = self.by_ticket.get(ticket_id, {})
        return found.get(SlaTarget.FIRST_RESPONSE), found.get(SlaTarget.RESOLUTION)

    def share(self) -> SlaShare:
        """How many of the tickets met each target."""
        first, done = self._all(SlaTarget.FIRST_RESPONSE), self._all(SlaTarget.RESOLUTION)
        return SlaShare(
            sum(outcome.met for outcome in first),
            len(first),
            sum(outcome.met for outcome in done),
            len(done),
        )

    def _all(self, target: SlaTarget) -> list[SlaOutcome]:
        return [found[target] for found in self.by_ticket.values() if target in found]


async def outcomes(
    uow: UnitOfWork, routing: RoutingConfig, ticket_ids: Sequence[int]
) -> TicketOutcomes:
    """The outcomes of these tickets' clocks (a clock still running counts up to now)."""
    if not routing.sla.enabled or not ticket_ids:
        return TicketOutcomes({})
    calendars, now = Calendars(routing), utcnow()
    clocks = await uow.sla.for_tickets(ticket_ids=ticket_ids)
    return TicketOutcomes(
        {
            ticket_id: {SlaTarget(row.target): _outcome(row, calendars, now) for row in rows}
            for ticket_id, rows in clocks.items()
        }
    )


def _outcome(row: SlaClockRow, calendars: Calendars, now: datetime) -> SlaOutcome:
    counted = clock.used(row, calendars[row.calendar], now)
    return SlaOutcome(minutes=round(counted / 60), met=counted <= row.target_s)
