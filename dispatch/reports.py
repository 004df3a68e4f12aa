"""Monthly client reports: every ticket closed in the month with its time, against the package.

On the first day of each month at ``reports.time`` (local), each client with
activity or a package gets last month's report (PDF and CSV) through its
manager, and issuing it locks the month: its time entries can no longer change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import structlog

from config.clients import Client, Provider
from config.routing import RoutingConfig
from dispatch.clients import ClientDirectory
from dispatch.sla.outcomes import SlaOutcome, SlaShare, outcomes
from storage.db import Database, UnitOfWork
from storage.types import utcnow

log = structlog.get_logger(__name__)

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One closed ticket in a report."""

    number: str
    closed_on: date
    subject: str
    assignee: str
    minutes: int
    billable: bool
    #: The ticket's first response and resolution against their targets (None: no clock).
    first_response: SlaOutcome | None = None
    resolution: SlaOutcome | None = None


@dataclass(frozen=True, slots=True)
class ClientReport:
    """A client's month: the tickets, the totals and what is owed beyond the package."""

    client: Client
    month: str
    lines: tuple[ReportLine, ...]
    billable_minutes: int
    free_minutes: int
    package_minutes: int | None
    overage_minutes: int
    overage_cost: Decimal
    #: Who issues the report (``reports.provider``), and the day it was made.
    provider: Provider | None = None
    issued_on: date | None = None
    #: Targets met across the month's tickets (None: no SLA policy is configured).
    sla: SlaShare | None = None

    @property
    def document_number(self) -> str:
        """The report's number: the client's key and the month (``ACME-2026-10``)."""
        return f"{self.client.key.upper()}-{self.month}"

    @property
    def remaining_minutes(self) -> int | None:
        """What is left of the package (None for an unlimited contract)."""
        if self.package_minutes is None:
            return None
        return max(self.package_minutes - self.billable_minutes, 0)

    @property
    def package_fee(self) -> Decimal:
        """The package at the hour rate; for an unlimited contract, the billable hours."""
        hours = (
            Decimal(self.billable_minutes) / 60
            if self.package_minutes is None
            else self.client.hours_per_month or Decimal(0)
        )
        return (hours * self.client.hour_rate).quantize(_CENT, rounding=ROUND_HALF_UP)

    @property
    def total_payable(self) -> Decimal:
        """The package fee and the overage cost."""
        return self.package_fee + self.overage_cost

    @property
    def period(self) -> tuple[date, date]:
        """The first and last day of the month."""
        first = date.fromisoformat(f"{self.month}-01")
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)


def previous_month(day: date) -> str:
    """``2026-10`` for any day of November 2026."""
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last:%Y-%m}"


class ReportService:
    """Builds reports and issues them on the first of the month."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        *,
        clients: ClientDirectory | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._clients = clients or ClientDirectory(routing)
        self._clock = clock

    async def build(self, *, client_key: str, month: str) -> ClientReport:
        """One client's report for a month (``YYYY-MM``)."""
        await self._clients.refresh([client_key])
        async with self._db.unit_of_work() as uow:
            client = await self._clients.by_key(uow, client_key)
            if client is None:
                raise KeyError(f"unknown client {client_key!r}")
            return await self._build(uow, client, month)

    async def _build(self, uow: UnitOfWork, client: Client, month: str) -> ClientReport:
        lines = []
        entries = await uow.time.entries(client_key=client.key, month=month)
        sla = await outcomes(uow, self._routing, [ticket.id or 0 for _, ticket in entries])
        for entry, ticket in entries:
            person = self._routing.person(entry.person_key)
            first, resolution = sla.of(ticket.id or 0)
            lines.append(
                ReportLine(
                    ticket.number,
                    entry.closed_on,
                    ticket.subject,
                    person.name if person else entry.person_key,
                    entry.minutes,
                    entry.billable,
                    first,
                    resolution,
                )
            )
        billable = sum(line.minutes for line in lines if line.billable)
        free = sum(line.minutes for line in lines if not line.billable)
        package = None if client.unlimited else int((client.hours_per_month or 0) * 60)
        overage = max(billable - package, 0) if package is not None else 0
        cost = (Decimal(overage) / 60 * client.overage).quantize(_CENT, rounding=ROUND_HALF_UP)
        issued = self._clock().astimezone(self._routing.tz).date()
        return ClientReport(
            client,
            month,
            tuple(lines),
            billable,
            free,
            package,
            overage,
            cost,
            provider=self._routing.reports.provider,
            issued_on=issued,
            sla=sla.share() if self._routing.sla.enabled else None,
        )

    async def clients_to_report(self, *, month: str) -> list[Client]:
        """Clients with activity in the month, or with an hour package.

        Clients kept elsewhere (a CRM's) are listed when they have activity, their
        contracts read again first where stale.
        """
        async with self._db.unit_of_work() as uow:
            active = await uow.time.clients_with_entries(month=month)
        listed = [c for c in self._routing.clients if c.key in active or not c.unlimited]
        others = sorted(active - {c.key for c in self._routing.clients})
        if not others:
            return listed
        await self._clients.refresh(others)
        async with self._db.unit_of_work() as uow:
            found = [await self._clients.by_key(uow, key) for key in others]
        return listed + [client for client in found if client is not None]

    async def issue(
        self,
        *,
        month: str,
        deliver: Callable[[UnitOfWork, ClientReport], Awaitable[None]],
        clients: Sequence[Client] | None = None,
    ) -> int:
        """Lock each client's month and hand its report to ``deliver`` in the same transaction.

        The lock is the guard: a second instance, or a second run the same day,
        finds the month locked and issues nothing.
        """
        issued = 0
        for client in (
            clients if clients is not None else await self.clients_to_report(month=month)
        ):
            try:
                async with self._db.unit_of_work() as uow:
                    await uow.time.guard_month(client_key=client.key, month=month)
                    if not await uow.time.lock(client_key=client.key, month=month):
                        continue
                    report = await self._build(uow, client, month)
                    await deliver(uow, report)
                    await uow.commit()
            except Exception:
                # One client's failure must not hold back the others' reports; its month
                # stays unlocked, so the next run tries it again.
                log.exception("report.failed", client=client.key, month=month)
                continue
            issued += 1
            log.info(
                "report.issued",
                client=client.key,
                month=month,
                tickets=len(report.lines),
                billable_minutes=report.billable_minutes,
            )
        return issued

    def due_month(self, now: datetime | None = None) -> str | None:
        """Last month, once the first of this month has passed ``reports.time``; else None.

        Any later day too: a service that was down on the first still issues the
        reports (the month lock keeps each from going out twice).
        """
        local = (now or self._clock()).astimezone(self._routing.tz)
        if local.day == 1 and local.time().replace(tzinfo=None) < self._routing.reports.time:
            return None
        return previous_month(local.date())
