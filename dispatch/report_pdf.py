"""A client's monthly report as a PDF a client can sign and pay against (reportlab).

The provider (``reports.provider`` in the routing file: name, details, logo,
signatory) heads every report; then a document number and issue date, the period
and the contract, every ticket with headed columns (with its SLA times when policies are
set), the summary (package, hours remaining, the package fee, the overage cost, the
SLA targets met and the total payable), and signature lines for both sides. Every
page is numbered. reportlab is imported here only, when a report is made: it costs
~25 MB the service needs once a month.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from dispatch.durations import format_minutes as hours
from dispatch.formats import day, number
from dispatch.report_files import Translate, money, sla_cell, summary
from dispatch.reports import ClientReport

if TYPE_CHECKING:
    from reportlab.platypus import Flowable, Table

_MARGIN_MM = 15


@cache
def _font() -> str:
    import font_roboto
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    # Roboto from the font-roboto package: reportlab's own fonts have no Cyrillic.
    pdfmetrics.registerFont(TTFont("Roboto", font_roboto.Roboto))
    pdfmetrics.registerFont(TTFont("Roboto-Bold", font_roboto.RobotoBold))
    return "Roboto"


def render_pdf(report: ClientReport, t: Translate) -> bytes:
    """The report as an A4 PDF."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate, Spacer

    font = _font()
    story = [
        *_provider(report, font),
        *_heading(report, t, font),
        Spacer(1, 4 * mm),
        _tickets_table(report, t, font),
        Spacer(1, 5 * mm),
        _table([list(row) for row in summary(report, t)], font, header=False, bold_last=True),
        Spacer(1, 12 * mm),
        _signatures(report, t, font),
    ]
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=t("Support report No. {number}", number=report.document_number),
        author=report.provider.name if report.provider else "",
        leftMargin=_MARGIN_MM * mm,
        rightMargin=_MARGIN_MM * mm,
        bottomMargin=18 * mm,
    )
    document.build(story, canvasmaker=_numbered_canvas(report, t, font))
    return out.getvalue()


def _provider(report: ClientReport, font: str) -> list[Flowable]:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, Spacer, Table

    provider = report.provider
    if provider is None:
        return []
    name = ParagraphStyle("provider", fontName="Roboto-Bold", fontSize=11, leading=14)
    small = ParagraphStyle("details", fontName=font, fontSize=8, leading=10)
    text: list[Flowable] = [Paragraph(_x(provider.name), name)]
    text.extend(Paragraph(_x(line), small) for line in provider.details.splitlines() if line)
    if provider.logo is None:
        return [*text, Spacer(1, 5 * mm)]
    logo = Image(str(provider.logo))
    scale = min(35 * mm / logo.imageWidth, 18 * mm / logo.imageHeight)
    logo.drawWidth, logo.drawHeight = logo.imageWidth * scale, logo.imageHeight * scale
    block = Table([[text, logo]], colWidths=[140 * mm, 40 * mm])
    block.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT")])
    return [block, Spacer(1, 5 * mm)]


def _heading(report: ClientReport, t: Translate, font: str) -> list[Flowable]:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph

    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    title = ParagraphStyle("title", fontName="Roboto-Bold", fontSize=14, leading=18)
    first, last = report.period
    issued = report.issued_on or last
    return [
        Paragraph(t("Support report No. {number}", number=_x(report.document_number)), title),
        Paragraph(t("Issued {date}", date=day(issued, t.language)), body),
        Paragraph(t("Client: {name}", name=_x(report.client.name)), body),
        Paragraph(
            t(
                "Period: {first} – {last}",
                first=day(first, t.language),
                last=day(last, t.language),
            ),
            body,
        ),
        Paragraph(_terms(report, t), body),
    ]


def _terms(report: ClientReport, t: Translate) -> str:
    client = report.client
    parts = []
    if client.contract:
        parts.append(t("Contract {number}", number=_x(client.contract)))
    if client.start_date:
        parts.append(t("since {date}", date=day(client.start_date, t.language)))
    if client.portal:
        parts.append(t("portal {url}", url=_x(client.portal)))
    if client.hours_per_month is not None:
        parts.append(t("{hours} h a month", hours=number(client.hours_per_month, t.language)))
    parts.append(t("rate {rate}", rate=money(client.hour_rate, client.currency, t)))
    parts.append(t("overage rate {rate}", rate=money(client.overage, client.currency, t)))
    return ", ".join(parts)


def _tickets_table(report: ClientReport, t: Translate, font: str) -> Table:
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph

    sla = report.sla is not None
    header = [t("Ticket"), t("Closed"), t("Subject"), t("Assignee"), t("Time")]
    header += [t("Response"), t("Resolution"), t("No charge")] if sla else [t("No charge")]
    style = ParagraphStyle("cell", fontName=font, fontSize=8, leading=10)
    rows: list[list[Any]] = [
        [
            line.number,
            day(line.closed_on, t.language),
            Paragraph(_x(line.subject), style),
            line.assignee,
            hours(line.minutes),
            *([sla_cell(line.first_response, t), sla_cell(line.resolution, t)] if sla else []),
            "" if line.billable else t("yes"),
        ]
        for line in report.lines
    ]
    if not rows:
        rows = [[t("No tickets closed in this period."), *[""] * (len(header) - 1)]]
    widths = [20, 18, 40, 26, 12, 24, 24, 16] if sla else [22, 20, 68, 35, 15, 20]
    return _table(
        [header, *rows],
        font,
        header=True,
        widths=[width * mm for width in widths],
        span_empty=not report.lines,
    )


def _signatures(report: ClientReport, t: Translate, font: str) -> Table:
    from reportlab.lib.units import mm
    from reportlab.platypus import Table

    provider = report.provider
    ours = provider.name if provider else ""
    signatory = provider.signatory if provider else ""
    line = "_" * 28
    rows = [
        [t("Provider: {name}", name=ours), t("Client: {name}", name=report.client.name)],
        [f"{line} / {signatory} /", f"{line} / {'_' * 16} /"],
        [t("signature, name"), t("signature, name")],
    ]
    table = Table(rows, colWidths=[90 * mm, 90 * mm])
    table.setStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, 1), 9),
            ("FONTSIZE", (0, 2), (-1, 2), 7),
            ("TOPPADDING", (0, 1), (-1, 1), 14),
        ]
    )
    return table


def _table(
    rows: Sequence[Sequence[object]],
    font: str,
    *,
    header: bool,
    widths: list[float] | None = None,
    bold_last: bool = False,
    span_empty: bool = False,
) -> Table:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    commands: list[tuple[Any, ...]] = [
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
    if bold_last:
        commands.append(("FONTNAME", (0, -1), (-1, -1), "Roboto-Bold"))
    if span_empty:
        commands.append(("SPAN", (0, 1), (-1, 1)))
    table.setStyle(TableStyle(commands))
    return table


def _numbered_canvas(report: ClientReport, t: Translate, font: str) -> type:
    """A canvas that writes "No. … · page N of M" at the foot of every page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab has no type hints
        # Pages are kept until the end, when their count is known (reportlab's recipe).
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                foot = t(
                    "No. {number} · page {page} of {pages}",
                    number=report.document_number,
                    page=self._pageNumber,
                    pages=total,
                )
                self.setFont(font, 7)
                self.drawRightString(A4[0] - _MARGIN_MM * mm, 10 * mm, foot)
                super().showPage()
            super().save()

    return NumberedCanvas


def _x(text: str) -> str:
    # Paragraph text is a small XML dialect: escape what would be read as markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
