"""Housekeeping deletes only rows that have served their purpose, and only old ones."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from scheduler.housekeeping import prune
from storage.db import Database
from storage.models import (
    JobRow,
    JobStatus,
    OutboxOp,
    OutboxRow,
    OutboxStatus,
    TicketEventRow,
    TicketRow,
    WebhookDeliveryRow,
)
from storage.types import utcnow


async def test_prune_deletes_old_finished_rows_and_keeps_the_rest(database: Database) -> None:
    long_ago, lately = utcnow() - timedelta(days=30), utcnow() - timedelta(days=1)
    async with database.unit_of_work() as uow:
        uow.session.add_all(
            [
                WebhookDeliveryRow(source="fake", delivery_key="old", received_at=long_ago),
                WebhookDeliveryRow(source="fake", delivery_key="new", received_at=lately),
                *(
                    OutboxRow(chat_id=1, op=OutboxOp.SEND, status=status, created_at=at)
                    for status in (OutboxStatus.SENT, OutboxStatus.SUPERSEDED)
                    for at in (long_ago, lately)
                ),
                OutboxRow(
                    chat_id=1, op=OutboxOp.SEND, status=OutboxStatus.FAILED, created_at=long_ago
                ),
                OutboxRow(chat_id=1, op=OutboxOp.SEND, created_at=long_ago),
                JobRow(kind="k", status=JobStatus.DONE, created_at=long_ago),
                JobRow(kind="k", status=JobStatus.DONE, created_at=lately),
                JobRow(kind="k", status=JobStatus.FAILED, created_at=long_ago),
                JobRow(kind="k", created_at=long_ago),
            ]
        )
        await uow.commit()

    assert await prune(database) == {"deliveries": 1, "outbox": 2, "jobs": 1}

    async with database.unit_of_work() as uow:
        keys = (await uow.session.execute(select(WebhookDeliveryRow.delivery_key))).scalars()
        outbox = (await uow.session.execute(select(OutboxRow))).scalars().all()
        jobs = (await uow.session.execute(select(JobRow))).scalars().all()
    assert list(keys) == ["new"]
    assert sorted((row.status, row.created_at == lately) for row in outbox) == [
        (OutboxStatus.FAILED, False),
        (OutboxStatus.PENDING, False),
        (OutboxStatus.SENT, True),
        (OutboxStatus.SUPERSEDED, True),
    ]
    assert sorted((row.status, row.created_at == lately) for row in jobs) == [
        (JobStatus.DONE, True),
        (JobStatus.FAILED, False),
        (JobStatus.PENDING, False),
    ]
    assert await prune(database) == {"deliveries": 0, "outbox": 0, "jobs": 0}


async def test_prune_never_deletes_ticket_events(database: Database) -> None:
    ages_ago = utcnow() - timedelta(days=3650)
    async with database.unit_of_work() as uow:
        ticket = TicketRow(source="fake", external_id="1", number="1", subject="s")
        await uow.tickets.create(ticket)
        assert ticket.id is not None
        uow.events.append(
            TicketEventRow(
                ticket_id=ticket.id,
                at=ages_ago,
                kind="created",
                actor_kind="system",
                source="webhook",
            )
        )
        await uow.commit()
    await prune(database)
    async with database.unit_of_work() as uow:
        assert len(await uow.events.for_ticket(ticket_id=1)) == 1
