"""The monthly report: each ticket's first response and resolution times, the share met."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from pypdf import PdfReader

from bot.i18n import Texts
from dispatch.models import TicketEventKind
from dispatch.report_files import report_csv, report_pdf
from dispatch.sla.outcomes import SlaOutcome
from storage.db import Database
from storage.models import TimeEntryRow
from tests.support.reminders import Clock
from tests.support.sla import sla_routing, sla_services


async def test_a_report_shows_each_ticket_s_times_and_the_share_met(
    database: Database,
) -> None:
    s = sla_services(database, sla_routing(), Clock(datetime(2026, 10, 5, 7, 0, tzinfo=UTC)))
    for external_id, minutes in (("1", 10), ("2", 20)):
        ticket = await s.new_ticket(external_id, priority="urgent", company="Acme")
        s.clock.advance(minutes=minutes)
        await s.staff_reply(external_id, f"r{external_id}")
        await s.send(external_id, TicketEventKind.CLOSED, closed=True)
        async with database.unit_of_work() as uow:
            await uow.time.add_entry(
                TimeEntryRow(
                    ticket_id=ticket,
                    person_key="olga",
                    minutes=30,
                    client_key="acme",
                    closed_on=s.clock.now.date(),
                    month="2026-10",
                )
            )
            await uow.commit()
    report = await s.reports.build(client_key="acme", month="2026-10")
    assert [(line.first_response, line.resolution) for line in report.lines] == [
        (SlaOutcome(10, met=True), SlaOutcome(10, met=True)),
        (SlaOutcome(20, met=False), SlaOutcome(20, met=True)),
    ]
    assert report.sla is not None
    assert (report.sla.first_response_met, report.sla.first_response_total) == (1, 2)
    assert (report.sla.resolution_met, report.sla.resolution_total) == (2, 2)
    rows = list(
        csv.reader(io.StringIO(report_csv(report, Texts("en")).decode("utf-8-sig")), delimiter=";")
    )
    assert rows[0][6:] == ["First response", "on time", "Resolution", "on time"]
    assert rows[2][6:] == ["0:20", "no", "0:20", "yes"]
    totals = {row[0]: row[1] for row in rows if len(row) == 2}
    assert totals["First responses on time"] == "1 of 2 (50 %)"
    assert totals["Resolutions on time"] == "2 of 2 (100 %)"
    pdf = report_pdf(report, Texts("ru"))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("Ответ", "Решение", "0:10 в срок", "0:20 с опозданием", "1 из 2 (50 %)"):
        assert expected in text, expected
