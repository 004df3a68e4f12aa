"""A client report as CSV, the figures both documents show, and the PDF's entry point."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any, Protocol

from dispatch import formats
from dispatch.durations import format_minutes as hours
from dispatch.reports import ClientReport, ReportLine
from dispatch.sla.outcomes import SlaOutcome


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
    sla = report.sla is not None
    sla_header = [t("First response"), t("on time"), t("Resolution"), t("on time")]
    writer.writerow(
        [t("Ticket"), t("Closed"), t("Subject"), t("Assignee"), t("Time"), t("No charge")]
        + (sla_header if sla else [])
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
            + (_sla_cells(line, t) if sla else [])
        )
    writer.writerow([])
    for label, value in summary(report, t):
        writer.writerow([label, value])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sla_cells(line: ReportLine, t: Translate) -> list[str]:
    cells: list[str] = []
    for outcome in (line.first_response, line.resolution):
        if outcome is None:
            cells += ["", ""]
        else:
            cells += [hours(outcome.minutes), t("yes") if outcome.met else t("no")]
    return cells


def sla_cell(outcome: SlaOutcome | None, t: Translate) -> str:
    if outcome is None:
        return ""
    verdict = t("on time") if outcome.met else t("late")
    return f"{hours(outcome.minutes)} {verdict}"


def _cell(text: str) -> str:
    # Subjects come from clients: a leading = + - @ would run as a spreadsheet formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def summary(report: ClientReport, t: Translate) -> list[tuple[str, str]]:
    """The figures under the tickets: time, the package, SLA targets met, what is payable."""
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
    if report.sla is not None:
        share = report.sla
        rows += [
            (
                t("First responses on time"),
                _share(share.first_response_met, share.first_response_total, t),
            ),
            (t("Resolutions on time"), _share(share.resolution_met, share.resolution_total, t)),
        ]
    rows.append((t("Total payable"), money(report.total_payable, currency, t)))
    return rows


def _share(met: int, total: int, t: Translate) -> str:
    if not total:
        return "—"
    return t("{met} of {total} ({share} %)", met=met, total=total, share=round(100 * met / total))


def report_pdf(report: ClientReport, t: Translate) -> bytes:
    """The report as an A4 PDF (``dispatch.report_pdf``)."""
    # reportlab is imported where a PDF is made: it costs ~25 MB the service needs once a month.
    from dispatch.report_pdf import render_pdf

    return render_pdf(report, t)
