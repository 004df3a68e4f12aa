"""How tickets did against their SLA targets: times and met or missed, for the monthly
reports and the statistics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from config.routing import RoutingConfig
from dispatch.sla import clock
from dispatch.sla.clock import Calendars
from dispatch.sla.policies import SlaTarget
from dispatch.stats.figures import SlaCount, SlaFigures
from storage.db import UnitOfWork
from storage.models import SlaClockRow
from storage.sla_repository import OutcomeCount
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


class SlaStatistics:
    """The SLA figures of a period for ``dispatch.stats`` (its ``SlaSource``)."""

    async def figures(self, uow: UnitOfWork, *, start: datetime, end: datetime) -> SlaFigures:
        """Targets settled in ``[start, end)``: met and missed, by target and by policy."""
        counts = await uow.sla.period_outcomes(start=start, end=end)
        by_target = _counted(counts, lambda row: row.target, first=tuple(SlaTarget))
        return SlaFigures(
            met=sum(count.met for count in by_target),
            breached=sum(count.missed for count in by_target),
            by_target=by_target,
            by_policy=_counted(counts, lambda row: row.policy),
        )


def _counted(
    counts: Sequence[OutcomeCount], key: Callable[[OutcomeCount], str], first: Sequence[str] = ()
) -> tuple[SlaCount, ...]:
    """Met and missed by ``key``: the ``first`` keys always and in that order, then the
    others, most targets first."""
    met: dict[str, int] = defaultdict(int)
    missed: dict[str, int] = defaultdict(int)
    for row in counts:
        (met if row.met else missed)[key(row)] += row.clocks
    rest = sorted({*met, *missed} - set(first), key=lambda k: (-(met[k] + missed[k]), k))
    return tuple(SlaCount(k, met[k], missed[k]) for k in (*first, *rest))
