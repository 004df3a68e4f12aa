"""Package alerts of CRM clients: their contract is read afresh before the check.

Time is recorded in a bot transaction, where the CRM is not called; for a client
billed by a CRM contract the 80 %/100 % check runs as a job (``crm.package``)
instead, after the contract is read again if the kept one is older than
``crm.cache_ttl``, so a change in the deal counts within that time.
"""

from __future__ import annotations

from dispatch.crm.clients import CrmClientDirectory
from dispatch.events import EventKind, TicketEvent, TicketLog
from dispatch.job_payloads import CrmPackageCheck, enqueue
from dispatch.time_tracking import TimeTracker
from storage.db import Database, UnitOfWork
from storage.models import JobRow, TicketRow


class CrmPackages:
    """Queues and runs the package check of CRM clients."""

    def __init__(
        self, database: Database, clients: CrmClientDirectory, time_tracker: TimeTracker
    ) -> None:
        self._db = database
        self._clients = clients
        self._time = time_tracker

    def subscribe(self, events: TicketLog) -> None:
        """Check the package when billable time is recorded or changed for a CRM client."""
        events.subscribe((EventKind.TIME_RECORDED, EventKind.TIME_CHANGED), self._on_time)

    async def _on_time(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        assert ticket.id is not None
        entry = await uow.time.entry(ticket_id=ticket.id, round=int(event.detail["round"]))
        if entry is None or not entry.billable or entry.client_key is None:
            return
        if self._clients.from_crm(entry.client_key):
            enqueue(uow, CrmPackageCheck(client_key=entry.client_key, month=entry.month))

    async def check(self, job: JobRow) -> None:
        """The job: the contract read again where stale, then the thresholds checked."""
        order = CrmPackageCheck.of(job)
        await self._clients.refresh([order.client_key])
        async with self._db.unit_of_work() as uow:
            client = await self._clients.by_key(uow, order.client_key)
            if client is None:
                return
            await self._time.check_package(uow, client, order.month)
            await uow.commit()
