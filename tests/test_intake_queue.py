"""The webhook intake queue: group commit, deduplication, applying in order, exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlmodel import select

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import RoutingConfig
from dispatch.cards import CardPublisher
from dispatch.intake import FETCH_JOB, Intake, IntakeService
from dispatch.intake_queue import IntakeQueue, ticket_from_json, ticket_to_json
from dispatch.models import Client, HelpdeskEvent, TicketData, TicketEventKind
from dispatch.reminders import NagTracker
from storage.db import Database
from storage.models import IntakeEventRow, JobRow, OutboxRow, TicketRow


def queue_for(db: Database, routing: RoutingConfig, **kwargs: Any) -> IntakeQueue:
    cards = CardPublisher(routing, TelegramRenderer(Texts("en"), routing.tz))
    return IntakeQueue(db, IntakeService(db, routing, cards, NagTracker(routing)), **kwargs)


def created(external_id: str, delivery: str | None = None, **fields: Any) -> HelpdeskEvent:
    ticket = TicketData(external_id=external_id, number=f"N-{external_id}", subject="s", **fields)
    return HelpdeskEvent("generic", TicketEventKind.CREATED, delivery or external_id, ticket)


async def rows(db: Database, model: type[Any]) -> list[Any]:
    async with db.unit_of_work() as uow:
        return list((await uow.session.execute(select(model))).scalars().all())


def count_statements(db: Database, prefix: str) -> list[str]:
    seen: list[str] = []

    @sa_event.listens_for(db.engine.sync_engine, "before_cursor_execute")
    def _record(*args: Any) -> None:
        statement = str(args[2])
        if statement.startswith(prefix):
            seen.append(statement)

    return seen


async def test_a_burst_of_webhooks_is_committed_in_a_few_transactions(
    database: Database, routing: RoutingConfig
) -> None:
    queue = queue_for(database, routing)
    inserts = count_statements(database, "INSERT INTO webhook_delivery")
    outcomes = await asyncio.gather(*(queue.submit_event(created(str(n))) for n in range(100)))
    assert outcomes == [Intake.ACCEPTED] * 100
    # The first submit commits alone; the 99 that arrived meanwhile share the next commit.
    assert len(inserts) <= 3
    assert len(await rows(database, IntakeEventRow)) == 100
    assert await rows(database, TicketRow) == []  # accepted, not applied yet


async def test_duplicates_in_one_batch_and_across_batches_answer_duplicate(
    database: Database, routing: RoutingConfig
) -> None:
    queue = queue_for(database, routing)
    first = await asyncio.gather(
        queue.submit_event(created("1", "d-1")),
        queue.submit_event(created("1", "d-1")),
        queue.submit_event(created("2", "d-2")),
    )
    assert sorted(first) == [Intake.ACCEPTED, Intake.ACCEPTED, Intake.DUPLICATE]
    assert await queue.submit_event(created("1", "d-1")) == Intake.DUPLICATE
    assert len(await rows(database, IntakeEventRow)) == 2


async def test_applied_in_order_exactly_once_with_cards_and_fetch_jobs(
    database: Database, routing: RoutingConfig
) -> None:
    queue = queue_for(database, routing)
    await queue.submit_event(created("5", "a", body="first"))
    update = created("5", "b", body="second")
    await queue.submit_event(HelpdeskEvent("generic", TicketEventKind.UPDATED, "b", update.ticket))
    await queue.submit_fetch(
        source="generic", kind=TicketEventKind.UPDATED, external_id="77", delivery_key="f"
    )
    assert await queue.apply_batch() == 3
    assert await queue.apply_batch() == 0
    (ticket,) = await rows(database, TicketRow)
    assert ticket.body == "second"  # the update was applied after the create
    assert len([r for r in await rows(database, OutboxRow) if r.op == "send"]) == 1
    (job,) = await rows(database, JobRow)
    assert job.kind == FETCH_JOB
    assert job.payload["external_id"] == "77"
    assert await rows(database, IntakeEventRow) == []


async def test_events_queued_before_a_crash_are_applied_after_restart(
    database: Database, routing: RoutingConfig
) -> None:
    before = queue_for(database, routing)  # never runs its applier: the process "died"
    for n in range(3):
        await before.submit_event(created(str(n)))
    after = queue_for(database, routing)
    runner = asyncio.create_task(after.run())
    try:
        async with asyncio.timeout(10):
            await after.settled()
    finally:
        after.stop()
        await runner
    assert sorted(t.external_id for t in await rows(database, TicketRow)) == ["0", "1", "2"]


async def test_an_event_that_keeps_failing_is_set_aside_and_the_rest_flow(
    database: Database, routing: RoutingConfig
) -> None:
    queue = queue_for(database, routing, max_attempts=2)
    await queue.submit_event(created("1"))
    async with database.unit_of_work() as uow:
        # A payload no version of Modest wrote: applying it raises.
        uow.session.add(IntakeEventRow(source="generic", payload={"kind": "ticket.exploded"}))
        await uow.commit()
    await queue.submit_event(created("3"))
    await queue.apply_batch()  # the batch fails; each is retried alone; two go through
    assert sorted(t.external_id for t in await rows(database, TicketRow)) == ["1", "3"]
    (bad,) = await rows(database, IntakeEventRow)
    assert bad.attempts == 1
    assert not bad.failed
    assert "ticket.exploded" in (bad.last_error or "")
    await queue.apply_batch()
    (bad,) = await rows(database, IntakeEventRow)
    assert bad.failed
    assert bad.attempts == 2
    assert await queue.apply_batch() == 0  # set aside: no longer claimed
    async with database.unit_of_work() as uow:
        assert await uow.intake.backlog() == (0, 1)


async def test_two_instances_accept_and_apply_each_event_once(
    database: Database, routing: RoutingConfig
) -> None:
    other = Database(database.url)
    try:
        queues = [queue_for(database, routing), queue_for(other, routing)]
        outcomes = await asyncio.gather(
            *(q.submit_event(created(str(n % 20))) for n, q in enumerate(queues * 20))
        )
        assert outcomes.count(Intake.ACCEPTED) == 20
        for _ in range(5):
            await asyncio.gather(*(q.apply_batch() for q in queues))
    finally:
        await other.dispose()
    tickets = await rows(database, TicketRow)
    assert sorted(int(t.external_id) for t in tickets) == list(range(20))
    assert len([r for r in await rows(database, OutboxRow) if r.op == "send"]) == 20


@pytest.mark.parametrize(
    "ticket",
    [
        TicketData(external_id="1", number="1", subject="s"),
        TicketData(
            external_id="2",
            number="A-2",
            subject="<b>&",
            body="x" * 5000,
            status="open",
            priority="high",
            type="incident",
            department_ref="3",
            assignee_ref="11",
            client=Client(name="Мария", email="m@acme.test", company="Acme"),
            url="https://help.example/2",
            created_at=datetime(2026, 11, 22, 7, 30, tzinfo=UTC),
            updated_at=datetime(2026, 11, 22, 8, 0, tzinfo=UTC),
            closed=True,
        ),
    ],
)
def test_a_ticket_snapshot_survives_the_queue_unchanged(ticket: TicketData) -> None:
    assert ticket_from_json(ticket_to_json(ticket)) == ticket
