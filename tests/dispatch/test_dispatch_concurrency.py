"""First tap wins: concurrent assignments from separate connections (two instances)."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import RoutingConfig
from dispatch.assignment import AssignmentService, TapOutcome
from dispatch.cards import CardPublisher
from dispatch.events import TicketLog
from dispatch.intake import Intake, IntakeService
from dispatch.models import HelpdeskEvent, TicketData, TicketEventKind
from dispatch.subscriptions import subscribe_features
from storage.db import Database
from storage.models import JobRow, OutboxRow, TicketRow
from tests.support.actors import telegram_actor


def services(db: Database, routing: RoutingConfig) -> tuple[IntakeService, AssignmentService]:
    cards = CardPublisher(routing, TelegramRenderer(Texts("en"), routing.tz))
    events = TicketLog()
    subscribe_features(events, routing, cards, time_tracker=None, writes_back=True)
    return (
        IntakeService(db, routing, events),
        AssignmentService(db, routing, cards, events, writes_back=True),
    )


def event(external_id: str, delivery: str) -> HelpdeskEvent:
    ticket = TicketData(external_id=external_id, number=external_id, subject="s")
    return HelpdeskEvent("fake", TicketEventKind.CREATED, delivery, ticket)


async def test_concurrent_assignments_from_two_instances_one_wins(
    database: Database, routing: RoutingConfig
) -> None:
    intake, _ = services(database, routing)
    assert await intake.accept_event(event("1", "d1")) == Intake.ACCEPTED
    # Two more "instances": their own engines and connections on the same database.
    others = [Database(database.url) for _ in range(2)]
    try:
        tappers = [services(db, routing)[1] for db in (database, *others)]
        results = await asyncio.gather(
            *(
                service.assign(
                    ticket_id=1,
                    department_key="support",
                    person_key=person,
                    actor=telegram_actor(routing, actor),
                )
                for service, person, actor in zip(
                    tappers * 2, ["ivan", "olga"] * 3, [1001, 1002] * 3, strict=False
                )
            )
        )
    finally:
        for db in others:
            await db.dispose()
    outcomes = [r.outcome for r in results]
    assert outcomes.count(TapOutcome.OK) == 1, outcomes
    assert outcomes.count(TapOutcome.ALREADY_TAKEN) == len(results) - 1
    async with database.unit_of_work() as uow:
        ticket = await uow.tickets.get(ticket_id=1)
        jobs = (await uow.session.execute(select(JobRow))).scalars().all()
        sends = (await uow.session.execute(select(OutboxRow))).scalars().all()
    assert ticket is not None
    assert ticket.state == "assigned"
    assert len(jobs) == 1, "exactly one write-back"
    private = [row for row in sends if row.chat_id in (1001, 1002)]
    assert len(private) == 1, "exactly one assignee message"


async def test_the_same_delivery_accepted_concurrently_makes_one_ticket(
    database: Database, routing: RoutingConfig
) -> None:
    others = [Database(database.url) for _ in range(3)]
    try:
        intakes = [services(db, routing)[0] for db in (database, *others)]
        outcomes = await asyncio.gather(*(i.accept_event(event("7", "same")) for i in intakes))
    finally:
        for db in others:
            await db.dispose()
    assert sorted(outcomes) == [Intake.ACCEPTED] + [Intake.DUPLICATE] * 3
    async with database.unit_of_work() as uow:
        cards = (await uow.session.execute(select(OutboxRow))).scalars().all()
    assert len(cards) == 1


async def test_two_deliveries_creating_the_same_ticket_at_once_make_one_ticket(
    database: Database, routing: RoutingConfig
) -> None:
    others = [Database(database.url) for _ in range(3)]
    try:
        intakes = [services(db, routing)[0] for db in (database, *others)]
        outcomes = await asyncio.gather(
            *(i.accept_event(event("8", f"delivery-{n}")) for n, i in enumerate(intakes))
        )
    finally:
        for db in others:
            await db.dispose()
    assert outcomes == [Intake.ACCEPTED] * 4, "none fails on the race"
    async with database.unit_of_work() as uow:
        tickets = (await uow.session.execute(select(TicketRow))).scalars().all()
        cards = (await uow.session.execute(select(OutboxRow))).scalars().all()
    assert len(tickets) == 1
    assert len(cards) == 1
