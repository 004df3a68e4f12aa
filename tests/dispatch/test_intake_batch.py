"""Webhooks arriving at the same moment are applied in one transaction, each answered after it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from sqlmodel import col, select

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import RoutingConfig
from dispatch.cards import CardPublisher
from dispatch.events import EventKind, TicketEvent, TicketLog
from dispatch.intake import Intake, IntakeService
from dispatch.models import HelpdeskEvent, TicketData, TicketEventKind
from dispatch.sla.stages import StatusModel
from dispatch.subscriptions import subscribe_features
from storage.db import Database, UnitOfWork
from storage.models import (
    OutboxRow,
    TelegramMessageRow,
    TicketEventRow,
    TicketRow,
    WebhookDeliveryRow,
)


def intake_service(db: Database, routing: RoutingConfig, events: TicketLog) -> IntakeService:
    cards = CardPublisher(routing, TelegramRenderer(Texts("en"), routing.tz))
    subscribe_features(events, routing, cards, time_tracker=None, writes_back=False)
    return IntakeService(db, routing, events)


def webhook(external_id: str, delivery: str, subject: str = "s") -> HelpdeskEvent:
    ticket = TicketData(external_id=external_id, number=external_id, subject=subject)
    return HelpdeskEvent("fake", TicketEventKind.CREATED, delivery, ticket)


def count_commits(db: Database) -> list[int]:
    commits = [0]

    @sa_event.listens_for(db.engine.sync_engine, "commit")
    def _counted(_conn: Any) -> None:
        commits[0] += 1

    return commits


async def test_webhooks_arriving_together_share_one_transaction(
    database: Database, routing: RoutingConfig
) -> None:
    intake = intake_service(database, routing, TicketLog())
    commits = count_commits(database)
    outcomes = await asyncio.gather(
        *(intake.accept_event(webhook(str(n), f"d{n}")) for n in range(20))
    )
    assert outcomes == [Intake.ACCEPTED] * 20
    assert commits[0] == 1, "one transaction for the webhooks waiting at the same moment"
    async with database.unit_of_work() as uow:
        tickets = (await uow.session.execute(select(TicketRow))).scalars().all()
        events = (await uow.session.execute(select(TicketEventRow))).scalars().all()
        cards = (await uow.session.execute(select(OutboxRow))).scalars().all()
    assert sorted(int(t.external_id) for t in tickets) == list(range(20))
    assert [e.kind for e in events] == ["created"] * 20
    assert {e.ticket_id for e in events} == {t.id for t in tickets}
    assert {c.ticket_id for c in cards} == {t.id for t in tickets}, "one card per ticket"


def count_inserts(db: Database, table: str) -> list[int]:
    inserts = [0]

    @sa_event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def _counted(*args: Any) -> None:
        if args[2].lstrip().upper().startswith(f"INSERT INTO {table.upper()} "):
            inserts[0] += 1

    return inserts


@contextmanager
def counted_flushes() -> Iterator[list[int]]:
    flushes = [0]

    def counted(*_args: Any) -> None:
        flushes[0] += 1

    sa_event.listen(Session, "after_flush", counted)
    try:
        yield flushes
    finally:
        sa_event.remove(Session, "after_flush", counted)


async def test_the_cards_of_a_batch_are_flushed_together(
    database: Database, routing: RoutingConfig
) -> None:
    """A card's message needs no flush of its own: 20 new tickets, two flushes (their
    tickets, then the rest), each outbox row pointing at its own ticket's card. PostgreSQL
    inserts the messages and the rows with one statement each; SQLite has no ordered
    RETURNING for a many-row insert, so there it is one statement per row, in that flush."""
    intake = intake_service(database, routing, TicketLog())
    await intake.accept_event(webhook("0", "d0"))  # the statements' first build, alone
    messages = count_inserts(database, "telegram_message")
    sends = count_inserts(database, "outbox")
    with counted_flushes() as flushes:
        await asyncio.gather(
            *(intake.accept_event(webhook(str(n), f"d{n}")) for n in range(1, 21))
        )
    assert flushes[0] <= 2
    if database.engine.dialect.name == "postgresql":
        assert (messages[0], sends[0]) == (1, 1)
    async with database.unit_of_work() as uow:
        rows = (await uow.session.execute(select(OutboxRow))).scalars().all()
        messages_stored = (await uow.session.execute(select(TelegramMessageRow))).scalars()
        by_id = {message.id: message for message in messages_stored}
    assert len(rows) == 21
    for row in rows:
        card = by_id[row.target_id]
        assert (card.ticket_id, card.kind, card.chat_id) == (row.ticket_id, "card", row.chat_id)


async def test_the_events_of_a_batch_are_one_insert_in_their_order(
    database: Database, routing: RoutingConfig
) -> None:
    """The log's rows are queued as plain values and written together (no ORM row each):
    20 new tickets, one ``INSERT INTO ticket_event``; the ids keep the order recorded."""
    intake = intake_service(database, routing, TicketLog())
    await intake.accept_event(webhook("0", "d0"))
    inserts = count_inserts(database, "ticket_event")
    await asyncio.gather(*(intake.accept_event(webhook(str(n), f"d{n}")) for n in range(1, 21)))
    assert inserts[0] == 1
    async with database.unit_of_work() as uow:
        events = (
            (await uow.session.execute(select(TicketEventRow).order_by(col(TicketEventRow.id))))
            .scalars()
            .all()
        )
        tickets = (await uow.session.execute(select(TicketRow))).scalars().all()
    number = {ticket.id: int(ticket.number) for ticket in tickets}
    assert [number[event.ticket_id] for event in events] == list(range(21))
    assert {event.kind for event in events} == {"created"}


async def test_a_new_ticket_is_stored_with_its_stage(
    database: Database, routing: RoutingConfig
) -> None:
    """The status model's stage goes in with the ticket's INSERT: no UPDATE of the ticket
    follows it in the same transaction (one statement fewer per new ticket)."""
    intake = intake_service(database, routing, TicketLog())
    await intake.accept_event(webhook("0", "d0"))
    updates: list[str] = []

    @sa_event.listens_for(database.engine.sync_engine, "before_cursor_execute")
    def _seen(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("UPDATE TICKET "):
            updates.append(args[2])

    await intake.accept_event(webhook("1", "d1"))
    closed = TicketData(external_id="2", number="2", subject="s", status="closed", closed=True)
    await intake.accept_event(HelpdeskEvent("fake", TicketEventKind.CREATED, "d2", closed))
    assert updates == []
    async with database.unit_of_work() as uow:
        tickets = (await uow.session.execute(select(TicketRow))).scalars().all()
    model = StatusModel(routing)
    assert [t.stage for t in tickets] == [model.stage_of(t.status, t.state) for t in tickets]
    assert tickets[0].stage == "classification"


async def test_duplicates_and_updates_in_one_batch(
    database: Database, routing: RoutingConfig
) -> None:
    intake = intake_service(database, routing, TicketLog())
    assert await intake.accept_event(webhook("1", "old")) == Intake.ACCEPTED
    outcomes = await asyncio.gather(
        intake.accept_event(webhook("1", "old")),  # seen before
        intake.accept_event(webhook("2", "new")),
        intake.accept_event(webhook("2", "new")),  # the same delivery again, in the same batch
        intake.accept_event(webhook("2", "again", subject="changed")),  # the new ticket again
        intake.accept_event(webhook("1", "update", subject="renamed")),
    )
    assert list(outcomes) == [
        Intake.DUPLICATE,
        Intake.ACCEPTED,
        Intake.DUPLICATE,
        Intake.ACCEPTED,
        Intake.ACCEPTED,
    ]
    async with database.unit_of_work() as uow:
        tickets = {
            t.external_id: t
            for t in (await uow.session.execute(select(TicketRow))).scalars().all()
        }
        kinds = [
            (e.ticket_id, e.kind)
            for e in (await uow.session.execute(select(TicketEventRow))).scalars().all()
        ]
        deliveries = (await uow.session.execute(select(WebhookDeliveryRow))).scalars().all()
    assert set(tickets) == {"1", "2"}
    assert tickets["1"].subject == "renamed"
    assert tickets["2"].subject == "changed"
    one, two = tickets["1"].id, tickets["2"].id
    assert kinds == [(one, "created"), (two, "created"), (two, "updated"), (one, "updated")]
    assert len(deliveries) == 4


async def test_a_webhook_that_fails_fails_alone(
    database: Database, routing: RoutingConfig
) -> None:
    events = TicketLog()
    intake = intake_service(database, routing, events)

    async def refuse(_uow: UnitOfWork, ticket: TicketRow, _event: TicketEvent) -> None:
        if ticket.external_id == "bad":
            raise RuntimeError("refused")

    events.subscribe((EventKind.CREATED,), refuse)
    results = await asyncio.gather(
        intake.accept_event(webhook("1", "d1")),
        intake.accept_event(webhook("bad", "d2")),
        intake.accept_event(webhook("3", "d3")),
        return_exceptions=True,
    )
    assert results[0] == Intake.ACCEPTED
    assert isinstance(results[1], RuntimeError)
    assert results[2] == Intake.ACCEPTED
    async with database.unit_of_work() as uow:
        tickets = (await uow.session.execute(select(TicketRow))).scalars().all()
        deliveries = (await uow.session.execute(select(WebhookDeliveryRow))).scalars().all()
    assert sorted(t.external_id for t in tickets) == ["1", "3"]
    assert sorted(d.delivery_key for d in deliveries) == ["d1", "d3"], "the failed one can retry"


@pytest.mark.parametrize("burst", [1, 3, 70])
async def test_every_webhook_of_a_burst_is_answered_after_its_commit(
    database: Database, routing: RoutingConfig, burst: int
) -> None:
    intake = intake_service(database, routing, TicketLog())
    other = Database(database.url)  # another connection, as another instance would look

    async def accept_and_look(n: int) -> bool:
        await intake.accept_event(webhook(str(n), f"d{n}"))
        async with other.unit_of_work() as uow:
            return await uow.tickets.get_by_external(source="fake", external_id=str(n)) is not None

    try:
        seen = await asyncio.gather(*(accept_and_look(n) for n in range(burst)))
    finally:
        await other.dispose()
    assert all(seen)
