"""An in-memory helpdesk for tests: records what Modest writes, fails on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from connectors.base import ConnectorError, HelpdeskConnector, PermanentError
from connectors.plugin import Capabilities
from connectors.types import Client, NewTicket, TicketData


class FakeHelpdesk(HelpdeskConnector):
    """Tickets live in ``tickets``; assignments and notes are recorded in order.

    A successful ``assign`` also updates the stored ticket (for the refs given),
    so a later ``fetch_ticket`` sees it as a real helpdesk would.
    """

    slug: ClassVar[str] = "fake"
    title: ClassVar[str] = "the fake helpdesk"
    capabilities: ClassVar[Capabilities] = Capabilities(
        writes_back=True,
        lists_changes=True,
        accepts_events=True,
        fetches_tickets=True,
        creates_tickets=True,
    )

    def __init__(self, tickets: list[TicketData] | None = None) -> None:
        self.tickets: dict[str, TicketData] = {}
        self.assignments: list[tuple[str, str | None, str | None]] = []
        self.notes: list[tuple[str, str]] = []
        self.fetches: list[str] = []
        self.listings: list[datetime] = []
        self.statuses: list[tuple[str, str]] = []
        self.times: list[tuple[str, int]] = []
        self.created: list[NewTicket] = []
        self.closed = False
        #: What ``check_access`` raises (None: the credentials are fine).
        self.access_error: ConnectorError | None = None
        self._assign_failures: list[ConnectorError] = []
        for ticket in tickets or []:
            self.put(ticket)

    def put(self, ticket: TicketData) -> None:
        """Store (or replace) a ticket under its ``external_id``."""
        self.tickets[ticket.external_id] = ticket

    def fail_assign(self, times: int, error: ConnectorError) -> None:
        """Make the next ``times`` calls of ``assign`` raise ``error`` (nothing recorded)."""
        self._assign_failures.extend([error] * times)

    async def check_access(self) -> None:
        """Raise ``access_error`` when one is set."""
        if self.access_error is not None:
            raise self.access_error

    async def fetch_ticket(self, external_id: str) -> TicketData:
        """The stored ticket; ``access_error`` if set, PermanentError for an unknown id."""
        self.fetches.append(external_id)
        if self.access_error is not None:
            raise self.access_error
        try:
            return self.tickets[external_id]
        except KeyError:
            raise PermanentError(f"fake helpdesk has no ticket {external_id!r}") from None

    async def assign(
        self, external_id: str, *, department_ref: str | None, assignee_ref: str | None
    ) -> None:
        """Record the assignment, or raise the next injected failure."""
        if self._assign_failures:
            raise self._assign_failures.pop(0)
        self.assignments.append((external_id, department_ref, assignee_ref))
        ticket = self.tickets.get(external_id)
        if ticket is not None:
            department = ticket.department_ref if department_ref is None else department_ref
            assignee = ticket.assignee_ref if assignee_ref is None else assignee_ref
            self.tickets[external_id] = replace(
                ticket, department_ref=department, assignee_ref=assignee
            )

    async def add_internal_note(self, external_id: str, text: str) -> None:
        """Record the note."""
        self.notes.append((external_id, text))

    async def aclose(self) -> None:
        """Remember that it was closed, so tests can check cleanup."""
        self.closed = True

    async def list_updated_since(self, since: datetime) -> AsyncIterator[TicketData]:
        """Stored tickets whose ``updated_at`` is at or after ``since``, oldest first."""
        self.listings.append(since)
        changed = [t for t in self.tickets.values() if t.updated_at and t.updated_at >= since]
        for ticket in sorted(changed, key=lambda t: t.updated_at or since):
            yield ticket

    async def create_ticket(self, ticket: NewTicket) -> TicketData:
        """Store a new ticket numbered ``F-<id>`` (ids go on from 9001)."""
        self.created.append(ticket)
        external_id = str(9000 + len(self.created))
        data = TicketData(
            external_id=external_id,
            number=f"F-{external_id}",
            subject=ticket.subject,
            body=ticket.description,
            priority=ticket.priority,
            client=Client(name=ticket.requester_name, email=ticket.requester_email),
            channel="web",
        )
        self.put(data)
        return data

    async def set_status(self, external_id: str, status: str) -> None:
        """Record the status change."""
        self.statuses.append((external_id, status))

    async def record_time(self, external_id: str, *, minutes: int) -> None:
        """Record the ticket's total time, as a helpdesk time field would hold it."""
        self.times.append((external_id, minutes))
