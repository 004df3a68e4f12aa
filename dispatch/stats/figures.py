"""The figures of a period, as typed values the text, the CSV and the charts share.

Durations are seconds. A percentile is the nearest-rank one: the p90 of ten
durations is the ninth shortest, so every figure shown is a real ticket's.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from dispatch.stats.period import Period

#: Counts by a key (a channel, a type, a status), largest first.
Breakdown = tuple[tuple[str, int], ...]


def breakdown(keys: Iterable[str]) -> Breakdown:
    """Count the keys, largest first, ties in key order."""
    counts = Counter(keys)
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def percentile(sorted_values: list[float], share: float) -> float:
    """The nearest-rank percentile of values sorted ascending (``share`` 0.5, 0.9)."""
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True, slots=True)
class Durations:
    """How long something took: how many, the average, the median and the p90."""

    count: int = 0
    average: float | None = None
    p50: float | None = None
    p90: float | None = None

    @classmethod
    def of(cls, seconds: Iterable[float]) -> Durations:
        """Summarise durations (negative ones, clock skew, count as zero)."""
        values = sorted(seconds)
        if not values:
            return cls()
        if values[0] < 0:
            values = [max(value, 0.0) for value in values]
        return cls(
            len(values),
            sum(values) / len(values),
            percentile(values, 0.5),
            percentile(values, 0.9),
        )


@dataclass(frozen=True, slots=True)
class Inflow:
    """Tickets created: per day, per hour of the week, and by what they are."""

    created: int
    by_day: tuple[tuple[date, int], ...]
    #: ``by_weekday_hour[weekday][hour]``, Monday first, local time.
    by_weekday_hour: tuple[tuple[int, ...], ...]
    by_channel: Breakdown
    by_type: Breakdown
    by_priority: Breakdown
    by_client: Breakdown


@dataclass(frozen=True, slots=True)
class HourFigure:
    """Time to assignment of the tickets that arrived in one hour of the day."""

    hour: int
    waits: Durations


@dataclass(frozen=True, slots=True)
class DispatchFigures:
    """From a ticket's arrival to its first assignee, and the reminders on the way."""

    assignment: Durations
    by_hour: tuple[HourFigure, ...]
    reminders: int
    escalations: int
    #: First assignments that came later than ``nag_interval`` after the arrival.
    over_nag: int
    nag_interval: timedelta


@dataclass(frozen=True, slots=True)
class Flow:
    """Open at the period's end; solved in it; what became of the tickets it brought."""

    open_at_end: int
    unassigned_at_end: int
    solved: int
    new_solved: int
    new_unsolved: int
    #: The tickets created in the period by their helpdesk status now.
    by_status: Breakdown


@dataclass(frozen=True, slots=True)
class KindFigure:
    """Created, closed, first response and resolution of one type or priority."""

    key: str
    created: int
    closed: int
    first_response: Durations
    resolution: Durations


@dataclass(frozen=True, slots=True)
class Response:
    """First response (first staff reply) and resolution (close), from the arrival."""

    first_response: Durations
    resolution: Durations
    by_type: tuple[KindFigure, ...]
    by_priority: tuple[KindFigure, ...]
    reopened: int

    @property
    def reopen_rate(self) -> float | None:
        """Reopened tickets per solved ticket of the period."""
        solved = self.resolution.count
        return self.reopened / solved if solved else None


@dataclass(frozen=True, slots=True)
class PersonFigure:
    """One specialist's period."""

    key: str
    name: str
    assigned: int
    closed: int
    replies: int
    billable_minutes: int
    free_minutes: int
    resolution: Durations
    forbidden: int


@dataclass(frozen=True, slots=True)
class DepartmentFigure:
    """One department's period."""

    key: str
    name: str
    assigned: int
    closed: int
    resolution: Durations


@dataclass(frozen=True, slots=True)
class DevTaskFigures:
    """Developer tasks created and done, and how long the done ones took."""

    created: int
    done: int
    to_done: Durations


@dataclass(frozen=True, slots=True)
class QualityFigures:
    """Staff replies that held forbidden words."""

    replies: int
    by_word: Breakdown
    by_person: Breakdown


@dataclass(frozen=True, slots=True)
class SlaCount:
    """SLA targets met and missed in a period, of one target (``first_response``,
    ``resolution``) or one policy."""

    key: str
    met: int
    missed: int

    @property
    def met_share(self) -> float | None:
        """Met per target settled."""
        total = self.met + self.missed
        return self.met / total if total else None


@dataclass(frozen=True, slots=True)
class SlaFigures:
    """SLA targets that were met and those that were not (when SLA is configured).

    A ticket has up to two targets; each counts in the period it settled in: its
    clock stopped (met if within the target) or, still counting, its target passed.
    """

    met: int
    breached: int
    by_target: tuple[SlaCount, ...] = ()
    by_policy: tuple[SlaCount, ...] = ()

    @property
    def met_share(self) -> float | None:
        """Met per target with an SLA outcome."""
        total = self.met + self.breached
        return self.met / total if total else None


@dataclass(frozen=True, slots=True)
class LineFigure:
    """One support line's period (``departments[].line``): its departments together."""

    line: int
    assigned: int
    closed: int
    resolution: Durations
    #: Tickets this line passed to the next one.
    passed_on: int


@dataclass(frozen=True, slots=True)
class Stats:
    """Every figure of a period."""

    period: Period
    inflow: Inflow
    dispatch: DispatchFigures
    flow: Flow
    response: Response
    people: tuple[PersonFigure, ...]
    departments: tuple[DepartmentFigure, ...]
    dev_tasks: DevTaskFigures
    quality: QualityFigures
    #: None: SLA is not configured.
    sla: SlaFigures | None = None
    #: Per support line, every line a department is on.
    lines: tuple[LineFigure, ...] = ()
