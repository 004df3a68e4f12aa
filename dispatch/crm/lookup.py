"""CRM look-ups through the cache: a requester by e-mail, a company with its contract.

A look-up is kept for ``crm.cache_ttl`` in the database (``crm_cache``), so a client
writing ten tickets costs one look-up, every instance of Modest reuses it, and a
restart keeps it; a change in the CRM shows once the kept value is older than the
TTL. "Not in the CRM" is kept too. Nothing here runs inside a caller's transaction:
the CRM is called between two short units of work of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from connectors.crm import CrmConnector, CrmContact
from dispatch.crm.models import Account, Requester, client_key
from storage.db import Database, UnitOfWork
from storage.types import utcnow

log = structlog.get_logger(__name__)

#: At most this many companies are read to find the one with a support contract.
MAX_COMPANIES = 5


def email_key(email: str) -> str:
    """The cache key of a requester's look-up."""
    return "email:" + email.strip().casefold()[:180]


def account_key(client: str) -> str:
    """The cache key of a company's account, by its client key."""
    return "account:" + client


async def kept_account(uow: UnitOfWork, company_id: str) -> Account | None:
    """The company's account as last kept, however old; None if never read or gone."""
    row = await uow.crm.cached(key=account_key(client_key(company_id)))
    raw = row.value.get("account") if row is not None else None
    return Account.model_validate(raw) if raw else None


class CrmLookup:
    """Requesters and accounts, from the cache while fresh, else from the CRM."""

    def __init__(
        self,
        database: Database,
        crm: CrmConnector,
        *,
        ttl: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._crm = crm
        self._ttl = ttl
        self._clock = clock
        # One look-up of a key at a time in this process: ten tickets arriving together
        # wait for the first one's answer instead of asking the CRM ten times.
        self._locks: dict[str, asyncio.Lock] = {}

    async def requester(self, email: str) -> Requester | None:
        """Who writes from ``email``: the contact, and the company whose contract applies.

        Of several contacts with the address, and of a contact's several companies
        (primary first), the first company with a support contract is chosen; without
        any, the first company the CRM shows.
        """

        async def look_up() -> dict[str, Any]:
            contacts = await self._crm.find_contacts(email=email.strip())
            chosen = await self._choose(contacts)
            log.info("crm.requester_looked_up", contacts=len(contacts), found=chosen is not None)
            return {"requester": chosen.model_dump(mode="json") if chosen else None}

        raw = (await self._once(email_key(email), look_up)).get("requester")
        return Requester.model_validate(raw) if raw else None

    async def account(self, company_id: str) -> Account | None:
        """The company and its support contract; None when the CRM has no such company."""

        async def look_up() -> dict[str, Any]:
            company = await self._crm.get_company(company_id)
            contract = await self._crm.get_contract(company_id) if company is not None else None
            account = Account.of(company, contract) if company is not None else None
            return {"account": account.model_dump(mode="json") if account else None}

        raw = (await self._once(account_key(client_key(company_id)), look_up)).get("account")
        return Account.model_validate(raw) if raw else None

    async def company_of(self, client: str) -> str | None:
        """The CRM company of a CRM client's key, as kept; None if never read."""
        async with self._db.unit_of_work() as uow:
            row = await uow.crm.cached(key=account_key(client))
        raw = row.value.get("account") if row is not None else None
        return Account.model_validate(raw).company_id if raw else None

    async def _choose(self, contacts: list[CrmContact]) -> Requester | None:
        if not contacts:
            return None
        ordered = sorted(contacts, key=lambda contact: not contact.company_ids)
        first: tuple[CrmContact, str] | None = None
        read = 0
        for contact in ordered:
            for company_id in contact.company_ids:
                if read >= MAX_COMPANIES:
                    break
                read += 1
                account = await self.account(company_id)
                if account is None:
                    continue
                if account.contract is not None:
                    return Requester.of(contact, company_id)
                first = first or (contact, company_id)
        if first is not None:
            return Requester.of(*first)
        return Requester.of(ordered[0], None)

    async def _once(
        self, key: str, look_up: Callable[[], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """The fresh kept value of ``key``, else ``look_up()`` kept; nothing kept on errors."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                kept = await self._kept(key)
                if kept is not None:
                    return kept
                value = await look_up()
                await self._keep(key, value)
                return value
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    async def _kept(self, key: str) -> dict[str, Any] | None:
        async with self._db.unit_of_work() as uow:
            row = await uow.crm.cached(key=key)
        if row is None or self._clock() - row.fetched_at >= self._ttl:
            return None
        return row.value

    async def _keep(self, key: str, value: dict[str, Any]) -> None:
        async with self._db.unit_of_work() as uow:
            await uow.crm.keep(key=key, value=value, at=self._clock())
            await uow.commit()
