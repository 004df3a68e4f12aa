"""What Modest keeps of the CRM: a requester, a company with its support contract.

They are stored as JSON (the CRM cache, a ticket's link to the CRM), so they are
pydantic models; field names are the stored keys. A CRM company with a contract
is a client of its own, keyed ``crm-<company id>``.
"""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict

from config.clients import Client
from config.routing import RoutingConfig
from connectors.crm import CRM, CrmCompany, CrmContact, SupportContract

#: Client keys of CRM companies start with this.
CLIENT_PREFIX = "crm-"
_PLAIN_ID = re.compile(r"[a-z0-9_-]{1,16}")


def client_key(company_id: str) -> str:
    """The client key of a CRM company (``crm-42``); a long or odd id is hashed to fit."""
    if _PLAIN_ID.fullmatch(company_id):
        return CLIENT_PREFIX + company_id
    return CLIENT_PREFIX + hashlib.sha256(company_id.encode()).hexdigest()[:16]


def is_crm_client(key: str) -> bool:
    """Whether a client key names a CRM company."""
    return key.startswith(CLIENT_PREFIX)


class Snapshot(BaseModel):
    """Base of the kept CRM values."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Requester(Snapshot):
    """The CRM contact a ticket's requester is, and the company chosen for them."""

    contact_id: str
    name: str
    position: str = ""
    company_id: str | None = None

    @classmethod
    def of(cls, contact: CrmContact, company_id: str | None) -> Self:
        """From the connector's contact."""
        return cls(
            contact_id=contact.external_id,
            name=contact.name,
            position=contact.position,
            company_id=company_id,
        )


class Contract(Snapshot):
    """A company's support deal, by meaning."""

    deal_id: str
    number: str = ""
    hours_per_month: Decimal | None = None
    hour_rate: Decimal | None = None
    overage_rate: Decimal | None = None
    currency: str | None = None
    portal: str = ""
    manager_ref: str | None = None
    manager_name: str | None = None

    @classmethod
    def of(cls, contract: SupportContract) -> Self:
        """From the connector's contract."""
        return cls(
            deal_id=contract.external_id,
            number=contract.number,
            hours_per_month=contract.hours_per_month,
            hour_rate=contract.hour_rate,
            overage_rate=contract.overage_rate,
            currency=contract.currency,
            portal=contract.portal,
            manager_ref=contract.manager_ref,
            manager_name=contract.manager_name,
        )


class Account(Snapshot):
    """A CRM company and its support contract (None: the company has none)."""

    company_id: str
    title: str
    url: str | None = None
    contract: Contract | None = None

    @classmethod
    def of(cls, company: CrmCompany, contract: SupportContract | None) -> Self:
        """From the connector's company and contract."""
        return cls(
            company_id=company.external_id,
            title=company.title,
            url=company.url,
            contract=Contract.of(contract) if contract is not None else None,
        )

    def client(self, routing: RoutingConfig) -> Client | None:
        """The company as a client billed by its contract; None without a contract.

        The account manager is the deal's responsible user, a person of the routing
        file by the key the CRM connector names people by (``bitrix24_id``).
        """
        contract = self.contract
        if contract is None:
            return None
        ref = contract.manager_ref
        manager = routing.person_by_ref(ref, CRM.name) if ref is not None else None
        return Client(
            key=client_key(self.company_id),
            name=self.title.strip() or f"#{self.company_id}",
            hours_per_month=contract.hours_per_month,
            unlimited=contract.hours_per_month is None,
            hour_rate=contract.hour_rate or Decimal(0),
            overage_rate=contract.overage_rate,
            currency=contract.currency or "RUB",
            contract=contract.number,
            portal=contract.portal,
            manager=manager.key if manager is not None else None,
        )
