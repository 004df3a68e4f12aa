"""Reconciliation and polling: lost webhooks are caught, the request budget holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import func, select

from connectors.fake import FakeHelpdesk
from connectors.helpdeskeddy import HelpDeskEddyConnector
from connectors.ratelimit import RequestBudget
from dispatch.models import TicketData, TicketEventKind
from dispatch.reconcile import HelpdeskPoller
from storage.db import Database
from storage.migrate import upgrade
from storage.models import NagRow, TicketRow
from tests.support.reminders import Clock, routing_with, services

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def changed(external_id: str, minute: int, **fields: object) -> TicketData:
    return TicketData(
        external_id=external_id,
        number=f"N-{external_id}",
        subject="from the helpdesk",
        updated_at=T0 + timedelta(minutes=minute),
        **fields,  # type: ignore[arg-type]
    )


async def test_a_ticket_whose_webhook_never_came_gets_its_card(database: Database) -> None:
    s = services(database, routing_with(), Clock(T0))
    helpdesk = FakeHelpdesk([changed("77", 1)])
    poller = HelpdeskPoller(database, helpdesk, s.intake, clock=s.clock)
    assert await poller.run_once() == 1
    async with database.unit_of_work() as uow:
        ticket = await uow.tickets.get_by_external(source="fake", external_id="77")
        assert ticket is not None
        assert ticket.id is not None
        assert ticket.state == "unassigned"
        nag = await uow.nags.get(ticket_id=ticket.id)
    assert nag is not None
    assert nag.active, "its reminders start"
    assert len(await s.live_sends("card")) == 1


async def test_a_ticket_assigned_in_the_helpdesk_updates_its_card_and_stops_reminders(
    database: Database,
) -> None:
    s = services(database, routing_with(), Clock(T0))
    helpdesk = FakeHelpdesk([changed("5", 1)])
    poller = HelpdeskPoller(database, helpdesk, s.intake, clock=s.clock)
    await poller.run_once()
    helpdesk.put(changed("5", 3, assignee_ref="12", department_ref="1"))
    assert await poller.run_once() >= 1
    async with database.unit_of_work() as uow:
        ticket = await uow.tickets.get_by_external(source="fake", external_id="5")
        assert ticket is not None
        assert ticket.id is not None
        nag = await uow.nags.get(ticket_id=ticket.id)
    assert ticket.state == "assigned"
    assert ticket.assignee_key == "olga"
    assert nag is not None
    assert not nag.active
    # The card was never delivered, so the update went into its pending send.
    (card,) = await s.live_sends("card")
    assert "Assigned to Olga Sidorova (Support) in the helpdesk" in card.payload["text"]


async def test_the_watermark_survives_a_restart_and_nothing_repeats(database: Database) -> None:
    s = services(database, routing_with(), Clock(T0))
    helpdesk = FakeHelpdesk([changed("1", 1), changed("2", 2)])
    await HelpdeskPoller(database, helpdesk, s.intake, clock=s.clock).run_once()
    restarted = HelpdeskPoller(database, helpdesk, s.intake, clock=s.clock)
    await restarted.run_once()
    assert helpdesk.listings[-1] == T0 + timedelta(minutes=2) - timedelta(minutes=2)
    assert len(await s.live_sends("card")) == 2, "no card repeated"


def hde_portal(total: int, clock: Clock, seen: list[float]) -> httpx.MockTransport:
    """A HelpDeskEddy that lists ``total`` changed tickets, 30 a page."""
    tickets = {
        str(n): {
            "id": n,
            "unique_id": f"HD-{n}",
            "title": f"t{n}",
            "status_id": "open",
            "owner_id": 0,
            "department_id": 1,
            "date_updated": f"2026-11-23 08:{n % 60:02d}:00",
        }
        for n in range(1, total + 1)
    }
    ids = sorted(tickets, key=int)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(clock.now.timestamp())
        page = int(request.url.params.get("page", "1"))
        chunk = ids[(page - 1) * 30 : page * 30]
        pages = (total + 29) // 30
        body = {
            "data": {i: tickets[i] for i in chunk},
            "pagination": {
                "total": total,
                "per_page": 30,
                "current_page": page,
                "total_pages": pages,
            },
        }
        return httpx.Response(
            200, json=body, headers={"X-Rate-Limit": "300", "X-Rate-Limit-Remaining": "250"}
        )

    return httpx.MockTransport(handler)


async def test_the_request_budget_holds_under_a_burst_of_1000_changed_tickets(
    sqlite_url: str,
) -> None:
    database = Database(sqlite_url)
    await upgrade(database)
    clock = Clock(T0)

    async def fake_sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)
        await asyncio.sleep(0)

    seen: list[float] = []
    budget = RequestBudget(10, clock=lambda: clock.now.timestamp(), sleep=fake_sleep)
    connector = HelpDeskEddyConnector(
        base_url="https://acme.example/api/v2",
        email="bot@acme.example",
        api_key="k",
        transport=hde_portal(1000, clock, seen),
        budget=budget,
    )
    s = services(database, routing_with(), clock)
    try:
        applied = await HelpdeskPoller(database, connector, s.intake, clock=clock).run_once()
    finally:
        await connector.aclose()
    assert applied == 1000
    assert len(seen) == 34, "one request per 30 tickets"
    busiest = max(sum(1 for t in seen if start <= t < start + 60) for start in seen)
    assert busiest <= 10, f"{busiest} requests in one minute, budget 10"
    async with database.unit_of_work() as uow:
        tickets = (await uow.session.execute(select(func.count()).select_from(TicketRow))).one()
        nags = (await uow.session.execute(select(func.count()).select_from(NagRow))).one()
    assert tickets[0] == 1000
    assert nags[0] == 1000
    await database.dispose()


async def test_an_older_snapshot_does_not_undo_a_newer_one(database: Database) -> None:
    s = services(database, routing_with(), Clock(T0))
    helpdesk = FakeHelpdesk([changed("3", 1, assignee_ref="12")])
    poller = HelpdeskPoller(database, helpdesk, s.intake, clock=s.clock)
    await poller.run_once()
    closed = changed("3", 5, assignee_ref="12", closed=True)
    await s.intake.apply_fetched(source="fake", kind=TicketEventKind.CLOSED, data=closed)
    # A listing read before the close arrives late: it must not reopen the ticket.
    await s.intake.apply_fetched(
        source="fake", kind=TicketEventKind.UPDATED, data=changed("3", 2, assignee_ref="12")
    )
    async with database.unit_of_work() as uow:
        ticket = await uow.tickets.get_by_external(source="fake", external_id="3")
        prompts = await uow.time.rounds(ticket_id=ticket.id or 0) if ticket else 0
    assert ticket is not None
    assert ticket.state == "closed"
    assert prompts == 1, "asked for the time once"
