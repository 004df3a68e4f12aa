"""Database errors leave the unit of work as storage's own, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import RoutingConfig
from dispatch.cards import CardPublisher
from dispatch.events import TicketLog
from dispatch.intake import Intake, IntakeService
from dispatch.models import HelpdeskEvent, TicketData, TicketEventKind
from dispatch.subscriptions import subscribe_features
from storage.db import Database
from storage.errors import ConflictError, StorageError, UnavailableError
from storage.models import TicketRow


def ticket(external_id: str) -> TicketRow:
    return TicketRow(source="fake", external_id=external_id, number=external_id, subject="s")


async def add_without_flush(database: Database, row: TicketRow) -> None:
    async with database.unit_of_work() as uow:
        uow.session.add(row)  # not flushed: the commit writes it
        await uow.commit()


async def test_a_duplicate_row_is_a_conflict(database: Database) -> None:
    async with database.unit_of_work() as uow:
        await uow.tickets.create(ticket("7"))
        await uow.commit()
    with pytest.raises(ConflictError) as caught:
        async with database.unit_of_work() as uow:
            await uow.tickets.create(ticket("7"))
    assert isinstance(caught.value, StorageError)
    assert type(caught.value.__cause__).__name__ == "IntegrityError"
    async with database.unit_of_work() as uow:  # nothing half-written stays behind
        assert await uow.tickets.get_by_external(source="fake", external_id="7") is not None
        await uow.tickets.create(ticket("8"))
        await uow.commit()


async def test_a_conflict_at_commit_is_translated_too(database: Database) -> None:
    async with database.unit_of_work() as uow:
        await uow.tickets.create(ticket("7"))
        await uow.commit()
    with pytest.raises(ConflictError):
        await add_without_flush(database, ticket("7"))


async def test_a_database_that_cannot_be_opened_is_unavailable(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'modest.db'}")
    try:
        with pytest.raises(UnavailableError):
            async with database.unit_of_work() as uow:
                await uow.tickets.get(ticket_id=1)
    finally:
        await database.dispose()
        # aiosqlite stops the failed connection's worker thread without waiting for it; the
        # thread then answers on this test's loop, which must still be open by then.
        await asyncio.sleep(0.1)


async def test_deliveries_racing_to_create_one_ticket_make_one(
    database: Database, routing: RoutingConfig
) -> None:
    """Two instances create the same new ticket at once: the loser retries as an update."""
    others = [Database(database.url) for _ in range(2)]
    try:
        events = TicketLog()
        cards = CardPublisher(routing, TelegramRenderer(Texts("en"), routing.tz))
        subscribe_features(events, routing, cards, time_tracker=None, writes_back=False)
        services = [IntakeService(db, routing, events) for db in (database, *others)]
        data = TicketData(external_id="5", number="5", subject="s")
        results = await asyncio.gather(
            *(
                service.accept_event(HelpdeskEvent("fake", TicketEventKind.CREATED, f"d{n}", data))
                for n, service in enumerate(services * 2)
            )
        )
    finally:
        for db in others:
            await db.dispose()
    assert results == [Intake.ACCEPTED] * 6
    async with database.unit_of_work() as uow:
        count = (await uow.session.execute(select(func.count()).select_from(TicketRow))).one()
    assert count == (1,)
