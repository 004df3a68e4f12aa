"""The monthly PDF is a document a client can sign and pay against (text read with pypdf),
and the renders in docs/ show the report as it is made now."""

from __future__ import annotations

import io
import struct
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.i18n import Texts
from config.errors import RoutingConfigError
from config.routing import load_routing_text
from dispatch.report_files import report_csv, report_pdf
from tests.support.report_samples import DOCS, render_pages, sample_logo, sample_pdf, sample_report
from tests.support.routing import ROUTING_YAML


def pages(pdf: bytes) -> list[str]:
    return [
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages
    ]


@pytest.fixture
def logo(tmp_path: Path) -> Path:
    return sample_logo(tmp_path / "logo.png")


def test_the_russian_report_has_everything_a_client_signs_and_pays_against(logo: Path) -> None:
    report = sample_report("ru", logo=logo)
    assert (report.package_fee, report.overage_cost, report.total_payable) == (
        Decimal("50000.00"),
        Decimal("14000.00"),
        Decimal("64000.00"),
    )
    pdf = report_pdf(report, Texts("ru"))
    (text,) = pages(pdf)
    for expected in (
        "ООО «Сервис Плюс»",
        "ИНН 7700000000, КПП 770001001",
        "Отчёт о сопровождении № ACME-2026-10",
        "Дата составления: 01.11.2026",
        "Заказчик: ООО «Акме»",
        "Период: 01.10.2026 – 31.10.2026",
        "Договор № 12/2026",
        "Заявка Закрыта Тема Специалист Время Без оплаты",
        "Пакет часов 20:00",
        "Осталось часов 0:00",
        "Сверх пакета 4:00",
        # Money by the language, through Babel (issue 17.17); the spaces are no-break
        # spaces in the document, plain ones in the extracted text.
        "Стоимость пакета 50 000,00 ₽",
        "Стоимость сверх пакета 14 000,00 ₽",
        "Итого к оплате 64 000,00 ₽",
        "ставка 2 500,00 ₽, ставка сверх пакета 3 500,00 ₽",
        "Исполнитель: ООО «Сервис Плюс»",
        "/ Директор И. И. Иванов /",
        "подпись, расшифровка подписи",
        "№ ACME-2026-10 · стр. 1 из 1",
    ):
        assert expected in text, expected
    assert PdfReader(io.BytesIO(pdf)).pages[0].images, "the provider's logo is on the page"


def test_the_english_report_and_its_csv() -> None:
    report = sample_report("en")
    (text,) = pages(report_pdf(report, Texts("en")))
    for expected in (
        "Support report No. ACME-2026-10",
        "Issued Nov 1, 2026",
        "Period: Oct 1, 2026 – Oct 31, 2026",
        "rate RUB 2,500.00, overage rate RUB 3,500.00",
        "Ticket Closed Subject Assignee Time No charge",
        "Hours remaining 0:00",
        "Package fee RUB 50,000.00",
        "Total payable RUB 64,000.00",
        "Provider: Service Plus LLC",
        "Client: Acme LLC",
        "No. ACME-2026-10 · page 1 of 1",
    ):
        assert expected in text, expected
    csv = report_csv(report, Texts("en")).decode("utf-8-sig")
    nbsp = "\N{NO-BREAK SPACE}"
    assert f"Total payable;RUB{nbsp}64,000.00" in csv
    assert f"Package fee;RUB{nbsp}50,000.00" in csv
    # The days read as in the PDF.
    assert "T-1;Oct 1, 2026;" in csv


def test_an_empty_month_still_shows_the_contract_and_the_summary() -> None:
    (text,) = pages(report_pdf(sample_report("ru", tickets=0), Texts("ru")))
    assert "За период закрытых заявок нет." in text
    assert "Договор № 12/2026" in text
    assert "Осталось часов 20:00" in text
    assert "Итого к оплате 50 000,00 ₽" in text


def test_a_long_month_numbers_every_page_and_heads_every_table_page() -> None:
    texts = pages(report_pdf(sample_report("ru", tickets=70), Texts("ru")))
    assert len(texts) >= 2
    for number, text in enumerate(texts, 1):
        assert f"стр. {number} из {len(texts)}" in text
        assert "Заявка Закрыта Тема Специалист Время Без оплаты" in text or number == len(texts)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_renders_in_docs_show_the_report_as_it_is_made(language: str, logo: Path) -> None:
    committed = (DOCS / f"report-{language}.png").read_bytes()
    fresh = render_pages(sample_pdf(language, logo))
    assert len(fresh) == 1, "the sample report is one page, as rendered in docs/"
    assert png_size(fresh[0]) == png_size(committed)
    # Not compared byte for byte (fonts render slightly differently between systems), but
    # a change of the layout changes the amount of ink, which the file size follows.
    assert abs(len(fresh[0]) - len(committed)) / len(committed) < 0.2


def test_the_provider_is_checked_in_the_routing_file(tmp_path: Path) -> None:
    text = ROUTING_YAML + f"reports:\n  provider:\n    name: Acme\n    logo: {tmp_path}/none.png\n"
    with pytest.raises(RoutingConfigError, match=r"none\.png: file not found"):
        load_routing_text(text)
    routing = load_routing_text(ROUTING_YAML + "reports:\n  provider: {name: Service Plus}\n")
    assert routing.reports.provider is not None
    assert routing.reports.provider.name == "Service Plus"
