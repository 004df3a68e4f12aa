"""The CRM in the domain: the card's enrichment (once, cached, never blocking, failures
leaving the card as it was), timeline notes once per close, clients and packages from
the CRM, and the monthly report from the CRM's contract."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from sqlmodel import select
from structlog.testing import capture_logs

from connectors.base import TransientError
from connectors.bitrix24_crm import Bitrix24CrmConnector
from connectors.bitrix24_rest import PortalRateLimiter
from connectors.crm import CrmCompany, CrmContact
from connectors.fake import FakeHelpdesk
from connectors.fake_crm import FakeCrm
from dispatch.crm.lookup import CrmLookup
from dispatch.job_payloads import CrmEnrich, CrmNote, enqueue
from dispatch.models import Client, TicketData, TicketEventKind
from modest.domain import Domain
from storage.db import Database
from storage.models import JobRow, JobStatus, OutboxRow, TicketCrmRow, TimePromptRow
from tests.support.actors import telegram_actor
from tests.support.crm import (
    CRM_ROOT,
    MARIA,
    acme_contract,
    card_rows,
    crm_answer,
    crm_routing,
    deliver_card,
    domain_with,
    fake_crm,
    new_ticket,
    run_jobs,
)

OLGA = 1002


def domain_of(database: Database, crm: Any, extra: str = "", **options: Any) -> Domain:
    return domain_with(database, crm_routing(extra, **options), crm, FakeHelpdesk())


async def test_the_card_goes_out_at_once_and_is_edited_once_with_the_crm_block(
    database: Database,
) -> None:
    crm = fake_crm()
    domain = domain_of(database, crm)
    ticket_id = await new_ticket(domain, database, "1")
    (send,) = await card_rows(database, ticket_id)
    assert "In CRM" not in send.payload["text"]  # not waiting for the CRM
    await deliver_card(database, ticket_id)
    await run_jobs(domain, database)
    rows = await card_rows(database, ticket_id)
    edits = [row for row in rows if row.op == "edit"]
    assert len(edits) == 1
    text = edits[0].payload["text"]
    assert "🏢 In CRM: Maria Ivanova, Chief accountant, " in text
    assert '<a href="https://acme.bitrix24.test/crm/company/details/42/">Acme LLC</a>' in text
    assert "📄 Contract № 12/2026, 20:00 h a month, 0:00 h used this month" in text
    assert '<a href="https://acme.bitrix24.ru">portal</a>' in text
    assert "🤝 Account manager: Ivan Petrov" in text  # the deal's responsible, by bitrix24_id
    assert edits[0].payload["reply_markup"] == send.payload["reply_markup"]  # buttons kept
    # The job run again (another instance, a retry): no second look-up, no second edit.
    async with database.unit_of_work() as uow:
        enqueue(uow, CrmEnrich(ticket_id=ticket_id))
        await uow.commit()
    await run_jobs(domain, database)
    assert len([row for row in await card_rows(database, ticket_id) if row.op == "edit"]) == 1
    assert crm.calls["find_contacts"] == 1


async def test_an_edit_folds_into_a_card_not_sent_yet(database: Database) -> None:
    domain = domain_of(database, fake_crm())
    ticket_id = await new_ticket(domain, database, "1")
    await run_jobs(domain, database)
    (send,) = await card_rows(database, ticket_id)
    assert send.op == "send"
    assert "🏢 In CRM: Maria Ivanova" in send.payload["text"]


async def test_an_unknown_requester_is_marked_not_in_crm_and_no_address_costs_nothing(
    database: Database,
) -> None:
    crm = fake_crm()
    domain = domain_of(database, crm)
    unknown = await new_ticket(domain, database, "1", email="stranger@example.test")
    nobody = await new_ticket(domain, database, "2", email="")
    await run_jobs(domain, database)
    (send,) = await card_rows(database, unknown)
    assert "🏢 Not in CRM" in send.payload["text"]
    (other,) = await card_rows(database, nobody)
    assert "CRM" not in other.payload["text"]
    assert crm.calls["find_contacts"] == 1


async def test_ten_tickets_from_one_client_cost_one_look_up(database: Database) -> None:
    crm = fake_crm()
    domain = domain_of(database, crm)
    for number in range(10):
        await new_ticket(domain, database, str(number))
    await run_jobs(domain, database)
    assert crm.calls == {"find_contacts": 1, "get_company": 1, "get_contract": 1}
    async with database.unit_of_work() as uow:
        links = (await uow.session.execute(select(TicketCrmRow))).scalars().all()
    assert {(link.company_id, link.found) for link in links} == {("42", True)}
    assert len(links) == 10


async def test_the_cache_lasts_cache_ttl_and_then_shows_a_changed_deal(database: Database) -> None:
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    clock: Callable[[], datetime] = lambda: now  # noqa: E731
    crm = fake_crm()
    lookup = CrmLookup(database, crm, ttl=timedelta(minutes=15), clock=lambda: clock())
    assert (await lookup.requester(MARIA)) is not None
    account = await lookup.account("42")
    assert account is not None
    assert account.contract is not None
    assert account.contract.hours_per_month == Decimal(20)
    crm.contracts["42"] = acme_contract(hours="30")  # the account manager edits the deal
    now += timedelta(minutes=14)
    assert (await lookup.account("42")).contract.hours_per_month == Decimal(20)  # type: ignore[union-attr]
    assert crm.calls["get_contract"] == 1
    now += timedelta(minutes=1)
    assert (await lookup.account("42")).contract.hours_per_month == Decimal(30)  # type: ignore[union-attr]
    assert crm.calls["get_contract"] == 2
    assert (await lookup.requester(" Maria@ACME.test")) is not None  # same address, same entry
    assert crm.calls["find_contacts"] == 2  # the e-mail entry was stale too


async def test_several_contacts_and_two_companies_pick_the_one_with_a_contract(
    database: Database,
) -> None:
    crm = FakeCrm()
    crm.contacts[MARIA] = [
        CrmContact("15", "Maria I.", ""),
        CrmContact("12", "Maria Ivanova", "Chief accountant", ("43", "42")),
    ]
    crm.companies["43"] = acme_company("43", "Beta Holding")
    crm.companies["42"] = acme_company("42", "Acme LLC")
    crm.contracts["42"] = acme_contract()
    lookup = CrmLookup(database, crm, ttl=timedelta(minutes=15))
    requester = await lookup.requester(MARIA)
    assert requester is not None
    assert (requester.contact_id, requester.company_id) == ("12", "42")  # Beta has no deal
    crm.contracts.clear()
    fresh = CrmLookup(database, crm, ttl=timedelta(0))
    requester = await fresh.requester(MARIA)
    assert requester is not None
    assert requester.company_id == "43"


def acme_company(company_id: str, title: str) -> CrmCompany:
    return CrmCompany(company_id, title, f"https://crm.test/company/{company_id}/")


def _raises(exc: Exception) -> Any:
    def side_effect(request: httpx.Request) -> httpx.Response:
        raise exc

    return side_effect


FAILURES = {
    "slow": (_raises(httpx.ReadTimeout("took too long")), "crm.lookup_failed", "ReadTimeout"),
    "down": (_raises(httpx.ConnectError("refused")), "crm.lookup_failed", "ConnectError"),
    "server error": (crm_answer("internal_server_error"), "crm.lookup_failed", "HTTP 500"),
    "403": (crm_answer("access_denied"), "crm.lookup_refused", "ACCESS_DENIED"),
    "query limit": (
        crm_answer("query_limit_exceeded"),
        "crm.lookup_failed",
        "QUERY_LIMIT_EXCEEDED",
    ),
    "expired token": (crm_answer("expired_token"), "crm.lookup_refused", "expired_token"),
}


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_a_crm_that_fails_leaves_the_card_as_it_was_and_says_why(
    database: Database, failure: str
) -> None:
    reply, event, reason = FAILURES[failure]
    crm = Bitrix24CrmConnector(
        webhook_url=CRM_ROOT,
        deal_category=3,
        limiter=PortalRateLimiter(1000.0),
        retry_attempts=2,
        retry_wait=0.001,
    )
    domain = domain_of(database, crm)
    try:
        with respx.mock(base_url=CRM_ROOT, assert_all_called=True) as api:
            route = api.post("crm.contact.list")
            if isinstance(reply, httpx.Response):
                route.mock(return_value=reply)
            else:
                route.mock(side_effect=reply)
            ticket_id = await new_ticket(domain, database, "1")
            (before,) = await card_rows(database, ticket_id)
            await deliver_card(database, ticket_id)
            with capture_logs() as logs:
                await run_jobs(domain, database)
            calls = route.call_count
    finally:
        await crm.aclose()
    (after,) = await card_rows(database, ticket_id)  # no edit queued
    assert after.payload == before.payload
    async with database.unit_of_work() as uow:
        assert await uow.crm.link(ticket_id=ticket_id) is None
        (job,) = (await uow.session.execute(select(JobRow))).scalars().all()
    said = [entry for entry in logs if entry["event"] == event]
    assert said
    assert all(reason in entry["reason"] for entry in said)
    if event == "crm.lookup_refused":
        assert (job.status, job.attempts, calls) == (JobStatus.DONE, 1, 1)  # never retried
    else:
        # Retried, but not for ever: four runs of the job, two requests each.
        assert (job.status, job.attempts, calls) == (JobStatus.FAILED, 4, 8)
        assert any(entry["event"] == "crm.enrichment_gave_up" for entry in logs)


async def close_with_time(
    domain: Domain, database: Database, minutes: int, *, reopen: bool = False
) -> None:
    """The ticket (``1``, Olga's) closes in the helpdesk and Olga records ``minutes``."""
    data = TicketData(
        external_id="1",
        number="A-1",
        subject="Printer on fire",
        assignee_ref="12",
        client=Client(name="Maria", email=MARIA),
    )
    if reopen:
        await domain.intake.apply_fetched(
            source="generic", kind=TicketEventKind.REOPENED, data=data
        )
    closed = replace(data, closed=True)
    await domain.intake.apply_fetched(source="generic", kind=TicketEventKind.CLOSED, data=closed)
    async with database.unit_of_work() as uow:
        prompts = (await uow.session.execute(select(TimePromptRow))).scalars().all()
    prompt = max(prompts, key=lambda p: p.round)
    assert prompt.id is not None
    actor = telegram_actor(crm_routing(), OLGA)
    result = await domain.time_tracker.choose(
        prompt_id=prompt.id, minutes=minutes, billable=True, actor=actor
    )
    assert result.minutes == minutes


async def test_one_timeline_note_per_close_and_never_again_for_the_same_close(
    database: Database,
) -> None:
    crm = fake_crm()
    domain = domain_of(database, crm)
    ticket_id = await new_ticket(domain, database, "1", assignee_ref="12")
    await run_jobs(domain, database)
    crm.fail("add_timeline_note", 1, TransientError("Bitrix24 crm.timeline.comment.add: HTTP 503"))
    await close_with_time(domain, database, 30)
    await run_jobs(domain, database)
    assert crm.notes == [("42", "#A-1 Printer on fire — 30 min, Olga Sidorova")]
    # The same close's job again (a retry that already wrote, another instance): no second note.
    async with database.unit_of_work() as uow:
        enqueue(uow, CrmNote(ticket_id=ticket_id, round=1))
        await uow.commit()
    await run_jobs(domain, database)
    # A changed time is not a new close.
    async with database.unit_of_work() as uow:
        prompt = (await uow.session.execute(select(TimePromptRow))).scalars().one()
    await domain.time_tracker.choose(
        prompt_id=prompt.id or 0,
        minutes=45,
        billable=True,
        actor=telegram_actor(crm_routing(), OLGA),
    )
    await run_jobs(domain, database)
    assert len(crm.notes) == 1
    await close_with_time(domain, database, 90, reopen=True)
    await run_jobs(domain, database)
    assert crm.notes[1] == ("42", "#A-1 Printer on fire — 1 h 30 min, Olga Sidorova")
    assert len(crm.notes) == 2


async def test_package_alerts_follow_the_crm_contract_and_its_manager(database: Database) -> None:
    crm = fake_crm(hours="1")
    domain = domain_of(database, crm)
    ticket_id = await new_ticket(domain, database, "1", assignee_ref="12")
    await run_jobs(domain, database)
    await close_with_time(domain, database, 60)
    await run_jobs(domain, database)
    async with database.unit_of_work() as uow:
        rows = (await uow.session.execute(select(OutboxRow))).scalars().all()
    alerts = [
        row.payload["text"]
        for row in rows
        if row.chat_id == 1001 and "📦" in row.payload.get("text", "")
    ]
    # One hour in a one-hour package passes 80 % and 100 % at once: one message (17.14).
    assert len(alerts) == 1
    assert "Acme LLC" in alerts[0]
    assert "1:00 of 1:00 h used (100%), 0:00 h left" in alerts[0]
    async with database.unit_of_work() as uow:
        entry = await uow.time.entry(ticket_id=ticket_id, round=1)
    assert entry is not None
    assert entry.client_key == "crm-42"


async def test_the_monthly_report_reads_the_crm_contract(database: Database) -> None:
    crm = fake_crm(hours="0.5")
    domain = domain_of(database, crm)
    await new_ticket(domain, database, "1", assignee_ref="12")
    await run_jobs(domain, database)
    await close_with_time(domain, database, 60)
    await run_jobs(domain, database)
    month = f"{datetime.now(UTC).astimezone(crm_routing().tz):%Y-%m}"
    reported = await domain.reports.clients_to_report(month=month)
    assert [client.key for client in reported] == ["crm-42"]
    report = await domain.reports.build(client_key="crm-42", month=month)
    assert (report.client.name, report.client.contract) == ("Acme LLC", "№ 12/2026")
    assert (report.package_minutes, report.overage_minutes) == (30, 30)
    assert report.overage_cost == Decimal("1750.00")  # half an hour at the deal's 3500
    assert report.client.manager == "ivan"


async def test_a_yaml_client_still_wins(database: Database) -> None:
    yaml_client = (
        "clients:\n  - key: acme\n    name: Acme (YAML)\n    match: {email_domains: [acme.test]}\n"
        "    hours_per_month: 5\n"
    )
    domain = domain_of(database, fake_crm(), yaml_client)
    ticket_id = await new_ticket(domain, database, "1", assignee_ref="12")
    await run_jobs(domain, database)
    await close_with_time(domain, database, 30)
    await run_jobs(domain, database)
    async with database.unit_of_work() as uow:
        entry = await uow.time.entry(ticket_id=ticket_id, round=1)
    assert entry is not None
    assert entry.client_key == "acme"
