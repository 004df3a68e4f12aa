"""The helpdesk vocabulary: what a helpdesk tells Modest about a ticket.

Plain, immutable data shared by the connectors (which produce it) and the
dispatch services (which apply it). It lives here, at the bottom of the import
graph, so that ``connectors/`` needs nothing from the packages above it.
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
    #: Someone answered in the ticket's conversation (see :class:`Reply`).
    REPLIED = "ticket.replied"


class ReplyAuthor(StrEnum):
    """Who wrote a reply in a ticket's conversation."""

    STAFF = "staff"
    CLIENT = "client"


@dataclass(frozen=True, slots=True)
class Reply:
    """One message of a ticket's conversation, as far as the helpdesk tells.

    ``external_id`` is unique within the ticket (a HelpDeskEddy post id, an RT
    transaction id, the generic webhook's reply id), so a reply seen twice is
    recorded once. ``author_ref`` is the helpdesk's user id of a staff author.
    """

    external_id: str
    author: ReplyAuthor
    at: datetime | None = None
    author_ref: str | None = None
    author_name: str = ""
    text: str = ""


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
    ``channel`` is where the ticket came in (email, web, phone, chat, ...) when
    the helpdesk says; ``replies`` the conversation as far as the helpdesk shows it.
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
    channel: str = ""
    replies: tuple[Reply, ...] = ()


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


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent along with a new ticket."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class NewTicket:
    """A ticket to open in the helpdesk on a client's behalf (the client cabinet)."""

    subject: str
    description: str
    requester_email: str
    requester_name: str = ""
    priority: str = ""
    attachments: tuple[Attachment, ...] = ()
