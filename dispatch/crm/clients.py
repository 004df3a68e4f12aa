"""Clients from the CRM (``crm.clients_from_crm``): a ticket's client is its requester's
CRM company, billed by the company's support contract.

The routing file still wins: a ticket a YAML client matches (company name, e-mail
domain) is that client's, and a YAML client with a CRM client's key replaces it.
"""

from __future__ import annotations

from collections.abc import Collection

import structlog

from config.clients import Client
from config.routing import RoutingConfig
from connectors.base import ConnectorError
from dispatch.clients import ClientDirectory
from dispatch.crm.lookup import CrmLookup, account_key
from dispatch.crm.models import Account, client_key, is_crm_client
from storage.db import UnitOfWork
from storage.models import TicketRow

log = structlog.get_logger(__name__)


class CrmClientDirectory(ClientDirectory):
    """The routing file's clients, then the CRM's companies with a support contract.

    Inside a transaction a contract is read from the cache, however old; ``refresh``
    reads the stale ones from the CRM first (``lookup`` None: only the cache is read).
    """

    def __init__(self, routing: RoutingConfig, lookup: CrmLookup | None) -> None:
        super().__init__(routing)
        self._lookup = lookup

    def from_crm(self, key: str) -> bool:
        """Whether the client with this key is billed by a CRM contract."""
        return is_crm_client(key) and self._routing.client(key) is None

    async def for_ticket(self, uow: UnitOfWork, ticket: TicketRow) -> Client | None:
        """The YAML client matching the ticket, else its requester's CRM company."""
        client = await super().for_ticket(uow, ticket)
        if client is not None or ticket.id is None:
            return client
        link = await uow.crm.link(ticket_id=ticket.id)
        if link is None or link.company_id is None:
            return None
        return await self.by_key(uow, client_key(link.company_id))

    async def by_key(self, uow: UnitOfWork, key: str) -> Client | None:
        """The YAML client with this key, else the CRM company's as last read."""
        client = await super().by_key(uow, key)
        if client is not None or not is_crm_client(key):
            return client
        row = await uow.crm.cached(key=account_key(key))
        raw = row.value.get("account") if row is not None else None
        return Account.model_validate(raw).client(self._routing) if raw else None

    async def refresh(self, keys: Collection[str]) -> None:
        """Read the CRM clients' contracts again where the kept ones are stale.

        A CRM that fails leaves the kept contract in use (logged): a report or an
        alert is better late-informed than never sent.
        """
        if self._lookup is None:
            return
        for key in sorted(k for k in keys if self.from_crm(k)):
            company_id = await self._lookup.company_of(key)
            if company_id is None:
                continue
            try:
                await self._lookup.account(company_id)
            except ConnectorError as exc:
                log.warning("crm.contract_not_refreshed", client=key, reason=str(exc))
