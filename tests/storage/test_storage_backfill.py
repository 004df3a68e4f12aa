"""Migration 0005 writes the history of tickets that existed before the event log."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from storage.db import Database
from storage.migrate import HEAD_REVISION, current_revision, upgrade
from storage.models import OutboxRow

T0 = datetime(2026, 11, 20, 9, 0)  # naive UTC, as the 0004 schema stores it


def at(minutes: int) -> datetime:
    return T0.replace(minute=minutes)


async def seed_0004(database: Database) -> None:
    """Tickets as the previous schema holds them: one open, one assigned, one closed."""
    ticket = (
        "INSERT INTO ticket (id, source, external_id, number, subject, body, status, priority,"
        " type, client_name, client_email, client_company, created_at, received_at, state,"
        " department_key, assignee_key, assigned_by, assigned_at, closed_at, writeback, version)"
        " VALUES (:id, 'hde', :ext, :ext, 's', '', '', '', '', '', '', '', :created, :received,"
        " :state, :dept, :assignee, :by, :assigned_at, :closed_at, 'none', 0)"
    )
    rows = [
        {"id": 1, "ext": "11", "state": "unassigned", "dept": None, "assignee": None,
         "by": None, "assigned_at": None, "closed_at": None},
        {"id": 2, "ext": "12", "state": "assigned", "dept": "support", "assignee": "olga",
         "by": "ivan", "assigned_at": at(5), "closed_at": None},
        {"id": 3, "ext": "13", "state": "closed", "dept": "support", "assignee": "olga",
         "by": "helpdesk", "assigned_at": at(6), "closed_at": at(30)},
    ]  # fmt: skip
    async with database.engine.begin() as conn:
        for row in rows:
            await conn.execute(text(ticket), {**row, "created": at(1), "received": at(2)})
        await conn.execute(
            text(
                "INSERT INTO time_entry (ticket_id, round, person_key, minutes, billable,"
                " client_key, closed_on, month, created_at, updated_at)"
                " VALUES (3, 1, 'olga', 45, :billable, 'acme', '2026-11-20', '2026-11',"
                " :at, :at)"
            ),
            {"at": at(35), "billable": True},
        )
        await conn.execute(
            text(
                "INSERT INTO dev_task (ticket_id, tracker, external_id, specialist_key,"
                " developer_key, statement, status, closed, created_at, updated_at)"
                " VALUES (3, 'redmine', '77', 'olga', 'petr', 'fix', 'done', :closed,"
                " :created, :updated)"
            ),
            {"created": at(10), "updated": at(20), "closed": True},
        )


async def test_the_upgrade_writes_events_for_tickets_made_before_it(db_url: str) -> None:
    database = Database(db_url)
    try:
        await upgrade(database, "0004")
        assert await current_revision(database) == "0004"
        await seed_0004(database)
        await upgrade(database)
        assert await current_revision(database) == HEAD_REVISION
        async with database.unit_of_work() as uow:
            history = {
                ticket_id: [
                    (e.kind, e.actor_kind, e.actor, e.at, e.source)
                    for e in await uow.events.for_ticket(ticket_id=ticket_id)
                ]
                for ticket_id in (1, 2, 3)
            }
            assigned = (await uow.events.for_ticket(ticket_id=2, kinds=["assigned"]))[0]
            time = (await uow.events.for_ticket(ticket_id=3, kinds=["time_recorded"]))[0]
    finally:
        await database.dispose()

    def utc(minutes: int) -> datetime:
        return at(minutes).replace(tzinfo=UTC)

    assert history[1] == [("created", "helpdesk", None, utc(1), "backfill")]
    assert history[2] == [
        ("created", "helpdesk", None, utc(1), "backfill"),
        ("assigned", "person", "ivan", utc(5), "backfill"),
    ]
    assert assigned.changes == {"assignee": [None, "olga"], "department": [None, "support"]}
    assert assigned.detail == {"how": "button"}
    assert history[3] == [
        ("created", "helpdesk", None, utc(1), "backfill"),
        ("assigned", "helpdesk", None, utc(6), "backfill"),
        ("dev_task_created", "person", "olga", utc(10), "backfill"),
        ("dev_task_done", "system", None, utc(20), "backfill"),
        ("closed", "helpdesk", None, utc(30), "backfill"),
        ("time_recorded", "person", "olga", utc(35), "backfill"),
    ]
    assert time.detail == {"minutes": 45, "billable": True, "round": 1}


async def test_a_reply_waiting_in_the_outbox_keeps_its_target_through_0006(db_url: str) -> None:
    database = Database(db_url)
    try:
        await upgrade(database, "0005")
        async with database.engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO telegram_message (id, kind, chat_id, created_at)"
                     " VALUES (1, 'card', -100, :at), (2, 'reminder', -100, :at)"),
                {"at": T0},
            )  # fmt: skip
            await conn.execute(
                text(
                    "INSERT INTO outbox (id, chat_id, op, target_id, payload, status, attempts,"
                    " not_before, created_at) VALUES"
                    " (1, -100, 'send', 2, :waiting, 'pending', 0, :at, :at),"
                    " (2, -100, 'send', 2, :sent, 'sent', 0, :at, :at)"
                ),
                {
                    "waiting": '{"text": "Reminder", "reply_to_row": 1}',
                    "sent": '{"text": "old", "reply_to_row": 1}',
                    "at": T0,
                },
            )
        await upgrade(database)
        async with database.engine.connect() as conn:
            rows = (
                await conn.execute(text("SELECT id, reply_to_id FROM outbox ORDER BY id"))
            ).all()
        async with database.unit_of_work() as uow:
            waiting = await uow.session.get(OutboxRow, 1)
    finally:
        await database.dispose()
    assert [tuple(r) for r in rows] == [(1, 1), (2, None)], "only rows still to be sent move"
    assert waiting is not None
    assert waiting.payload == {"text": "Reminder"}
