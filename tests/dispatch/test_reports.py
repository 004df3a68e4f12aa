"""Monthly reports: the numbers, the PDF's text, the month lock, the schedule, the CLI."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlmodel import select

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import RoutingConfig, load_routing_text
from dispatch.events import TicketLog
from dispatch.report_delivery import MonthlyReports, ReportMailer
from dispatch.report_files import report_csv, report_pdf
from dispatch.reports import ReportService, previous_month
from dispatch.time_tracking import TimeOutcome, TimeTracker
from modest.cli import main
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxRow, TicketRow, TimeEntryRow, TimePromptRow
from tests.support.actors import telegram_actor
from tests.support.reminders import Clock
from tests.support.routing import ROUTING_YAML

CLIENTS = """clients:
  - key: acme
    name: ООО «Акме»
    match: {companies: [Acme]}
    hours_per_month: 10
    hour_rate: 2000
    overage_rate: 3000
    contract: "№ 12/2026"
    start_date: 2026-01-01
    manager: ivan
  - key: beta
    name: Beta Unlimited
    match: {companies: [Beta]}
    unlimited: true
    hour_rate: 1500
    manager: olga
  - key: gamma
    name: Gamma
    hours_per_month: 5
  - key: delta
    name: Delta
    unlimited: true
"""


@pytest.fixture
def clients_routing() -> RoutingConfig:
    return load_routing_text(ROUTING_YAML + CLIENTS, "routing.yaml")


async def add_entry(
    db: Database,
    n: int,
    client: str | None,
    minutes: int,
    *,
    billable: bool = True,
    closed_on: date = date(2026, 10, 15),
    person: str = "olga",
) -> int:
    async with db.unit_of_work() as uow:
        ticket = await uow.tickets.create(
            TicketRow(
                source="generic",
                external_id=str(n),
                number=f"T-{n}",
                subject=f"Заявка {n}",
                state="closed",
                assignee_key=person,
            )
        )
        assert ticket.id is not None
        await uow.time.add_entry(
            TimeEntryRow(
                ticket_id=ticket.id,
                person_key=person,
                minutes=minutes,
                billable=billable,
                client_key=client,
                closed_on=closed_on,
                month=f"{closed_on:%Y-%m}",
            )
        )
        await uow.commit()
    return ticket.id


async def test_csv_cells_from_clients_cannot_become_formulas(
    database: Database, clients_routing: RoutingConfig
) -> None:
    async with database.unit_of_work() as uow:
        ticket = await uow.tickets.create(
            TicketRow(
                source="generic",
                external_id="x",
                number="T-9",
                subject="=HYPERLINK(1)",
                state="closed",
                assignee_key="olga",
            )
        )
        assert ticket.id is not None
        await uow.time.add_entry(
            TimeEntryRow(
                ticket_id=ticket.id,
                person_key="olga",
                minutes=15,
                client_key="acme",
                closed_on=date(2026, 10, 3),
                month="2026-10",
            )
        )
        await uow.commit()
    report = await ReportService(database, clients_routing).build(
        client_key="acme", month="2026-10"
    )
    rows = list(
        csv.reader(io.StringIO(report_csv(report, Texts("en")).decode("utf-8-sig")), delimiter=";")
    )
    assert rows[1][2] == "'=HYPERLINK(1)"


async def october(db: Database) -> None:
    await add_entry(db, 1, "acme", 8 * 60)
    await add_entry(db, 2, "acme", 60, billable=False)
    await add_entry(db, 3, "acme", 3 * 60, closed_on=date(2026, 10, 31))
    await add_entry(db, 4, "acme", 15, closed_on=date(2026, 11, 1))  # next month
    await add_entry(db, 5, "beta", 45)
    await add_entry(db, 6, "beta", 10, person="ivan")


async def test_report_numbers_for_billable_no_charge_unlimited_and_over_package(
    database: Database, clients_routing: RoutingConfig
) -> None:
    await october(database)
    service = ReportService(database, clients_routing)
    acme = await service.build(client_key="acme", month="2026-10")
    assert [line.number for line in acme.lines] == ["T-1", "T-2", "T-3"]
    assert (acme.billable_minutes, acme.free_minutes) == (11 * 60, 60)
    assert (acme.package_minutes, acme.overage_minutes) == (600, 60)
    assert acme.overage_cost == Decimal("3000.00")
    beta = await service.build(client_key="beta", month="2026-10")
    assert (beta.billable_minutes, beta.package_minutes, beta.overage_cost) == (
        55,
        None,
        Decimal("0.00"),
    )
    gamma = await service.build(client_key="gamma", month="2026-10")
    assert (gamma.lines, gamma.billable_minutes, gamma.overage_minutes) == ((), 0, 0)
    reported = [c.key for c in await service.clients_to_report(month="2026-10")]
    assert reported == ["acme", "beta", "gamma"], "delta: unlimited and idle"


async def test_pdf_and_csv_carry_the_names_and_figures(
    database: Database, clients_routing: RoutingConfig
) -> None:
    await october(database)
    report = await ReportService(database, clients_routing).build(
        client_key="acme", month="2026-10"
    )
    texts = Texts("ru")
    pdf_text = "\n".join(
        page.extract_text() for page in PdfReader(io.BytesIO(report_pdf(report, texts))).pages
    )
    for expected in (
        "ООО «Акме»",
        "01.10.2026",
        "31.10.2026",
        "№ 12/2026",
        "T-1",
        "T-3",
        "Заявка 3",
        "Olga Sidorova",
        "8:00",
        "11:00",
        "1:00",
        "3 000,00 ₽",
    ):
        assert expected in pdf_text, expected
    rows = list(
        csv.reader(io.StringIO(report_csv(report, texts).decode("utf-8-sig")), delimiter=";")
    )
    # The day as the PDF writes it (issue 17.17: the same in the PDF and the CSV).
    assert rows[1][:5] == ["T-1", "15.10.2026", "Заявка 1", "Olga Sidorova", "8:00"]
    assert rows[2][5] != "", "the no-charge ticket is marked"
    totals = {row[0]: row[1] for row in rows if len(row) == 2}
    assert totals[texts("Overage cost")] == "3\N{NO-BREAK SPACE}000,00\N{NO-BREAK SPACE}₽"


async def test_reports_go_out_on_the_first_at_nine_and_lock_the_month(
    database: Database, clients_routing: RoutingConfig
) -> None:
    await october(database)
    clock = Clock(datetime(2026, 10, 31, 21, 30, tzinfo=UTC))  # 1 Nov 00:30 Moscow
    monthly = MonthlyReports(
        ReportService(database, clients_routing),
        ReportMailer(clients_routing, Texts("en")),
        clock=clock,
    )
    assert await monthly.run() == 0, "too early on the first"
    clock.now = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 09:00 Moscow
    assert await monthly.run() == 3
    assert await monthly.run() == 0, "issued once"
    clock.now = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    assert await monthly.run() == 0, "only on the first"
    async with database.unit_of_work() as uow:
        documents = (await uow.session.execute(select(OutboxRow))).scalars().all()
        assert await uow.time.is_locked(client_key="acme", month="2026-10")
    files = sorted((row.chat_id, row.payload["filename"]) for row in documents)
    assert files == [
        (1001, "acme-2026-10.csv"),
        (1001, "acme-2026-10.pdf"),
        (1002, "beta-2026-10.csv"),
        (1002, "beta-2026-10.pdf"),
    ]
    pdf = next(row for row in documents if row.payload["filename"] == "acme-2026-10.pdf")
    assert base64.b64decode(pdf.payload["document_b64"]).startswith(b"%PDF")


async def test_a_locked_month_refuses_changes(
    database: Database, clients_routing: RoutingConfig
) -> None:
    ticket_id = await add_entry(database, 1, "acme", 30)
    async with database.unit_of_work() as uow:
        prompt = await uow.time.add_prompt(
            TimePromptRow(
                ticket_id=ticket_id,
                person_key="olga",
                chat_id=1002,
                state="answered",
                next_ask_at=datetime(2026, 10, 15, tzinfo=UTC),
                closed_at=datetime(2026, 10, 15, 10, tzinfo=UTC),
            )
        )
        await uow.commit()
    assert prompt.id is not None
    renderer = TelegramRenderer(Texts("en"), clients_routing.tz)
    tracker = TimeTracker(database, clients_routing, renderer, TicketLog(), notes=None)
    ok = await tracker.choose(
        prompt_id=prompt.id, minutes=45, billable=True, actor=telegram_actor(clients_routing, 1002)
    )
    assert ok.outcome == TimeOutcome.OK
    await ReportService(database, clients_routing).issue(
        month="2026-10", deliver=ReportMailer(clients_routing, Texts("en")).deliver
    )
    locked = await tracker.choose(
        prompt_id=prompt.id, minutes=60, billable=True, actor=telegram_actor(clients_routing, 1002)
    )
    assert locked.outcome == TimeOutcome.LOCKED
    assert (
        await tracker.change(prompt_id=prompt.id, actor=telegram_actor(clients_routing, 1002))
    ).outcome == (TimeOutcome.LOCKED)
    not_yours = await tracker.choose(
        prompt_id=prompt.id, minutes=60, billable=True, actor=telegram_actor(clients_routing, 1001)
    )
    assert not_yours.outcome == TimeOutcome.NOT_YOURS


def test_previous_month() -> None:
    assert previous_month(date(2026, 1, 1)) == "2025-12"
    assert previous_month(date(2026, 11, 30)) == "2026-10"


def test_cli_writes_reports_without_sending_or_locking(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def prepare() -> None:
        db = Database(sqlite_url)
        await upgrade(db)
        await october(db)
        await db.dispose()

    asyncio.run(prepare())
    config = tmp_path / "routing.yaml"
    config.write_text(ROUTING_YAML + CLIENTS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODEST_CONFIG", str(config))
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    out = tmp_path / "acme.pdf"
    assert (
        main(
            [
                "report",
                "--client",
                "acme",
                "--month",
                "2026-10",
                "--format",
                "pdf",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.read_bytes().startswith(b"%PDF")
    assert (
        main(
            [
                "report",
                "--all",
                "--month",
                "2026-10",
                "--format",
                "csv",
                "--out",
                str(tmp_path / "all"),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [
        "acme-2026-10.csv",
        "beta-2026-10.csv",
        "gamma-2026-10.csv",
    ]
    assert (
        main(
            [
                "report",
                "--client",
                "nobody",
                "--month",
                "2026-10",
                "--out",
                str(tmp_path / "x.pdf"),
            ]
        )
        == 1
    )
    assert (
        main(
            ["report", "--client", "acme", "--month", "2026-13", "--out", str(tmp_path / "x.pdf")]
        )
        == 2
    )


async def test_reports_missed_on_the_first_go_out_the_next_day(
    database: Database, clients_routing: RoutingConfig
) -> None:
    await october(database)
    clock = Clock(datetime(2026, 11, 2, 7, 0, tzinfo=UTC))  # the service was down on the 1st
    monthly = MonthlyReports(
        ReportService(database, clients_routing),
        ReportMailer(clients_routing, Texts("en")),
        clock=clock,
    )
    assert await monthly.run() == 3
    assert await monthly.run() == 0


@pytest.mark.postgres
async def test_time_cannot_land_in_a_month_whose_report_is_going_out(
    pg_url: str, clients_routing: RoutingConfig
) -> None:
    database, issuing = Database(pg_url), Database(pg_url)
    await upgrade(database)
    try:
        ticket_id = await add_entry(database, 1, "acme", 30)
        async with database.unit_of_work() as uow:
            prompt = await uow.time.add_prompt(
                TimePromptRow(
                    ticket_id=ticket_id,
                    person_key="olga",
                    chat_id=1002,
                    state="answered",
                    next_ask_at=datetime(2026, 10, 15, tzinfo=UTC),
                    closed_at=datetime(2026, 10, 15, 10, tzinfo=UTC),
                )
            )
            await uow.commit()
        tracker = TimeTracker(
            database,
            clients_routing,
            TelegramRenderer(Texts("en"), clients_routing.tz),
            TicketLog(),
            notes=None,
        )
        async with issuing.unit_of_work() as uow:  # the report is being issued ...
            await uow.time.guard_month(client_key="acme", month="2026-10")
            change = asyncio.create_task(
                tracker.choose(
                    prompt_id=prompt.id or 0,
                    minutes=60,
                    billable=True,
                    actor=telegram_actor(clients_routing, 1002),
                )
            )
            await asyncio.sleep(0.3)
            assert not change.done(), "the change waits for the issue to finish"
            await uow.time.lock(client_key="acme", month="2026-10")
            await uow.commit()
        assert (await change).outcome == TimeOutcome.LOCKED
    finally:
        await database.dispose()
        await issuing.dispose()
