"""A client's contract (with this month's hours, live), its issued reports, and the
"change tariff" request that goes to the client's manager."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import structlog

from config.routing import RoutingConfig
from dispatch.portal.models import Contract, PortalError, PortalUser, ReportItem
from dispatch.portal.notices import PortalNotices, tell_manager
from dispatch.report_files import Translate, report_csv, report_pdf
from dispatch.reports import ReportService
from storage.db import Database
from storage.types import utcnow

log = structlog.get_logger(__name__)

MAX_REQUEST_TEXT = 2000
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class PortalContract:
    """The contract page, the reports page and the tariff request."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        notices: PortalNotices,
        reports: ReportService,
        documents: Callable[[str], Translate],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._notices = notices
        self._reports = reports
        #: The report documents' translator for a language (the bot's catalogs).
        self._documents = documents
        self._clock = clock

    async def contract(self, client_key: str) -> Contract:
        """The terms and this month's billable hours against the package."""
        client = self._routing.client(client_key)
        if client is None:
            raise PortalError("unknown client")
        month = f"{self._clock().astimezone(self._routing.tz):%Y-%m}"
        async with self._db.unit_of_work() as uow:
            used = await uow.time.billable_minutes(client_key=client.key, month=month)
        remaining = None
        if not client.unlimited:
            package = (client.hours_per_month or 0) + client.bonus_hours
            remaining = int(package * 60) - used
        manager = self._routing.person(client.manager) if client.manager else None
        return Contract(
            client_name=client.name,
            support_type=client.support_type,
            number=client.contract,
            start_date=client.start_date,
            portal_url=client.portal_url,
            portal_type=client.portal_type,
            tariff=client.tariff,
            monthly_fee=client.monthly_fee,
            currency=client.currency,
            hours_per_month=None if client.unlimited else client.hours_per_month,
            hour_rate=client.hour_rate,
            overage_rate=client.overage,
            bonus_hours=client.bonus_hours,
            used_minutes=used,
            remaining_minutes=remaining,
            manager_name=manager.name if manager else None,
            manager_contact=manager.contact if manager else None,
        )

    async def request_tariff_change(self, user: PortalUser, text: str) -> None:
        """Send the client's words to its manager in Telegram."""
        text = text.strip()
        if not text:
            raise PortalError("Write what you would like to change.")
        if len(text) > MAX_REQUEST_TEXT:
            raise PortalError("The text is too long.")
        client = self._routing.client(user.client_key)
        if client is None:
            raise PortalError("unknown client")
        payload = self._notices.tariff_request(
            client=client.name, name=user.name, email=user.email, text=text
        )
        async with self._db.unit_of_work() as uow:
            chat = tell_manager(uow, self._routing, client, payload)
            await uow.commit()
        log.info("portal.tariff_request", client=client.key, email=user.email, chat=chat)

    async def reports(self, client_key: str) -> list[ReportItem]:
        """Every monthly report issued for the client, the newest first."""
        async with self._db.unit_of_work() as uow:
            locks = await uow.portal.issued_months(client_key=client_key)
        return [ReportItem(lock.month, lock.locked_at) for lock in locks]

    async def report(self, client_key: str, month: str, kind: str, language: str) -> bytes | None:
        """An issued report as ``pdf`` or ``csv``; None when it was not issued for the client."""
        if not _MONTH.match(month) or kind not in ("pdf", "csv"):
            return None
        if month not in {item.month for item in await self.reports(client_key)}:
            return None
        # The month is locked: its entries no longer change, so this is the issued report.
        report = await self._reports.build(client_key=client_key, month=month)
        render = report_pdf if kind == "pdf" else report_csv
        return render(report, self._documents(language))
