"""Tables of the client cabinet: client users, invitations, sessions, sign-in attempts,
which client each ticket belongs to, and the files clients attach to new requests.

Secrets are stored as SHA-256 digests (invitation links, session ids) or Argon2id
hashes (passwords), never as given.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow


class PortalUserRow(SQLModel, table=True):
    """A client's user of the cabinet; ``password_hash`` is None until the invite is used."""

    __tablename__ = "portal_user"

    id: int | None = Field(default=None, primary_key=True)
    client_key: str = Field(max_length=32, index=True)
    #: Lower-cased; one account per address across every client.
    email: str = Field(max_length=254, unique=True)
    name: str = Field(max_length=200)
    password_hash: str | None = Field(default=None, max_length=255)
    #: ``ru`` or ``en``; None: the routing file's language.
    language: str | None = Field(default=None, max_length=8)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PortalInviteRow(SQLModel, table=True):
    """A one-time link that lets a user set a password."""

    __tablename__ = "portal_invite"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="portal_user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Who invited: a person key, or ``cli``.
    created_by: str | None = Field(default=None, max_length=64)


class PortalSessionRow(SQLModel, table=True):
    """A signed-in browser; ``id`` is the digest of the cookie's value."""

    __tablename__ = "portal_session"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="portal_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    address: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=200)


class PortalAttemptRow(SQLModel, table=True):
    """A sign-in attempt or a password request, for throttling and the audit trail."""

    __tablename__ = "portal_attempt"
    __table_args__ = (
        Index("ix_portal_attempt_email_at", "email", "at"),
        Index("ix_portal_attempt_address_at", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    email: str = Field(max_length=254)
    address: str = Field(max_length=64)
    #: ``ok``, ``failed``, ``locked`` or ``reset``.
    outcome: str = Field(max_length=16)


class PortalLockRow(SQLModel, table=True):
    """An account (``account:<email>``) or address (``address:<ip>``) locked until a time."""

    __tablename__ = "portal_lock"

    key: str = Field(primary_key=True, max_length=300)
    until: datetime = Field(sa_type=UTCDateTime)


class ClientTicketRow(SQLModel, table=True):
    """Which client a ticket belongs to (None: no client matched).

    Kept by the cabinet from the routing file's ``clients[].match``; ``pinned``
    rows were created in the cabinet and keep their client whatever the helpdesk says.
    """

    __tablename__ = "client_ticket"
    __table_args__ = (Index("ix_client_ticket_client", "client_key", "ticket_id"),)

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    client_key: str | None = Field(default=None, max_length=32)
    pinned: bool = False


class TicketAttachmentRow(SQLModel, table=True):
    """A file a client attached to a request made in the cabinet."""

    __tablename__ = "ticket_attachment"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    data: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
