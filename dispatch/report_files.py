"""A client report as CSV and as PDF (reportlab, with a font that renders Cyrillic)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

from dispatch.durations import format_minutes as hours
from dispatch.reports import ClientReport, ReportLine
from dispatch.sla.outcomes import SlaOutcome

if TYPE_CHECKING:
    from reportlab.platypus import Table

# reportlab is imported where a PDF is made: it costs ~25 MB the service needs once a month.

#: Translates a template (the bot's ``Texts``), so documents follow the deployment language.
Translate = Callable[..., str]


def money(amount: Decimal, currency: str) -> str:
    """``12 500.00 RUB``."""
    return f"{amount:,.2f}".replace(",", " ") + f" {currency}"


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
                line.closed_on.isoformat(),
                _cell(line.subject),
                _cell(line.assignee),
                hours(line.minutes),
                "" if line.billable else t("yes"),
            ]
            + (_sla_cells(line, t) if sla else [])
        )
    writer.writerow([])
    for label, value in _totals(report, t):
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


def _sla_cell(outcome: SlaOutcome | None, t: Translate) -> str:
    if outcome is None:
        return ""
    verdict = t("on time") if outcome.met else t("late")
    return f"{hours(outcome.minutes)} {verdict}"


def _cell(text: str) -> str:
    # Subjects come from clients: a leading = + - @ would run as a spreadsheet formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _totals(report: ClientReport, t: Translate) -> list[tuple[str, str]]:
    client = report.client
    rows = [
        (t("Billable time"), hours(report.billable_minutes)),
        (t("No-charge time"), hours(report.free_minutes)),
    ]
    if report.package_minutes is None:
        rows.append((t("Package"), t("unlimited")))
    else:
        rows += [
            (t("Package"), hours(report.package_minutes)),
            (t("Overage"), hours(report.overage_minutes)),
            (t("Overage cost"), money(report.overage_cost, client.currency)),
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
    return rows


def _share(met: int, total: int, t: Translate) -> str:
    if not total:
        return "—"
    return t("{met} of {total} ({share} %)", met=met, total=total, share=round(100 * met / total))


@cache
def _font() -> str:
    import font_roboto
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    # Roboto from the font-roboto package: reportlab's own fonts have no Cyrillic.
    pdfmetrics.registerFont(TTFont("Roboto", font_roboto.Roboto))
    pdfmetrics.registerFont(TTFont("Roboto-Bold", font_roboto.RobotoBold))
    return "Roboto"


def report_pdf(report: ClientReport, t: Translate) -> bytes:
    """The report as an A4 PDF."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    title = ParagraphStyle("title", fontName="Roboto-Bold", fontSize=14, leading=18)
    first, last = report.period
    client = report.client
    story = [
        Paragraph(t("Support report: {client}", client=_x(client.name)), title),
        Paragraph(
            t("Period: {first} – {last}", first=f"{first:%d.%m.%Y}", last=f"{last:%d.%m.%Y}"), body
        ),
        Paragraph(_terms(report, t), body),
        Spacer(1, 5 * mm),
        _tickets_table(report, t, font),
        Spacer(1, 5 * mm),
        _table([[label, value] for label, value in _totals(report, t)], font, header=False),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(
        out, pagesize=A4, title=client.name, leftMargin=15 * mm, rightMargin=15 * mm
    ).build(story)
    return out.getvalue()


def _terms(report: ClientReport, t: Translate) -> str:
    client = report.client
    parts = []
    if client.contract:
        parts.append(t("Contract {number}", number=_x(client.contract)))
    if client.start_date:
        parts.append(t("since {date}", date=f"{client.start_date:%d.%m.%Y}"))
    if client.portal:
        parts.append(t("portal {url}", url=_x(client.portal)))
    if client.hours_per_month is not None:
        parts.append(t("{hours} h a month", hours=client.hours_per_month))
    parts.append(t("rate {rate}", rate=money(client.hour_rate, client.currency)))
    parts.append(t("overage rate {rate}", rate=money(client.overage, client.currency)))
    return ", ".join(parts)


def _tickets_table(report: ClientReport, t: Translate, font: str) -> Table:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph

    sla = report.sla is not None
    header = [t("Ticket"), t("Closed"), t("Subject"), t("Assignee"), t("Time")]
    header += [t("Response"), t("Resolution"), ""] if sla else [""]
    style = ParagraphStyle("cell", fontName=font, fontSize=8, leading=10)
    rows = [
        [
            line.number,
            f"{line.closed_on:%d.%m.%Y}",
            Paragraph(_x(line.subject), style),
            line.assignee,
            hours(line.minutes),
            *([_sla_cell(line.first_response, t), _sla_cell(line.resolution, t)] if sla else []),
            "" if line.billable else t("no charge"),
        ]
        for line in report.lines
    ]
    if not rows:
        rows = [[t("No tickets closed in this period."), *[""] * (len(header) - 1)]]
    widths = [22, 20, 68, 35, 15, 20] if not sla else [20, 18, 40, 26, 12, 24, 24, 16]
    return _table([header, *rows], font, header=True, widths=[w * mm for w in widths])


def _table(
    rows: Sequence[Sequence[object]], font: str, *, header: bool, widths: list[float] | None = None
) -> Table:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    commands = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
    ]
    if header:
        commands += [
            ("FONTNAME", (0, 0), (-1, 0), "Roboto-Bold"),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ]
    table.setStyle(TableStyle(commands))
    return table


def _x(text: str) -> str:
    # Paragraph text is a small XML dialect: escape what would be read as markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
