"""Sample monthly reports, Russian and English: for the tests, and the renders in docs/.

``python -m tests.support.report_samples`` writes ``docs/report-ru.png`` and
``docs/report-en.png`` (the first page of each) after a change to the report.
"""

from __future__ import annotations

import io
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from bot.i18n import Texts
from config.clients import Client, Provider
from dispatch.report_files import report_pdf
from dispatch.reports import ClientReport, ReportLine
from tests.support.paths import REPO

DOCS = REPO / "docs"
#: How many pixels a PDF point becomes in the renders (A4 is 595 × 842 points).
SCALE = 1.5

SUBJECTS = {
    "ru": ["Не печатает принтер", "Нет доступа к почте", "Сбой 1С после обновления", "VPN"],
    "en": ["Printer prints blank pages", "No access to mail", "ERP fails after update", "VPN"],
}


def sample_logo(path: Path) -> Path:
    """A small PNG logo (a blue square with a white bar), drawn with Pillow."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (240, 120), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 119, 119), fill=(32, 84, 160))
    draw.rectangle((20, 50, 99, 69), fill="white")
    image.save(path, format="PNG")
    return path


def sample_report(language: str, *, tickets: int = 14, logo: Path | None = None) -> ClientReport:
    """October 2026 of a client with a 20-hour package, 4 hours over it."""
    ru = language == "ru"
    client = Client(
        key="acme",
        name="ООО «Акме»" if ru else "Acme LLC",
        hours_per_month=Decimal(20),
        hour_rate=Decimal(2500),
        overage_rate=Decimal(3500),
        contract="№ 12/2026",
        start_date=date(2026, 1, 1),
    )
    provider = Provider(
        name="ООО «Сервис Плюс»" if ru else "Service Plus LLC",
        details=(
            "ИНН 7700000000, КПП 770001001\nр/с 40702810900000000001 в АО «Банк», БИК 044525000"
            if ru
            else "VAT GB000000000\nIBAN GB00 BANK 0000 0000 0000 00, Bank plc"
        ),
        signatory="Директор И. И. Иванов" if ru else "I. Ivanov, Director",
        logo=logo,
    )
    people = ["Ольга Смирнова", "Иван Петров"] if ru else ["Olga Smirnova", "Ivan Petrov"]
    minutes = [150, 90, 120, 60] * (tickets // 4 + 1)
    lines = tuple(
        ReportLine(
            f"T-{n + 1}",
            date(2026, 10, 1) + timedelta(days=n % 30),
            SUBJECTS[language][n % 4],
            people[n % 2],
            minutes[n],
            n != 3,
        )
        for n in range(tickets)
    )
    billable = sum(line.minutes for line in lines if line.billable)
    free = sum(line.minutes for line in lines if not line.billable)
    overage = max(billable - 20 * 60, 0)
    cost = (Decimal(overage) / 60 * Decimal(3500)).quantize(Decimal("0.01"))
    return ClientReport(
        client,
        "2026-10",
        lines,
        billable,
        free,
        20 * 60,
        overage,
        cost,
        provider=provider,
        issued_on=date(2026, 11, 1),
    )


def render_pages(pdf: bytes) -> list[bytes]:
    """Each page of a PDF as PNG bytes, at ``SCALE``."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    pages = []
    try:
        for page in document:
            image = page.render(scale=SCALE).to_pil()
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
            pages.append(out.getvalue())
    finally:
        document.close()
    return pages


def sample_pdf(language: str, logo: Path) -> bytes:
    """The sample report of ``language`` as the service makes it."""
    return report_pdf(sample_report(language, logo=logo), Texts(language))


def main(directory: Path = DOCS) -> None:
    """Write the first page of each sample report to ``docs/``."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        logo = sample_logo(Path(scratch) / "logo.png")
        for language in ("ru", "en"):
            target = directory / f"report-{language}.png"
            target.write_bytes(render_pages(sample_pdf(language, logo))[0])
            print(target)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DOCS)
