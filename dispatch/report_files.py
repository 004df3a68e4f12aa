"""A client report as CSV, the figures both documents show, and the PDF's entry point."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any, Protocol

from dispatch import formats
from dispatch.durations import format_minutes as hours
from dispatch.reports import ClientReport


class Translate(Protocol):
    """Translates a template (the bot's ``Texts``), so documents follow the deployment
    language; ``language`` picks how numbers, money and dates are written."""

    language: str

    def __call__(self, template: str, /, **values: Any) -> str:
        """The template in the language, ``{placeholders}`` filled."""


def money(amount: Decimal, currency: str, t: Translate) -> str:
    """``2 500,00 ₽`` (ru), ``RUB 2,500.00`` (en): Babel, by the document's language."""
    return formats.money(amount, currency, t.language)


def report_csv(report: ClientReport, t: Translate) -> bytes:
    """The report as CSV (UTF-8 with a BOM, so spreadsheet programs read Cyrillic)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        [t("Ticket"), t("Closed"), t("Subject"), t("Assignee"), t("Time"), t("No charge")]
    )
    for line in report.lines:
        writer.writerow(
            [
                _cell(line.number),
                formats.day(line.closed_on, t.language),
                _cell(line.subject),
                _cell(line.assignee),
                hours(line.minutes),
                "" if line.billable else t("yes"),
            ]
        )
    writer.writerow([])
    for label, value in summary(report, t):
        writer.writerow([label, value])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(text: str) -> str:
    # Subjects come from clients: a leading = + - @ would run as a spreadsheet formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def summary(report: ClientReport, t: Translate) -> list[tuple[str, str]]:
    """The figures under the tickets: time, the package and what is payable."""
    currency = report.client.currency
    rows = [
        (t("Billable time"), hours(report.billable_minutes)),
        (t("No-charge time"), hours(report.free_minutes)),
    ]
    if report.package_minutes is None:
        rows += [
            (t("Package"), t("unlimited")),
            (t("Cost of the hours"), money(report.package_fee, currency, t)),
        ]
    else:
        rows += [
            (t("Package"), hours(report.package_minutes)),
            (t("Hours remaining"), hours(report.remaining_minutes or 0)),
            (t("Overage"), hours(report.overage_minutes)),
            (t("Package fee"), money(report.package_fee, currency, t)),
            (t("Overage cost"), money(report.overage_cost, currency, t)),
        ]
    rows.append((t("Total payable"), money(report.total_payable, currency, t)))
    return rows


def report_pdf(report: ClientReport, t: Translate) -> bytes:
    """The report as an A4 PDF (``dispatch.report_pdf``)."""
    # reportlab is imported where a PDF is made: it costs ~25 MB the service needs once a month.
    from dispatch.report_pdf import render_pdf

    return render_pdf(report, t)
