"""Which client a ticket belongs to, and a client by key: the one lookup every feature
that bills time uses (cards, time entries, package alerts, monthly reports).

The routing file's clients are the default. With ``crm.clients_from_crm`` the CRM's
directory (``dispatch.crm.clients``) adds the companies with a support contract.
"""

from __future__ import annotations

from collections.abc import Collection

from config.clients import Client
from config.routing import RoutingConfig
from storage.db import UnitOfWork
from storage.models import TicketRow


class ClientDirectory:
    """The routing file's clients: a ticket's by company name or e-mail domain."""

    def __init__(self, routing: RoutingConfig) -> None:
        self._routing = routing

    async def for_ticket(self, uow: UnitOfWork, ticket: TicketRow) -> Client | None:
        """The client the ticket's time is billed to, if any."""
        return self._routing.client_for(company=ticket.client_company, email=ticket.client_email)

    async def by_key(self, uow: UnitOfWork, key: str) -> Client | None:
        """The client with this key, if any."""
        return self._routing.client(key)

    async def refresh(self, keys: Collection[str]) -> None:
        """Read these clients' contracts again where they are kept elsewhere (none here).

        Called outside any transaction, before a report or an alert uses them.
        """
