"""The CRM interface: who a requester is, their company and its support contract.

A CRM keeps the clients (companies), their contacts and one support deal per client
(the contract: hours a month, rates, the account manager). Modest reads them to
show on a ticket's card and to bill time, and writes a note to the company's
timeline when support work is recorded. Connectors raise only
:mod:`connectors.base` errors; every id is the CRM's own, as text.
The vendors (``connectors.bitrix24_crm``) implement this base; a fake is
``connectors.fake_crm``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from connectors.plugin import Capabilities, ConnectorKind

#: What a contract's fields may mean: the keys of the routing file's ``crm.contract.fields``.
CONTRACT_MEANINGS = ("hours_per_month", "hour_rate", "overage_rate", "contract", "portal")


@dataclass(frozen=True, slots=True)
class CrmContact:
    """A person in the CRM; ``company_ids`` are their companies, the primary one first."""

    external_id: str
    name: str
    position: str = ""
    company_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CrmCompany:
    """A client company; ``url`` opens its card in the CRM."""

    external_id: str
    title: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class SupportContract:
    """The company's support deal, its fields read by their configured meaning.

    ``hours_per_month`` None: no package (unlimited). ``manager_ref`` is the deal's
    responsible user (the account manager), ``manager_name`` their name in the CRM.
    """

    external_id: str
    company_id: str
    title: str = ""
    number: str = ""
    hours_per_month: Decimal | None = None
    hour_rate: Decimal | None = None
    overage_rate: Decimal | None = None
    currency: str | None = None
    portal: str = ""
    manager_ref: str | None = None
    manager_name: str | None = None


class CrmConnector(ABC):
    """A CRM Modest looks requesters, companies and contracts up in."""

    slug: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()

    @abstractmethod
    async def find_contacts(
        self, *, email: str | None = None, phone: str | None = None
    ) -> list[CrmContact]:
        """Contacts with exactly this e-mail address (or phone number); oldest first."""

    @abstractmethod
    async def get_company(self, company_id: str) -> CrmCompany | None:
        """One company; None when it does not exist or is not visible."""

    @abstractmethod
    async def get_contract(self, company_id: str) -> SupportContract | None:
        """The company's open support deal (the newest, if several); None without one."""

    @abstractmethod
    async def add_timeline_note(self, company_id: str, text: str) -> str:
        """Write a comment to the company's timeline; returns its id."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Release network resources."""


#: The kind of every CRM: ``crm.kind`` in the routing file picks one.
CRM: ConnectorKind[CrmConnector] = ConnectorKind("crm")
