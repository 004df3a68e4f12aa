"""An in-memory CRM for tests: contacts, companies and contracts set up by the test."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import ClassVar, Literal

from connectors.base import ConnectorError
from connectors.crm import CrmCompany, CrmConnector, CrmContact, SupportContract

Operation = Literal["find_contacts", "get_company", "get_contract", "add_timeline_note"]


class FakeCrm(CrmConnector):
    """Contacts by e-mail in ``contacts``, ``companies`` and ``contracts`` by company id.

    ``calls`` counts every call by operation; ``notes`` records every timeline note
    (company id, text) in order. ``fail`` makes the next calls of one operation raise;
    while ``hold`` is set and not yet released, look-ups wait (a slow CRM).
    """

    slug: ClassVar[str] = "fake-crm"

    def __init__(self) -> None:
        self.contacts: dict[str, list[CrmContact]] = {}
        self.companies: dict[str, CrmCompany] = {}
        self.contracts: dict[str, SupportContract] = {}
        self.notes: list[tuple[str, str]] = []
        self.calls: dict[str, int] = {}
        self.closed = False
        self.hold: asyncio.Event | None = None
        self._failures: dict[str, list[ConnectorError]] = {}

    def fail(self, operation: Operation, times: int, error: ConnectorError) -> None:
        """Make the next ``times`` calls of ``operation`` raise ``error`` (nothing changes)."""
        self._failures.setdefault(operation, []).extend([error] * times)

    def add_client(
        self,
        *,
        email: str,
        contact: CrmContact,
        company: CrmCompany,
        contract: SupportContract | None = None,
    ) -> None:
        """A contact of ``company`` writing from ``email``, and the company's contract."""
        if company.external_id not in contact.company_ids:
            contact = replace(contact, company_ids=(*contact.company_ids, company.external_id))
        self.contacts.setdefault(email.casefold(), []).append(contact)
        self.companies[company.external_id] = company
        if contract is not None:
            self.contracts[company.external_id] = contract

    def _enter(self, operation: Operation) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1
        failures = self._failures.get(operation)
        if failures:
            raise failures.pop(0)

    async def find_contacts(
        self, *, email: str | None = None, phone: str | None = None
    ) -> list[CrmContact]:
        """The contacts set up for this address (phones are not kept)."""
        self._enter("find_contacts")
        if self.hold is not None:
            await self.hold.wait()
        return list(self.contacts.get((email or "").strip().casefold(), []))

    async def get_company(self, company_id: str) -> CrmCompany | None:
        """The company, if set up."""
        self._enter("get_company")
        return self.companies.get(company_id)

    async def get_contract(self, company_id: str) -> SupportContract | None:
        """The company's contract, if set up."""
        self._enter("get_contract")
        return self.contracts.get(company_id)

    async def add_timeline_note(self, company_id: str, text: str) -> str:
        """Record the note; its id counts up from 1."""
        self._enter("add_timeline_note")
        self.notes.append((company_id, text))
        return str(len(self.notes))

    async def aclose(self) -> None:
        """Mark the fake closed."""
        self.closed = True
