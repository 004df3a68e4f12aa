"""Sends issued reports to each client's manager as two files, PDF and CSV."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime

import structlog

from config.routing import RoutingConfig
from dispatch.report_files import Translate, report_csv, report_pdf
from dispatch.reports import ClientReport, ReportService
from storage.db import UnitOfWork
from storage.types import utcnow

log = structlog.get_logger(__name__)


class ReportMailer:
    """Queues a report's documents in the same transaction that locks its month."""

    def __init__(self, routing: RoutingConfig, translate: Translate) -> None:
        self._routing = routing
        self._t = translate

    async def deliver(self, uow: UnitOfWork, report: ClientReport) -> None:
        """Two documents to the client's manager (logged when there is nobody to send to)."""
        manager = self._routing.person(report.client.manager) if report.client.manager else None
        if manager is None or manager.telegram_id is None:
            log.warning("report.no_manager", client=report.client.key, month=report.month)
            return
        stem = f"{report.client.key}-{report.month}"
        caption = self._t("Support report: {client}", client=report.client.name)
        for data, suffix in (
            (report_pdf(report, self._t), "pdf"),
            (report_csv(report, self._t), "csv"),
        ):
            uow.outbox.enqueue_plain(
                chat_id=manager.telegram_id,
                payload={
                    "document_b64": base64.b64encode(data).decode("ascii"),
                    "filename": f"{stem}.{suffix}",
                    "caption": caption,
                },
            )


class MonthlyReports:
    """The scheduler's job: on the first of the month, issue last month's reports."""

    def __init__(
        self,
        reports: ReportService,
        mailer: ReportMailer,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._reports = reports
        self._mailer = mailer
        self._clock = clock

    async def run(self, now: datetime | None = None) -> int:
        """Issue every due report not issued yet; how many were issued."""
        month = self._reports.due_month(now or self._clock())
        if month is None:
            return 0
        return await self._reports.issue(month=month, deliver=self._mailer.deliver)
