"""The CRM block of a ticket's card, from what the look-up found and kept.

It is read at every render of the card (no CRM call), so the block stays when the
card changes for other reasons, and the hours used follow the time recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from config.clients import Client
from config.routing import RoutingConfig
from connectors.crm import CRM
from dispatch.crm.lookup import kept_account
from dispatch.crm.models import Contract, Requester
from dispatch.crm.views import CrmCard
from storage.db import UnitOfWork
from storage.models import TicketRow
from storage.types import utcnow


class CrmCardBlocks:
    """Builds a card's CRM block; None while the requester has not been looked up."""

    def __init__(self, routing: RoutingConfig, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._routing = routing
        self._clock = clock

    async def block(
        self, uow: UnitOfWork, ticket: TicketRow, client: Client | None
    ) -> CrmCard | None:
        """The block; ``client`` is who the ticket is billed to (its hours used this month)."""
        assert ticket.id is not None
        link = await uow.crm.link(ticket_id=ticket.id)
        if link is None:
            return None
        if not link.found:
            return CrmCard(found=False)
        requester = Requester.model_validate(link.requester)
        account = await kept_account(uow, link.company_id) if link.company_id else None
        contract = account.contract if account is not None else None
        used: int | None = None
        package: int | None = None
        if client is not None:
            month = f"{self._clock().astimezone(self._routing.tz):%Y-%m}"
            used = await uow.time.billable_minutes(client_key=client.key, month=month)
            package = _minutes(client.hours_per_month)
        elif contract is not None:
            package = _minutes(contract.hours_per_month)
        overage = max((used or 0) - package, 0) if package is not None else 0
        return CrmCard(
            found=True,
            requester_name=requester.name,
            position=requester.position,
            company_name=account.title if account is not None else None,
            company_url=account.url if account is not None else None,
            has_contract=contract is not None,
            contract_number=contract.number if contract is not None else "",
            package_minutes=package,
            used_minutes=used,
            overage_minutes=overage,
            portal=contract.portal if contract is not None else "",
            manager_name=self._manager(contract),
        )

    def _manager(self, contract: Contract | None) -> str | None:
        if contract is None or contract.manager_ref is None:
            return None
        person = self._routing.person_by_ref(contract.manager_ref, CRM.name)
        return person.name if person is not None else contract.manager_name


def _minutes(hours: Decimal | None) -> int | None:
    return int(hours * 60) if hours is not None else None
