"""The Bitrix24 CRM through an incoming webhook (scope ``crm``; ``user`` for names).

Facts this relies on (``shared/reference/bitrix24-rest.md`` §7, and the method
pages it names): ``crm.contact.list`` filters multi-value fields such as ``EMAIL``
by exact match only and returns 50 a page, ``COMPANY_ID`` being the primary
company; ``crm.duplicate.findbycomm`` (``type`` EMAIL/PHONE, ``values``,
``entity_type``) answers ``{"CONTACT": [ids]}``, or ``[]`` when nothing matches,
and is the fallback where the exact filter misses (case, spacing);
``crm.contact.company.items.get`` lists a contact's companies (``COMPANY_ID``,
``SORT``, ``IS_PRIMARY``); ``crm.company.get`` answers 400 "Not found" for a
company that does not exist; ``crm.deal.list`` takes ``CATEGORY_ID`` (the
pipeline), returns ``UF_*`` fields only when selected, and money fields as
``"2500|RUB"``; ``user.get`` names the deal's ``ASSIGNED_BY_ID``;
``crm.timeline.comment.add`` takes ``fields`` (lower case key) with ``ENTITY_ID``,
``ENTITY_TYPE`` ``company`` and ``COMMENT``. Calls, limits and errors are
``connectors.bitrix24_rest``, with the portal's budget shared with the tracker.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import ClassVar

import httpx
import structlog

from connectors.base import PermanentError
from connectors.bitrix24_parse import parse_webhook_url, positive_id
from connectors.bitrix24_rest import Bitrix24Error, Bitrix24Rest, PortalRateLimiter, Sleep
from connectors.crm import CONTRACT_MEANINGS, CrmCompany, CrmConnector, CrmContact, SupportContract

log = structlog.get_logger(__name__)

#: At most this many contacts of one address are read (each may cost a request more).
MAX_CONTACTS = 10
MAX_NOTE_CHARS = 4000
_CONTACT_FIELDS = ("ID", "NAME", "SECOND_NAME", "LAST_NAME", "POST", "COMPANY_ID")
_DEAL_FIELDS = ("ID", "TITLE", "ASSIGNED_BY_ID", "CURRENCY_ID", "CATEGORY_ID")
_PHONE_CHARS = re.compile(r"[^\d+]")
_NUMERIC = frozenset({"hours_per_month", "hour_rate", "overage_rate"})


def _text(value: object) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip() if isinstance(value, str | int | float) else ""


def _id_text(value: object) -> str | None:
    number = positive_id(value)
    return str(number) if number is not None else None


def _company_id(value: str) -> int:
    number = positive_id(value)
    if number is None:
        raise PermanentError(f"a Bitrix24 company id must be a positive integer: {value!r}")
    return number


def _amount(meaning: str, value: object) -> tuple[Decimal | None, str | None]:
    """A number field, or a money field ``"2500|RUB"``: the amount and its currency."""
    text = _text(value)
    if not text:
        return None, None
    amount, _, currency = text.partition("|")
    try:
        number = Decimal(amount.replace(" ", "").replace(",", "."))
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number < 0:
        # An account manager's typo must not break the card: the value is left out, loudly.
        log.warning("bitrix24_crm.unreadable_field", meaning=meaning)
        return None, None
    return number, currency.strip() or None


def _name(item: Mapping[str, object], *parts: str) -> str:
    return " ".join(text for part in parts if (text := _text(item.get(part))))


def _items(result: object) -> list[Mapping[str, object]]:
    return [item for item in result if isinstance(item, dict)] if isinstance(result, list) else []


class Bitrix24CrmConnector(CrmConnector):
    """Bitrix24 CRM: contacts, companies, support deals, company timeline comments.

    ``deal_category`` is the pipeline (``CATEGORY_ID``) of the support deals; None
    means no contract is looked up. ``fields`` maps each meaning of
    :data:`CONTRACT_MEANINGS` to the deal's field code (``UF_CRM_HOURS``).
    ``limiter`` is the portal's budget, shared with the tracker on the same portal.
    """

    slug: ClassVar[str] = "bitrix24"

    def __init__(
        self,
        *,
        webhook_url: str,
        deal_category: int | None = None,
        fields: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: PortalRateLimiter | None = None,
        retry_attempts: int = 3,
        retry_wait: float = 1.0,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        unknown = sorted(set(fields or {}) - set(CONTRACT_MEANINGS))
        if unknown:
            raise ValueError(f"unknown contract field meanings: {', '.join(unknown)}")
        webhook = parse_webhook_url(webhook_url)
        self._origin = webhook.origin
        self._category = deal_category
        self._fields = dict(fields or {})
        self._rest = Bitrix24Rest(
            root=webhook.root,
            limiter=limiter if limiter is not None else PortalRateLimiter(sleep=sleep),
            timeout=timeout,
            transport=transport,
            retry_attempts=retry_attempts,
            retry_wait=retry_wait,
            sleep=sleep,
            wall_clock=wall_clock,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._rest.aclose()

    async def find_contacts(
        self, *, email: str | None = None, phone: str | None = None
    ) -> list[CrmContact]:
        """``crm.contact.list`` by exact e-mail, else ``crm.duplicate.findbycomm``."""
        if (email is None) == (phone is None):
            raise PermanentError("look a contact up by an e-mail address or a phone number")
        if email is not None:
            address = email.strip()
            if "@" not in address:
                return []
            items = await self._contacts({"EMAIL": address})
            if not items:
                items = await self._contacts_by_ids(await self._duplicates("EMAIL", address))
        else:
            number = _PHONE_CHARS.sub("", phone or "")
            if len(number.lstrip("+")) < 5:
                return []
            items = await self._contacts_by_ids(await self._duplicates("PHONE", number))
        found = sorted(
            (item for item in items if _id_text(item.get("ID"))),
            key=lambda item: int(_text(item.get("ID"))),
        )
        return [await self._contact(item) for item in found[:MAX_CONTACTS]]

    async def get_company(self, company_id: str) -> CrmCompany | None:
        """``crm.company.get``; the URL is the company's card on the portal."""
        number = _company_id(company_id)
        try:
            result = await self._rest.call("crm.company.get", {"id": number})
        except Bitrix24Error as exc:
            if exc.status in (400, 404) and "not found" in exc.description.lower():
                return None
            raise
        if not isinstance(result, dict):
            return None
        title = _text(result.get("TITLE")) or f"#{number}"
        url = f"{self._origin}/crm/company/details/{number}/"
        return CrmCompany(external_id=str(number), title=title, url=url)

    async def get_contract(self, company_id: str) -> SupportContract | None:
        """The newest open deal of the company in ``deal_category``, its fields mapped."""
        number = _company_id(company_id)
        if self._category is None:
            return None
        params = {
            "filter": {"COMPANY_ID": number, "CATEGORY_ID": self._category, "CLOSED": "N"},
            "select": [*_DEAL_FIELDS, *sorted(set(self._fields.values()))],
            "order": {"ID": "DESC"},
        }
        deals = _items(await self._rest.call("crm.deal.list", params))
        if not deals:
            return None
        return await self._contract(str(number), deals[0])

    async def add_timeline_note(self, company_id: str, text: str) -> str:
        """``crm.timeline.comment.add`` on the company; returns the comment's id."""
        if not text.strip():
            raise PermanentError("a timeline note needs some text")
        fields = {
            "ENTITY_ID": _company_id(company_id),
            "ENTITY_TYPE": "company",
            "COMMENT": text[:MAX_NOTE_CHARS],
        }
        result = await self._rest.call("crm.timeline.comment.add", {"fields": fields})
        note_id = _id_text(result)
        if note_id is None:
            raise PermanentError("Bitrix24 crm.timeline.comment.add answered without an id")
        return note_id

    async def _contacts(self, filter_: Mapping[str, object]) -> list[Mapping[str, object]]:
        params = {"filter": dict(filter_), "select": list(_CONTACT_FIELDS), "order": {"ID": "ASC"}}
        return _items(await self._rest.call("crm.contact.list", params))

    async def _contacts_by_ids(self, ids: list[int]) -> list[Mapping[str, object]]:
        return await self._contacts({"=ID": ids}) if ids else []

    async def _duplicates(self, kind: str, value: str) -> list[int]:
        params = {"type": kind, "values": [value], "entity_type": "CONTACT"}
        result = await self._rest.call("crm.duplicate.findbycomm", params)
        raw = result.get("CONTACT") if isinstance(result, dict) else None
        ids = [positive_id(item) for item in raw] if isinstance(raw, list) else []
        return sorted({i for i in ids if i is not None})[:MAX_CONTACTS]

    async def _contact(self, item: Mapping[str, object]) -> CrmContact:
        contact_id = _text(item.get("ID"))
        primary = _id_text(item.get("COMPANY_ID"))
        companies: tuple[str, ...] = ()
        if primary is not None:
            # Only a contact with a primary company can have others: ask for them all.
            result = await self._rest.call("crm.contact.company.items.get", {"id": contact_id})
            companies = self._ordered_companies(_items(result)) or (primary,)
        return CrmContact(
            external_id=contact_id,
            name=_name(item, "NAME", "LAST_NAME") or _name(item, "SECOND_NAME"),
            position=_text(item.get("POST")),
            company_ids=companies,
        )

    @staticmethod
    def _ordered_companies(links: list[Mapping[str, object]]) -> tuple[str, ...]:
        def order(link: Mapping[str, object]) -> tuple[bool, int, int]:
            sort = positive_id(link.get("SORT")) or 0
            return (_text(link.get("IS_PRIMARY")) != "Y", sort, int(_text(link["COMPANY_ID"])))

        linked = [link for link in links if _id_text(link.get("COMPANY_ID"))]
        ordered = (_text(link["COMPANY_ID"]) for link in sorted(linked, key=order))
        return tuple(dict.fromkeys(ordered))

    async def _contract(self, company_id: str, deal: Mapping[str, object]) -> SupportContract:
        values: dict[str, Decimal | None] = {}
        currency = _text(deal.get("CURRENCY_ID")) or None
        for meaning in sorted(_NUMERIC & self._fields.keys()):
            amount, money = _amount(meaning, deal.get(self._fields[meaning]))
            values[meaning] = amount
            currency = money or currency
        manager = _id_text(deal.get("ASSIGNED_BY_ID"))
        return SupportContract(
            external_id=_text(deal.get("ID")),
            company_id=company_id,
            title=_text(deal.get("TITLE")),
            number=self._field(deal, "contract"),
            hours_per_month=values.get("hours_per_month"),
            hour_rate=values.get("hour_rate"),
            overage_rate=values.get("overage_rate"),
            currency=currency,
            portal=self._field(deal, "portal"),
            manager_ref=manager,
            manager_name=await self._user_name(manager) if manager else None,
        )

    def _field(self, deal: Mapping[str, object], meaning: str) -> str:
        code = self._fields.get(meaning)
        return _text(deal.get(code)) if code else ""

    async def _user_name(self, user_id: str) -> str | None:
        try:
            result = await self._rest.call("user.get", {"ID": user_id})
        except PermanentError as exc:
            # Without the ``user`` scope the manager is still known by id (people[].bitrix24_id).
            log.warning("bitrix24_crm.user_unreadable", user_id=user_id, reason=str(exc))
            return None
        users = _items(result)
        return (_name(users[0], "NAME", "LAST_NAME") or None) if users else None
