"""Computes a period's figures from the ticket event log.

What counts, and from when (all times are Modest's, the event log's ``at``):

* arrival: when Modest received the ticket (``ticket.received_at``);
* inflow: the ``created`` events of the period;
* time to assignment: the tickets first assigned in the period, from their arrival;
* first response: the ``first_staff_reply`` events of the period, from the arrival;
* resolution: the tickets closed in the period (their last close in it), from the arrival;
* people: assignments by the assignee they went to, closes by the ticket's assignee,
  staff replies by their author, time by the entries of tickets closed in the period;
  departments and support lines the same way, by department (a line is its departments);
* SLA (when configured): the targets settled in the period (``dispatch.sla.outcomes``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from config.routing import Role, RoutingConfig
from dispatch.actors import People
from dispatch.events import Actor, EventKind
from dispatch.models import TicketState
from dispatch.sla.outcomes import SlaStatistics
from dispatch.stats.figures import (
    DepartmentFigure,
    DevTaskFigures,
    DispatchFigures,
    Durations,
    Flow,
    HourFigure,
    Inflow,
    KindFigure,
    LineFigure,
    PersonFigure,
    QualityFigures,
    Response,
    SlaFigures,
    Stats,
    breakdown,
)
from dispatch.stats.period import Period
from storage.db import Database, UnitOfWork
from storage.stats_repository import (
    Arrival,
    Assignments,
    Backlog,
    Finding,
    Moment,
    PersonMinutes,
)
from storage.types import utcnow

#: Who may read statistics (``/stats``, the digest goes to leads).
READERS = frozenset({Role.LEAD, Role.MANAGER, Role.ADMIN, Role.DISPATCHER})


class SlaSource(Protocol):
    """Where SLA outcomes come from, once SLA is configured."""

    async def figures(self, uow: UnitOfWork, *, start: datetime, end: datetime) -> SlaFigures:
        """Met and missed SLA targets settled in ``[start, end)`` (``end`` not after now)."""
        ...


@dataclass(frozen=True, slots=True)
class _Log:
    """What the event log tells about a period, read in one transaction."""

    arrivals: list[Arrival]
    assignments: list[Moment]
    first_replies: list[Moment]
    closes: list[Moment]
    reopened: int
    reminders: int
    escalations: int
    assigned_to: dict[str, int]
    assigned_into: dict[str, int]
    replies: dict[str, int]
    minutes: list[PersonMinutes]
    backlog: Backlog
    dev_created: int
    dev_done: list[float]
    findings: list[Finding]
    handovers: dict[int, int]
    sla: SlaFigures | None


class StatsService:
    """Figures of any period, and who may read them."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        *,
        sla: SlaSource | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """``sla``: where SLA figures come from (by default the clocks, once SLA is configured)."""
        self._db = database
        self._routing = routing
        self._sla = sla if sla is not None else (SlaStatistics() if routing.sla.enabled else None)
        self._clock = clock
        self._people = People(routing)

    def may_read(self, actor: Actor) -> bool:
        """Leads, managers, admins and dispatchers may."""
        person = self._people.person(actor)
        return person is not None and bool(READERS & person.roles)

    async def compute(self, period: Period, *, now: datetime | None = None) -> Stats:
        """Every figure of ``period`` (up to ``now`` for a period still going on)."""
        now = now or self._clock()
        async with self._db.unit_of_work() as uow:
            log = await self._read(uow, period, period.until(now))
        return Stats(
            period=period,
            inflow=self._inflow(log.arrivals, period, now),
            dispatch=self._dispatch(log),
            flow=_flow(log, period.until(now)),
            response=_response(log),
            people=self._persons(log),
            departments=self._departments(log),
            lines=self._lines(log),
            dev_tasks=DevTaskFigures(
                log.dev_created,
                len(log.dev_done),
                Durations.of(log.dev_done),
            ),
            quality=self._quality(log.findings),
            sla=log.sla,
        )

    async def _read(self, uow: UnitOfWork, period: Period, until: datetime) -> _Log:
        stats, start, end = uow.stats, period.start, period.end
        # One read for the three kinds: each read joins the tickets once.
        replied, closed, reopened = (
            EventKind.FIRST_STAFF_REPLY,
            EventKind.CLOSED,
            EventKind.REOPENED,
        )
        moments = await stats.moments(kinds=[replied, closed, reopened], start=start, end=end)
        closes = [m for m in moments if m.kind == closed]
        reopens = [m for m in moments if m.kind == reopened]
        assignments = await stats.assignments(start=start, end=end)
        counted = [EventKind.REMINDED, EventKind.ESCALATED, EventKind.DEV_TASK_CREATED]
        counts = await stats.counts(kinds=counted, start=start, end=end)
        return _Log(
            arrivals=await stats.arrivals(start=start, end=end),
            assignments=_first_per_ticket(
                await stats.moments(
                    kinds=[EventKind.ASSIGNED], start=start, end=end, first_only=True
                )
            ),
            first_replies=[m for m in moments if m.kind == replied],
            closes=_last_per_ticket(closes),
            reopened=len({moment.ticket_id for moment in reopens}),
            reminders=counts.get(EventKind.REMINDED, 0),
            escalations=counts.get(EventKind.ESCALATED, 0),
            assigned_to=_sums(assignments, lambda a: a.person_key),
            assigned_into=_sums(assignments, lambda a: a.department_key),
            replies=await stats.replies_by_person(start=start, end=end),
            minutes=await stats.minutes_by_person(first=period.first, last=period.last),
            backlog=await stats.backlog(at=until),
            dev_created=counts.get(EventKind.DEV_TASK_CREATED, 0),
            dev_done=await stats.dev_tasks_done(start=start, end=end),
            findings=await stats.findings(start=start, end=end),
            handovers=await stats.handovers_by_line(start=start, end=end),
            sla=await self._sla.figures(uow, start=start, end=until) if self._sla else None,
        )

    def _inflow(self, arrivals: list[Arrival], period: Period, now: datetime) -> Inflow:
        tz = self._routing.tz
        clients: dict[tuple[str, str], str] = {}
        per_day: dict[date, int] = defaultdict(int)
        grid = [[0] * 24 for _ in range(7)]
        for arrival in arrivals:
            local = datetime.fromtimestamp(arrival.at, tz)
            per_day[local.date()] += 1
            grid[local.weekday()][local.hour] += 1
        return Inflow(
            created=len(arrivals),
            by_day=tuple((day, per_day.get(day, 0)) for day in period.days(now)),
            by_weekday_hour=tuple(tuple(row) for row in grid),
            by_channel=breakdown(a.channel for a in arrivals),
            by_type=breakdown(a.type for a in arrivals),
            by_priority=breakdown(a.priority for a in arrivals),
            by_client=breakdown(self._client(a, clients) for a in arrivals),
        )

    def _client(self, arrival: Arrival, known: dict[tuple[str, str], str]) -> str:
        # Clients match by company or e-mail domain: one lookup per pair of them.
        domain = arrival.client_email.rpartition("@")[2].lower()
        key = (arrival.client_company, domain)
        if key not in known:
            client = self._routing.client_for(company=key[0], email=f"x@{domain}")
            known[key] = client.name if client else (key[0] or domain)
        return known[key]

    def _dispatch(self, log: _Log) -> DispatchFigures:
        tz, nag = self._routing.tz, self._routing.dispatch.nag_interval
        waits = [(datetime.fromtimestamp(m.arrived, tz).hour, m.took) for m in log.assignments]
        by_hour: dict[int, list[float]] = defaultdict(list)
        for hour, wait in waits:
            by_hour[hour].append(wait)
        return DispatchFigures(
            assignment=Durations.of(wait for _, wait in waits),
            by_hour=tuple(HourFigure(hour, Durations.of(by_hour[hour])) for hour in range(24)),
            reminders=log.reminders,
            escalations=log.escalations,
            over_nag=sum(1 for _, wait in waits if wait > nag.total_seconds()),
            nag_interval=nag,
        )

    def _persons(self, log: _Log) -> tuple[PersonFigure, ...]:
        billable: dict[str, int] = defaultdict(int)
        free: dict[str, int] = defaultdict(int)
        for entry in log.minutes:
            (billable if entry.billable else free)[entry.person_key] += entry.minutes
        closes = _grouped(log.closes, lambda m: m.assignee_key)
        forbidden = breakdown(
            f.actor for f in log.findings if f.actor_kind == "person" and f.actor
        )
        flagged = dict(forbidden)
        active = {*log.assigned_to, *closes, *log.replies, *billable, *free, *flagged}
        keys = [p.key for p in self._routing.people if p.has_role(Role.SPECIALIST)]
        keys += sorted(active - set(keys))
        people = [
            PersonFigure(
                key=key,
                name=self._name(key),
                assigned=log.assigned_to.get(key, 0),
                closed=len(closes.get(key, [])),
                replies=log.replies.get(key, 0),
                billable_minutes=billable.get(key, 0),
                free_minutes=free.get(key, 0),
                resolution=Durations.of(_took(m) for m in closes.get(key, [])),
                forbidden=flagged.get(key, 0),
            )
            for key in keys
        ]
        return tuple(sorted(people, key=lambda p: (-p.closed, -p.assigned, p.name)))

    def _departments(self, log: _Log) -> tuple[DepartmentFigure, ...]:
        closes = _grouped(log.closes, lambda m: m.department_key)
        keys = [d.key for d in self._routing.departments]
        keys += sorted({*log.assigned_into, *closes} - set(keys))
        return tuple(
            DepartmentFigure(
                key=key,
                name=department.name if (department := self._routing.department(key)) else key,
                assigned=log.assigned_into.get(key, 0),
                closed=len(closes.get(key, [])),
                resolution=Durations.of(_took(m) for m in closes.get(key, [])),
            )
            for key in keys
        )

    def _lines(self, log: _Log) -> tuple[LineFigure, ...]:
        # A ticket counts on the line of its department (one no longer in the file: none).
        line_of = {d.key: d.line for d in self._routing.departments}
        assigned: dict[int, int] = defaultdict(int)
        for key, n in log.assigned_into.items():
            if key in line_of:
                assigned[line_of[key]] += n
        closes: dict[int, list[float]] = defaultdict(list)
        for moment in log.closes:
            if moment.department_key in line_of:
                closes[line_of[moment.department_key]].append(moment.took)
        return tuple(
            LineFigure(
                line=line,
                assigned=assigned.get(line, 0),
                closed=len(closes.get(line, [])),
                resolution=Durations.of(closes.get(line, [])),
                passed_on=log.handovers.get(line, 0),
            )
            for line in sorted({*line_of.values(), *log.handovers})
        )

    def _quality(self, findings: list[Finding]) -> QualityFigures:
        return QualityFigures(
            replies=len(findings),
            by_word=breakdown(word for f in findings for word in f.words),
            by_person=breakdown(_author(f) for f in findings),
        )

    def _name(self, key: str) -> str:
        person = self._routing.person(key)
        return person.name if person else key


def _flow(log: _Log, until: datetime) -> Flow:
    solved = sum(1 for arrival in log.arrivals if _solved(arrival, until))
    return Flow(
        open_at_end=log.backlog.open,
        unassigned_at_end=log.backlog.unassigned,
        solved=len(log.closes),
        new_solved=solved,
        new_unsolved=len(log.arrivals) - solved,
        by_status=breakdown(arrival.status for arrival in log.arrivals),
    )


def _solved(arrival: Arrival, until: datetime) -> bool:
    # A ticket that came in closed has no close time: it was solved on arrival.
    if arrival.state != TicketState.CLOSED:
        return False
    return arrival.closed_at is None or arrival.closed_at < until.timestamp()


def _response(log: _Log) -> Response:
    return Response(
        first_response=Durations.of(_took(m) for m in log.first_replies),
        resolution=Durations.of(_took(m) for m in log.closes),
        by_type=_by_kind(log, [a.type for a in log.arrivals], lambda m: m.type),
        by_priority=_by_kind(log, [a.priority for a in log.arrivals], lambda m: m.priority),
        reopened=log.reopened,
    )


def _by_kind(
    log: _Log, created: list[str], key: Callable[[Moment], str]
) -> tuple[KindFigure, ...]:
    replies = _grouped(log.first_replies, key)
    closes = _grouped(log.closes, key)
    counts = dict(breakdown(created))
    figures = [
        KindFigure(
            key=k,
            created=counts.get(k, 0),
            closed=len(closes.get(k, [])),
            first_response=Durations.of(_took(m) for m in replies.get(k, [])),
            resolution=Durations.of(_took(m) for m in closes.get(k, [])),
        )
        for k in {*counts, *closes, *replies}
    ]
    return tuple(sorted(figures, key=lambda f: (-f.created, -f.closed, f.key)))


def _grouped(
    moments: Iterable[Moment], key: Callable[[Moment], str | None]
) -> dict[str, list[Moment]]:
    groups: dict[str, list[Moment]] = defaultdict(list)
    for moment in moments:
        group = key(moment)
        if group is not None:
            groups[group].append(moment)
    return groups


def _sums(
    assignments: list[Assignments], key: Callable[[Assignments], str | None]
) -> dict[str, int]:
    sums: dict[str, int] = defaultdict(int)
    for assignment in assignments:
        group = key(assignment)
        if group is not None:
            sums[group] += assignment.count
    return dict(sums)


def _first_per_ticket(moments: Sequence[Moment]) -> list[Moment]:
    # Assigned, unassigned and assigned again in one period: the first assignment counts.
    first: dict[int, Moment] = {}
    for moment in moments:
        first.setdefault(moment.ticket_id, moment)
    return list(first.values())


def _last_per_ticket(moments: Sequence[Moment]) -> list[Moment]:
    # Closed twice in one period (closed, reopened, closed): the last close is the solution.
    # Moments come oldest first, so the last one seen of a ticket is its last close.
    return list({moment.ticket_id: moment for moment in moments}.values())


def _took(moment: Moment) -> float:
    return moment.took


def _author(finding: Finding) -> str:
    if finding.actor_kind == "person" and finding.actor:
        return finding.actor
    return f"{finding.actor_kind}:{finding.actor or ''}"
