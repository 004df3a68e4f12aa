"""What the pages show: filters and pages of tickets, the client-safe history, the
contract with this month's hours, the issued reports."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.reports import ClientReport
from storage.db import UnitOfWork
from storage.models import TicketEventRow, TimeEntryRow
from storage.types import utcnow
from tests.support.harness import Harness, ticket_body
from tests.support.portal import Browser, client_of, running_portal, seed_tickets, signed_in
from tests.support.telegram_emulator import TelegramEmulator


def numbers(page: str) -> list[str]:
    return re.findall(r'<td data-label="Number"><a href="[^"]+">([^<]+)</a>', page)


async def _add_time(h: Harness, ticket_id: int, minutes: int, month: str) -> None:
    async with h.service.database.unit_of_work() as uow:
        uow.session.add(
            TimeEntryRow(
                ticket_id=ticket_id,
                person_key="olga",
                minutes=minutes,
                client_key="acme",
                closed_on=datetime.fromisoformat(f"{month}-15").date(),
                month=month,
            )
        )
        await uow.commit()


async def test_tickets_filter_by_status_period_requester_and_words_and_page(
    tg: TelegramEmulator, db_url: str
) -> None:
    async with running_portal(tg, db_url) as h:
        await seed_tickets(h)
        for n in range(10, 31):
            body = ticket_body(str(n), subject=f"Routine {n}", client=client_of("it@acme.example"))
            body["ticket"]["created_at"] = f"2026-10-{n:02d}T09:00:00+00:00"
            await h.post_generic(body)
        user = await signed_in(h, "acme", "boss@acme.example")

        async def shown(query: str) -> list[str]:
            page = await user.get(f"/portal/tickets?{query}")
            assert page.status_code == 200, query
            return numbers(page.text)

        first = await shown("")
        assert len(first) == 20
        assert first[:3] == ["A-2", "A-1", "A-30"]  # newest first (the same time: newest id)
        second = await shown("page=2")
        assert second == ["A-12", "A-11", "A-10"]
        assert await shown("status=closed") == ["A-2"]
        assert "A-2" not in await shown("status=received")
        assert await shown("requester=boss%40acme.example") == ["A-1"]
        assert await shown("q=invoice") == ["A-2"]
        assert await shown("q=%23A-1") == ["A-1"]
        assert await shown("q=routine+21") == ["A-21"]
        assert await shown("from=2026-11-22&to=2026-11-22") == ["A-2", "A-1"]
        assert await shown("from=2026-10-29&to=2026-10-30&q=routine") == ["A-30", "A-29"]
        assert await shown("from=2027-01-01") == []
        assert await shown("status=bogus&from=not-a-date&page=x") == first
        page = (await user.get("/portal/tickets?q=routine&page=1")).text
        assert "Page 1 of 2" in page
        assert 'href="?q=routine&amp;page=2"' in page
        await user.aclose()


def _event(ticket_id: int, kind: str, **fields: Any) -> TicketEventRow:
    return TicketEventRow(
        ticket_id=ticket_id,
        kind=kind,
        actor_kind=fields.pop("actor_kind", "system"),
        actor=fields.pop("actor", None),
        source="bot",
        at=fields.pop("at"),
        **fields,
    )


async def test_a_ticket_s_history_shows_only_what_the_client_may_know(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        await seed_tickets(h)
        start = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
        at = [start + timedelta(minutes=10 * i) for i in range(20)]
        secret = "SECRET-INTERNAL"
        rows = [
            _event(1, "department_chosen", actor_kind="person", actor="ivan", at=at[1]),
            _event(
                1,
                "assigned",
                actor_kind="person",
                actor="ivan",
                at=at[2],
                changes={"assignee": [None, "olga"]},
            ),
            _event(1, "writeback_failed", at=at[3], detail={"error": secret}),
            _event(
                1,
                "dev_task_created",
                actor_kind="person",
                actor="olga",
                at=at[4],
                detail={"statement": secret, "task": "dev-1"},
            ),
            _event(
                1,
                "dev_task_commented",
                actor_kind="tracker",
                actor="dev-1",
                at=at[5],
                detail={"text": secret},
            ),
            _event(1, "reminded", at=at[6], detail={"count": 2}),
            _event(1, "status_changed", at=at[7], changes={"status": ["open", "process"]}),
            _event(1, "status_changed", at=at[8], changes={"status": ["process", "waiting"]}),
            _event(
                1,
                "first_staff_reply",
                actor_kind="person",
                actor="olga",
                at=at[9],
                detail={"reply": "p1", "author": "Olga"},
            ),
            _event(
                1,
                "client_replied",
                actor_kind="helpdesk",
                at=at[10],
                detail={"reply": "p2", "author": "Boss"},
            ),
            _event(
                1,
                "time_recorded",
                actor_kind="person",
                actor="olga",
                at=at[11],
                detail={"minutes": 45},
            ),
            _event(1, "closed", actor_kind="helpdesk", at=at[12]),
            _event(1, "reopened", actor_kind="helpdesk", at=at[13]),
            _event(1, "staff_replied", actor_kind="helpdesk", actor="99", at=at[14]),
        ]
        async with h.service.database.unit_of_work() as uow:
            for row in rows:
                uow.events.append(row)
            await uow.commit()
        await _add_time(h, 1, 45, "2026-11")
        user = await signed_in(h, "acme", "boss@acme.example")
        page = (await user.get("/portal/tickets/A-1")).text
        history = re.findall(r"<li><time>([^<]+)</time>([^<]+)</li>", page)
        assert [entry for _, entry in history[1:]] == [
            "Taken into work: Olga Sidorova",
            "Waiting for your reply",
            "Answered: Olga Sidorova",
            "Closed",
            "Reopened",
            "Answered",
        ]
        assert history[0][1] == "Request received"
        assert history[1][0] == "2026-11-22 11:20"  # Moscow time
        for hidden in (secret, "dev-1", "Ivan Petrov", "reminder", "45 min"):
            assert hidden not in page
        assert "<dt>Time spent</dt><dd>0:45</dd>" in page
        assert "Flames everywhere." in page
        await user.aclose()


async def test_the_contract_shows_the_terms_and_this_month_s_hours(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        await seed_tickets(h)
        month = f"{utcnow().astimezone(h.service.routing.tz):%Y-%m}"
        await _add_time(h, 1, 90, month)
        await _add_time(h, 2, 1000, "2026-01")
        acme = await signed_in(h, "acme", "boss@acme.example")
        page = (await acme.get("/portal/contract")).text
        for fact in (
            "<dt>Support type</dt><dd>Website support</dd>",
            "<dt>Contract number</dt><dd>No. 12/2026</dd>",
            "<dt>Start date</dt><dd>2026-01-01</dd>",
            "<dd>https://acme.example (1C-Bitrix)</dd>",
            "<dt>Tariff</dt><dd>Standard</dd>",
            # Money by the page's language, through Babel (issue 17.17).
            "<dt>Monthly fee</dt><dd>RUB\N{NO-BREAK SPACE}50,000.00</dd>",
            "<dt>Hours per month</dt><dd>20</dd>",
            "<dt>Hour rate</dt><dd>RUB\N{NO-BREAK SPACE}2,500.00</dd>",
            "<dt>Overage rate</dt><dd>RUB\N{NO-BREAK SPACE}3,500.00</dd>",
            "<dt>Bonus hours</dt><dd>2</dd>",
            "<dt>Hours used</dt><dd>1:30</dd>",
            "<dt>Hours left</dt><dd>20:30</dd>",
            "Dmitry Volkov",
            "d.volkov@support.example",
        ):
            assert fact in page, fact
        beta = await signed_in(h, "beta", "v@beta.example")
        unlimited = (await beta.get("/portal/contract")).text
        assert "<dt>Hours per month</dt><dd>unlimited</dd>" in unlimited
        assert "<dt>Hours left</dt><dd>unlimited</dd>" in unlimited
        await acme.aclose()
        await beta.aclose()


async def test_issued_reports_are_listed_the_pdf_opens_inline_and_the_csv_downloads(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        await seed_tickets(h)
        await _add_time(h, 2, 75, "2026-10")

        async def keep(_: UnitOfWork, __: ClientReport) -> None:
            return None

        acme = h.service.routing.client("acme")
        assert acme is not None
        for month in ("2026-09", "2026-10"):
            await h.service.domain.reports.issue(month=month, deliver=keep, clients=[acme])
        user: Browser = await signed_in(h, "acme", "boss@acme.example")
        page = (await user.get("/portal/reports")).text
        assert page.index("2026-10") < page.index("2026-09")
        pdf = await user.get("/portal/reports/2026-10.pdf")
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF")
        assert pdf.headers["Content-Type"] == "application/pdf"
        assert pdf.headers["Content-Disposition"].startswith("inline;")
        csv = await user.get("/portal/reports/2026-10.csv")
        assert csv.headers["Content-Disposition"].startswith("attachment;")
        assert "A-2" in csv.content.decode("utf-8-sig")
        assert "1:15" in csv.content.decode("utf-8-sig")
        for missing in ("2026-08.pdf", "2026-10.xls", "..%2Fsecret.pdf", "2026-13.pdf"):
            assert (await user.get(f"/portal/reports/{missing}")).status_code == 404, missing
        await user.aclose()
