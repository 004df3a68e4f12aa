"""Integration bases: one small async interface per kind of external system.

Error tree (every connector raises only these)::

    ConnectorError
    ├── TransientError        network failure, timeout, 5xx, 429: worth retrying later
    │   └── RateLimitedError  the remote or our own budget says wait ``retry_after`` seconds
    └── PermanentError        4xx, bad credentials, unknown ticket: retrying will not help
        └── AccessDenied      401/403: the credentials are wrong or lack the rights

Connectors retry transient errors themselves (tenacity, bounded); what still
fails is raised to the caller, which decides whether to schedule a later try.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from datetime import datetime
from typing import ClassVar

from connectors.plugin import Capabilities, ConnectorKind
from connectors.types import NewTicket, TicketData


class ConnectorError(Exception):
    """Base of every error a connector raises."""


class TransientError(ConnectorError):
    """A failure that may succeed if tried again later."""


class RateLimitedError(TransientError):
    """The call must wait ``retry_after`` seconds before it is tried again."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    """A failure that will not go away by retrying (bad request, auth, not found)."""


class AccessDenied(PermanentError):
    """The system refuses Modest's credentials (401) or their rights (403): fix, then retry.

    ``rejected`` is True when the credentials themselves are refused (a wrong key),
    False when they are accepted but lack the rights for what was asked.
    """

    def __init__(self, message: str, *, rejected: bool = True) -> None:
        super().__init__(message)
        self.rejected = rejected


def client_error(status: int, message: str) -> PermanentError:
    """The permanent error for a 4xx answer: ``AccessDenied`` for 401 and 403."""
    if status in (401, 403):
        return AccessDenied(message, rejected=status == 401)
    return PermanentError(message)


class HelpdeskConnector(ABC):
    """A helpdesk Modest reads tickets from and writes assignments back to."""

    slug: ClassVar[str]
    #: The system's name as people know it ("HelpDeskEddy"), for messages.
    title: ClassVar[str] = "helpdesk"
    #: What Modest may ask of it: write back, list changes, poll, fetch one ticket.
    capabilities: ClassVar[Capabilities] = Capabilities(
        writes_back=True, accepts_events=True, fetches_tickets=True
    )

    @abstractmethod
    async def fetch_ticket(self, external_id: str) -> TicketData:
        """Read one ticket as the helpdesk has it now."""

    @abstractmethod
    async def assign(
        self, external_id: str, *, department_ref: str | None, assignee_ref: str | None
    ) -> None:
        """Set the ticket's department and assignee in the helpdesk."""

    @abstractmethod
    async def add_internal_note(self, external_id: str, text: str) -> None:
        """Add a note that staff see and the client does not."""

    def list_updated_since(self, since: datetime) -> AsyncIterator[TicketData]:
        """Tickets changed at or after ``since``, oldest change first (``lists_changes``)."""
        raise PermanentError(f"{self.slug} cannot list tickets")

    async def create_ticket(self, ticket: NewTicket) -> TicketData:
        """Open a ticket as its requester and return it as the helpdesk now has it
        (``creates_tickets``; the client cabinet's new requests)."""
        raise PermanentError(f"{self.slug} cannot create tickets")

    async def set_status(self, external_id: str, status: str) -> None:  # noqa: B027
        """Set the ticket's status (helpdesk-specific value); default: not supported, ignored."""

    async def record_time(self, external_id: str, *, minutes: int) -> None:  # noqa: B027
        """Store a ticket's total time spent in the helpdesk's own field, if it has one."""

    async def load_dictionaries(self) -> None:  # noqa: B027 - optional: no dictionaries
        """Read the names of the helpdesk's priorities and types, to show them by name."""

    async def check_access(self) -> None:  # noqa: B027 - optional: nothing to check by default
        """One cheap authenticated call: AccessDenied when the credentials are refused.

        Connectors that talk to an API declare it; a webhook-only helpdesk has nothing
        to check and keeps this default.
        """

    async def aclose(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Release network resources."""


#: The kind of every helpdesk: ``helpdesk.kind`` in the routing file picks one.
HELPDESK: ConnectorKind[HelpdeskConnector] = ConnectorKind("helpdesk")
