"""What the cabinet shows and the errors its services raise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from storage.portal_models import PortalUserRow


class PortalError(Exception):
    """A request the cabinet refuses; ``reason`` is a message id for the page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidInvite(PortalError):
    """The link is unknown, used or expired."""


class LoginFailed(PortalError):
    """Wrong e-mail or password (never says which)."""


class LoginLocked(PortalError):
    """Too many failures for this account or address; try again at ``until``."""

    def __init__(self, until: datetime) -> None:
        super().__init__("locked")
        self.until = until


class NotAllowed(PortalError):
    """The actor may not do this (inviting without the role)."""


class Stage(StrEnum):
    """Where a ticket is, as the client sees it."""

    RECEIVED = "received"
    IN_WORK = "in_work"
    WAITING = "waiting"
    CLOSED = "closed"


class Moment(StrEnum):
    """An entry of a ticket's client-safe history."""

    CREATED = "created"
    TAKEN = "taken"
    WAITING = "waiting"
    ANSWERED = "answered"
    CLOSED = "closed"
    REOPENED = "reopened"


@dataclass(frozen=True, slots=True)
class PortalUser:
    """A signed-in client user."""

    id: int
    client_key: str
    email: str
    name: str
    language: str

    @classmethod
    def of(cls, row: PortalUserRow, default_language: str) -> PortalUser:
        """The view of a stored user (its language, or the deployment's)."""
        assert row.id is not None
        return cls(row.id, row.client_key, row.email, row.name, row.language or default_language)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A session just started: the cookie value and its CSRF token."""

    token: str
    csrf: str
    user: PortalUser
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CurrentSession:
    """The session a request carries."""

    id: str
    csrf: str
    user: PortalUser


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One of a user's sessions, for the account page."""

    started: datetime
    last_seen: datetime
    address: str
    user_agent: str
    current: bool


@dataclass(frozen=True, slots=True)
class Invitation:
    """A one-time link made for a client user."""

    email: str
    name: str
    client_key: str
    link: str
    expires_at: datetime
    #: The private chat of the client's manager, who was sent the link (None: nobody).
    manager_chat: int | None


@dataclass(frozen=True, slots=True)
class TicketSummary:
    """A row of the tickets page."""

    number: str
    subject: str
    requester: str
    stage: Stage
    created: datetime | None
    closed: datetime | None
    minutes: int


@dataclass(frozen=True, slots=True)
class TicketPage:
    """One page of a client's tickets."""

    tickets: Sequence[TicketSummary]
    total: int
    page: int
    pages: int


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """What the client filters the tickets page by; empty fields do not filter."""

    stage: Stage | None = None
    created_from: date | None = None
    created_to: date | None = None
    requester: str | None = None
    search: str = ""
    page: int = 1


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One client-safe entry of a ticket's history; ``who`` names a person where known."""

    at: datetime
    moment: Moment
    who: str | None = None


@dataclass(frozen=True, slots=True)
class AttachmentLink:
    """A file attached to a ticket."""

    id: int
    filename: str
    size: int


class SlaState(StrEnum):
    """How an SLA target of a ticket stands, as the client sees it."""

    RUNNING = "running"
    OVERDUE = "overdue"
    PAUSED = "paused"
    MET = "met"
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class SlaLine:
    """One SLA target of a ticket: ``first_response`` or ``resolution``.

    ``due`` is when a running target falls due (working hours counted), or fell due.
    """

    target: str
    state: SlaState
    due: datetime | None = None


@dataclass(frozen=True, slots=True)
class TicketDetail:
    """A ticket's page."""

    number: str
    subject: str
    body: str
    requester: str
    stage: Stage
    priority: str
    created: datetime | None
    closed: datetime | None
    minutes: int
    history: Sequence[HistoryItem]
    attachments: Sequence[AttachmentLink]
    #: The SLA targets, where SLA is configured: open ones first, the nearest first.
    sla: Sequence[SlaLine] = ()

    @property
    def due(self) -> datetime | None:
        """When the nearest running SLA target falls due (None: none is running)."""
        running = [line.due for line in self.sla if line.state == SlaState.RUNNING]
        return min((due for due in running if due is not None), default=None)


@dataclass(frozen=True, slots=True)
class ReportItem:
    """A monthly report issued for the client."""

    month: str
    issued: datetime


@dataclass(frozen=True, slots=True)
class Contract:
    """The contract page: the terms, this month's hours, the personal manager."""

    client_name: str
    support_type: str
    number: str
    start_date: date | None
    portal_url: str
    portal_type: str
    tariff: str
    monthly_fee: Decimal | None
    currency: str
    hours_per_month: Decimal | None
    hour_rate: Decimal
    overage_rate: Decimal
    bonus_hours: Decimal
    used_minutes: int
    #: Minutes left this month (package and bonus less used); None when unlimited.
    remaining_minutes: int | None
    manager_name: str | None
    manager_contact: str | None


@dataclass(frozen=True, slots=True)
class Upload:
    """A file a client attached, already size-checked and typed."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class NewRequest:
    """A request a client sends from the cabinet."""

    subject: str
    description: str
    priority: str
    uploads: Sequence[Upload] = ()
