"""Domain values shared by the dispatch services, connectors and adapters.

These are plain, immutable data: what a helpdesk tells us about a ticket and
what happened to it. Persistence lives in ``storage``; rendering in ``bot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class TicketEventKind(StrEnum):
    """What a helpdesk says happened to a ticket."""

    CREATED = "ticket.created"
    UPDATED = "ticket.updated"
    ASSIGNED = "ticket.assigned"
    CLOSED = "ticket.closed"
    REOPENED = "ticket.reopened"


class TicketState(StrEnum):
    """Where a ticket is in Modest's dispatch lifecycle."""

    UNASSIGNED = "unassigned"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class WritebackState(StrEnum):
    """Whether an assignment made in Modest has reached the helpdesk."""

    NONE = "none"
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Client:
    """The customer a ticket comes from."""

    name: str = ""
    email: str = ""
    company: str = ""


@dataclass(frozen=True, slots=True)
class TicketData:
    """A helpdesk's view of one ticket, normalised.

    ``department_ref`` and ``assignee_ref`` are the helpdesk's own ids (as
    strings), mapped to YAML departments and people by ``helpdesk_id``.
    ``closed`` tells whether the helpdesk considers the ticket closed;
    ``updated_at`` (when the helpdesk gives it) drives polling watermarks.
    """

    external_id: str
    number: str
    subject: str
    body: str = ""
    status: str = ""
    priority: str = ""
    type: str = ""
    department_ref: str | None = None
    assignee_ref: str | None = None
    client: Client = Client()
    url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    closed: bool = False


@dataclass(frozen=True, slots=True)
class HelpdeskEvent:
    """One event received from (or reconciled with) a helpdesk.

    ``delivery_key`` identifies the delivery: the same key seen twice is the
    same event delivered twice and is ignored the second time.
    """

    source: str
    kind: TicketEventKind
    delivery_key: str
    ticket: TicketData
