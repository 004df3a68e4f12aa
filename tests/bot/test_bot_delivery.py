"""The transactional outbox on SQLite and PostgreSQL, with a recording transport."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import select

from bot.delivery.limits import TelegramRateLimiter
from bot.delivery.sender import DeliveryResult, OutboxSender, Outcome
from bot.delivery.watch import BotApiReachability
from storage.db import Database
from storage.models import OutboxOp, OutboxRow, OutboxStatus, TicketRow
from storage.types import utcnow


@dataclass
class RecordingTransport:
    """Answers from a script per chat (default: delivered) and records every call."""

    script: dict[int, list[DeliveryResult]] = field(default_factory=dict)
    calls: list[tuple[str, int, int | None, dict[str, Any]]] = field(default_factory=list)
    next_id: int = 100

    async def deliver(
        self, *, op: OutboxOp, chat_id: int, message_id: int | None, payload: dict[str, Any]
    ) -> DeliveryResult:
        self.calls.append((op.value, chat_id, message_id, payload))
        queued = self.script.get(chat_id)
        if queued:
            return queued.pop(0)
        self.next_id += 1
        return DeliveryResult(Outcome.DELIVERED, message_id=self.next_id)


def free_limiter() -> TelegramRateLimiter:
    return TelegramRateLimiter(
        per_chat_interval=0, group_per_minute=10_000, global_per_second=10_000, margin=0
    )


async def make_ticket(db: Database) -> int:
    async with db.unit_of_work() as uow:
        ticket = await uow.tickets.create(
            TicketRow(source="generic", external_id="1", number="1", subject="s")
        )
        await uow.commit()
    assert ticket.id is not None
    return ticket.id


async def drain(sender: OutboxSender, db: Database, rounds: int = 50) -> None:
    for _ in range(rounds):
        await sender.pass_once()
        await asyncio.sleep(0.01)
        async with db.unit_of_work() as uow:
            if await uow.outbox.backlog() == 0:
                return


async def test_edits_before_delivery_collapse_into_the_send(database: Database) -> None:
    ticket_id = await make_ticket(database)
    async with database.unit_of_work() as uow:
        card = await uow.messages.create(ticket_id=ticket_id, kind="card", chat_id=-100)
        await uow.outbox.enqueue_send(message=card, payload={"text": "v1"}, ticket_id=ticket_id)
        await uow.outbox.enqueue_edit(message=card, payload={"text": "v2"}, ticket_id=ticket_id)
        await uow.outbox.enqueue_edit(message=card, payload={"text": "v3"}, ticket_id=ticket_id)
        await uow.commit()
    transport = RecordingTransport()
    await drain(OutboxSender(database, transport, free_limiter()), database)
    assert [(op, text["text"]) for op, _, _, text in transport.calls] == [("send", "v3")]


async def test_an_edit_without_buttons_removes_them_from_a_pending_send(
    database: Database,
) -> None:
    ticket_id = await make_ticket(database)
    buttons = {"inline_keyboard": [[{"text": "Support", "callback_data": "dp:d:1:support:"}]]}
    async with database.unit_of_work() as uow:
        earlier = await uow.messages.create(ticket_id=ticket_id, kind="card", chat_id=-100)
        card = await uow.messages.create(ticket_id=ticket_id, kind="card", chat_id=-100)
        await uow.outbox.enqueue_send(
            message=card,
            payload={"text": "v1", "reply_markup": buttons},
            ticket_id=ticket_id,
            reply_to=earlier,
        )
        await uow.outbox.enqueue_edit(
            message=card, payload={"text": "assigned"}, ticket_id=ticket_id
        )
        await uow.commit()
        row = (await uow.session.execute(select(OutboxRow))).scalar_one()
    assert row.payload == {"text": "assigned"}
    assert row.reply_to_id == earlier.id, "where it replies to stays"


async def test_pending_edits_of_a_delivered_message_collapse_into_the_last(
    database: Database,
) -> None:
    ticket_id = await make_ticket(database)
    transport = RecordingTransport()
    sender = OutboxSender(database, transport, free_limiter())
    async with database.unit_of_work() as uow:
        card = await uow.messages.create(ticket_id=ticket_id, kind="card", chat_id=-100)
        await uow.outbox.enqueue_send(message=card, payload={"text": "v1"}, ticket_id=ticket_id)
        await uow.commit()
    await drain(sender, database)
    async with database.unit_of_work() as uow:
        for version in ("v2", "v3", "v4"):
            await uow.outbox.enqueue_edit(
                message=card, payload={"text": version}, ticket_id=ticket_id
            )
        await uow.commit()
    await drain(sender, database)
    assert [(op, mid, p["text"]) for op, _, mid, p in transport.calls] == [
        ("send", None, "v1"),
        ("edit", 101, "v4"),
    ]


async def test_calls_to_one_chat_keep_their_order_and_429_holds_only_that_chat(
    database: Database,
) -> None:
    transport = RecordingTransport(
        script={7: [DeliveryResult(Outcome.RETRY_AFTER, retry_after=0.3)]}
    )
    async with database.unit_of_work() as uow:
        for n in range(3):
            uow.outbox.enqueue_plain(chat_id=7, payload={"text": f"a{n}"})
            uow.outbox.enqueue_plain(chat_id=8, payload={"text": f"b{n}"})
        await uow.commit()
    sender = OutboxSender(database, transport, free_limiter())
    await drain(sender, database, rounds=200)
    to_7 = [p["text"] for _, chat, _, p in transport.calls if chat == 7]
    assert to_7 == ["a0", "a0", "a1", "a2"]  # the 429'd one again, then in order
    order = [p["text"] for _, _, _, p in transport.calls]
    assert order.index("b2") < order.index("a1"), "chat 8 was held up by chat 7's 429"


async def test_network_errors_are_retried_until_delivered(database: Database) -> None:
    transient = DeliveryResult(Outcome.TRANSIENT, error="502")
    transport = RecordingTransport(script={5: [transient, transient, transient]})
    async with database.unit_of_work() as uow:
        uow.outbox.enqueue_plain(chat_id=5, payload={"text": "hello"})
        await uow.commit()
    sender = OutboxSender(database, transport, free_limiter(), max_backoff=0.05)
    await drain(sender, database, rounds=300)
    assert len(transport.calls) == 4
    async with database.unit_of_work() as uow:
        row = (await uow.session.execute(select(OutboxRow))).scalar_one()
    assert row.status == OutboxStatus.SENT
    assert row.attempts == 3


async def test_a_chat_that_blocked_the_bot_is_marked_and_not_retried(database: Database) -> None:
    transport = RecordingTransport(
        script={9: [DeliveryResult(Outcome.BLOCKED, error="bot was blocked by the user")]}
    )
    async with database.unit_of_work() as uow:
        uow.outbox.enqueue_plain(chat_id=9, payload={"text": "one"})
        uow.outbox.enqueue_plain(chat_id=9, payload={"text": "two"})
        await uow.commit()
    await drain(OutboxSender(database, transport, free_limiter()), database)
    assert len(transport.calls) == 1
    async with database.unit_of_work() as uow:
        assert await uow.outbox.blocked_chats() == {9}
        statuses = (await uow.session.execute(select(OutboxRow.status))).scalars().all()
    assert statuses == [OutboxStatus.BLOCKED, OutboxStatus.BLOCKED]


async def test_a_send_claimed_by_a_crashed_sender_is_delivered_after_its_lease(
    database: Database,
) -> None:
    async with database.unit_of_work() as uow:
        uow.outbox.enqueue_plain(chat_id=3, payload={"text": "x"})
        await uow.commit()
    async with database.unit_of_work() as uow:
        row = (await uow.session.execute(select(OutboxRow))).scalar_one()
        assert row.id is not None
        # A sender claimed it and died: the lease is still running.
        now = utcnow()
        assert (
            await uow.outbox.claim(row_id=row.id, now=now, lease_until=now + timedelta(seconds=30))
            is not None
        )
        await uow.commit()
    transport = RecordingTransport()
    sender = OutboxSender(database, transport, free_limiter())
    await sender.pass_once()
    await asyncio.sleep(0.05)
    assert transport.calls == [], "a row under a live lease must not be sent twice"
    async with database.unit_of_work() as uow:
        await uow.session.execute(
            OutboxRow.__table__.update().values(locked_until=utcnow() - timedelta(seconds=1))  # type: ignore[attr-defined]
        )
        await uow.commit()
    await drain(sender, database)
    assert len(transport.calls) == 1


async def test_an_edit_folded_after_the_pass_read_the_send_is_what_goes_out(
    database: Database,
) -> None:
    ticket_id = await make_ticket(database)
    async with database.unit_of_work() as uow:
        card = await uow.messages.create(ticket_id=ticket_id, kind="card", chat_id=-100)
        await uow.outbox.enqueue_send(
            message=card, payload={"text": "unassigned"}, ticket_id=ticket_id
        )
        await uow.commit()
    transport = RecordingTransport()
    sender = OutboxSender(database, transport, free_limiter())
    async with database.unit_of_work() as uow:
        (head,) = await uow.outbox.heads(limit=10)  # what a pass has read ...
    async with database.unit_of_work() as uow:  # ... then an assignment commits ...
        await uow.outbox.enqueue_edit(
            message=card, payload={"text": "assigned to Ivan"}, ticket_id=ticket_id
        )
        await uow.commit()
    await sender._deliver(head)  # ... and the sender delivers the row it read
    assert [p["text"] for _, _, _, p in transport.calls] == ["assigned to Ivan"]


async def test_when_the_bot_api_is_back_backoffs_end_but_a_429_is_waited_out(
    database: Database,
) -> None:
    reachability = BotApiReachability()
    transport = RecordingTransport(
        script={
            5: [DeliveryResult(Outcome.TRANSIENT, error="502")] * 6,
            6: [DeliveryResult(Outcome.RETRY_AFTER, retry_after=30, error="429")],
        }
    )
    async with database.unit_of_work() as uow:
        uow.outbox.enqueue_plain(chat_id=5, payload={"text": "card"})
        uow.outbox.enqueue_plain(chat_id=6, payload={"text": "limited"})
        await uow.commit()
    async with database.unit_of_work() as uow:  # both have failed for a while already
        table = OutboxRow.__table__  # type: ignore[attr-defined]
        await uow.session.execute(table.update().where(table.c.chat_id == 5).values(attempts=10))
        await uow.session.execute(table.update().where(table.c.chat_id == 6).values(attempts=3))
        await uow.commit()
    sender = OutboxSender(
        database, transport, free_limiter(), max_backoff=3600, reachability=reachability
    )
    await drain(sender, database, rounds=30)
    calls = len(transport.calls)
    assert calls == 2, "each row tried once, then backing off (minutes) or waiting (30 s)"
    reachability.unreachable()
    reachability.answered()  # e.g. the long poll got an answer
    await drain(sender, database, rounds=30)
    assert [chat for _, chat, _, _ in transport.calls[calls:]] == [5]
    async with database.unit_of_work() as uow:
        rows = {
            row.chat_id: row for row in (await uow.session.execute(select(OutboxRow))).scalars()
        }
    assert rows[6].status == OutboxStatus.PENDING
    assert (rows[6].not_before - utcnow()).total_seconds() > 25, "retry_after obeyed exactly"


@dataclass
class StatementLog:
    """The transactions and statements the database saw (SQLAlchemy engine events)."""

    begins: int = 0
    statements: list[str] = field(default_factory=list)

    def attach(self, db: Database) -> None:
        engine = db.engine.sync_engine
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "before_cursor_execute", self._statement)

    def _begin(self, _conn: Any) -> None:
        self.begins += 1

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(" ".join(statement.split()))

    def count(self, prefix: str) -> int:
        return sum(s.startswith(prefix) for s in self.statements)


async def run_until_delivered(
    sender: OutboxSender, db: Database, transport: RecordingTransport, calls: int
) -> None:
    runner = asyncio.create_task(sender.run())
    try:
        for _ in range(500):
            if len(transport.calls) >= calls:
                async with db.unit_of_work() as uow:
                    if await uow.outbox.backlog() == 0:
                        break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # time for passes that should not happen
    finally:
        sender.stop()
        await runner


async def test_a_chats_queue_goes_out_with_one_transaction_per_call_and_no_empty_pass(
    database: Database,
) -> None:
    ticket_id = await make_ticket(database)
    async with database.unit_of_work() as uow:
        for n in range(5):
            card = await uow.messages.create(ticket_id=ticket_id, kind="card", chat_id=-100)
            await uow.outbox.enqueue_send(
                message=card, payload={"text": f"card {n}"}, ticket_id=ticket_id
            )
        await uow.commit()
    transport = RecordingTransport()
    log = StatementLog()
    log.attach(database)
    await run_until_delivered(
        OutboxSender(database, transport, free_limiter()), database, transport, calls=5
    )
    assert [p["text"] for _, _, _, p in transport.calls] == [f"card {n}" for n in range(5)]
    # One pass claims the first card; each record claims the next in its transaction.
    assert log.count("WITH RECURSIVE pending_chat") == 1, "one pass, no empty ones"
    sender_begins = log.begins - log.count("SELECT count(")  # the test's backlog checks
    assert sender_begins == 1 + 5, log.statements


async def test_a_replys_message_id_is_sent_but_not_written_into_the_outbox(
    database: Database,
) -> None:
    ticket_id = await make_ticket(database)
    async with database.unit_of_work() as uow:
        card = await uow.messages.create(ticket_id=ticket_id, kind="card", chat_id=-100)
        await uow.outbox.enqueue_send(message=card, payload={"text": "card"}, ticket_id=ticket_id)
        reply = await uow.messages.create(ticket_id=ticket_id, kind="note", chat_id=-100)
        await uow.outbox.enqueue_send(
            message=reply, payload={"text": "note"}, ticket_id=ticket_id, reply_to=card
        )
        await uow.commit()
    transport = RecordingTransport()
    log = StatementLog()
    log.attach(database)
    await run_until_delivered(
        OutboxSender(database, transport, free_limiter()), database, transport, calls=2
    )
    assert transport.calls[1][3] == {"text": "note", "reply_to_message_id": 101}
    assert not [s for s in log.statements if s.startswith("UPDATE outbox SET payload")]
    async with database.unit_of_work() as uow:
        rows = (await uow.session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars()
        assert [row.payload for row in rows] == [{"text": "card"}, {"text": "note"}]


async def test_behind_a_held_backlog_a_pass_looks_for_no_heads_and_waits_for_the_first(
    database: Database,
) -> None:
    ticket_id = await make_ticket(database)
    async with database.unit_of_work() as uow:
        for chat_id in range(1, 6):
            card = await uow.messages.create(ticket_id=ticket_id, kind="card", chat_id=chat_id)
            await uow.outbox.enqueue_send(message=card, payload={"text": "t"}, ticket_id=ticket_id)
        await uow.commit()
        rows = (await uow.session.execute(select(OutboxRow))).scalars().all()
        for n, row in enumerate(rows):
            row.not_before = utcnow() + timedelta(seconds=30 + n)  # waiting out a backoff
        await uow.commit()
    transport = RecordingTransport()
    log = StatementLog()
    log.attach(database)
    wait = await OutboxSender(database, transport, free_limiter(), poll_interval=60).pass_once()
    assert 29 < wait <= 30
    assert log.count("WITH RECURSIVE pending_chat") == 0
    assert transport.calls == []
