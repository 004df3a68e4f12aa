"""Burst digests: the pace estimate, which cards are withdrawn, pages, folding, bring-up."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select, update

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from dispatch.cards import CardPublisher
from dispatch.digests.board import BURST_PAGE, Digests
from dispatch.digests.burst import BurstDigests, plan_withdrawal
from dispatch.digests.pace import ChatPace
from dispatch.sla.policies import SlaTarget
from dispatch.sla.views import SlaNotice
from storage.db import Database
from storage.models import MessageKind, OutboxRow, OutboxStatus, TelegramMessageRow
from storage.outbox_repository import QueuedCall
from tests.support.reminders import Clock, Services, routing_with, services


def test_a_fresh_group_takes_one_call_a_second_then_waits_for_the_minute() -> None:
    waits = ChatPace().waits([], 25, group=True)
    assert waits[:20] == [float(n) for n in range(20)]
    assert waits[20] == 60.0, "the 21st call waits for the first one's minute to pass"
    assert ChatPace().waits([], 25, group=False)[24] == 24.0, "a private chat has no minute cap"


def test_calls_of_the_last_minute_count() -> None:
    recent = [50.0 - n for n in range(20)]  # 20 calls made 31..50 s ago
    waits = ChatPace().waits(recent, 2, group=True)
    assert waits == [10.0, 11.0], "the oldest of them leaves the window in 10 s"
    assert ChatPace(per_call=0, group_per_minute=10**9).waits(recent, 3, group=True) == [0.0] * 3


def call(n: int, *, priority: str = "normal", card: bool = True) -> QueuedCall:
    return QueuedCall(
        outbox_id=n,
        sending=False,
        card=card,
        ticket_id=n,
        ticket_state="unassigned",
        priority=priority,
        target_id=n,
    )


def test_plan_withdraws_every_new_card_once_one_would_wait_too_long() -> None:
    queue = [call(n) for n in range(25)]
    waits = ChatPace().waits([], 25, group=True)
    assert plan_withdrawal(queue[:20], waits[:20], limit=30, urgent=frozenset(), room=0) == []
    chosen = plan_withdrawal(queue, waits, limit=30, urgent=frozenset(), room=0)
    assert [c.outbox_id for c in chosen] == list(range(25)), "the whole backlog, not the tail"


def test_plan_keeps_urgent_cards_that_still_go_in_time_and_other_calls() -> None:
    queue = [call(0, card=False), call(1), call(2, priority="urgent"), *map(call, range(3, 30))]
    waits = ChatPace().waits([], len(queue), group=True)
    chosen = plan_withdrawal(queue, waits, limit=30, urgent=frozenset({"urgent"}), room=0)
    ids = [c.outbox_id for c in chosen]
    assert 0 not in ids, "only new cards are withdrawn"
    assert 2 not in ids, "the urgent card keeps its place"
    assert ids == [1, *range(3, 30)]


def test_plan_leaves_a_lone_card_unless_a_waiting_digest_takes_it() -> None:
    waits = [45.0]
    assert plan_withdrawal([call(1)], waits, limit=30, urgent=frozenset(), room=0) == []
    assert plan_withdrawal([call(1)], waits, limit=30, urgent=frozenset(), room=3) == [call(1)]
    assert (
        plan_withdrawal([call(1), call(2)], [1.0, 2.0], limit=30, urgent=frozenset(), room=0) == []
    )
    busy = plan_withdrawal(
        [call(1), call(2)], [1.0, 2.0], limit=30, urgent=frozenset(), room=0, busy=True
    )
    assert len(busy) == 2, "right after a burst digest, new cards join the digests"


def bursts(s: Services) -> BurstDigests:
    renderer = TelegramRenderer(Texts("en"), s.routing.tz)
    digests = Digests(s.db, s.routing, renderer, CardPublisher(s.routing, renderer), clock=s.clock)
    return BurstDigests(s.db, s.routing, digests, clock=s.clock, monotonic=lambda: 0.0)


async def digest_sends(s: Services) -> list[OutboxRow]:
    return [row for row, _ in await s.outbox(MessageKind.DIGEST) if row.op == "send"]


async def test_a_burst_is_listed_in_pages_and_later_tickets_fold_into_the_open_one(
    database: Database,
) -> None:
    s = services(database, routing_with(always_nag_priorities="[urgent]"), Clock())
    for n in range(1, 26):
        await s.new_ticket(str(n), priority="urgent" if n == 3 else "normal")
    burst = bursts(s)
    result = await burst.run_pass()
    assert (result.withdrawn, result.digests) == (24, 2), "all but the urgent card, 20 a page"
    pages = await digest_sends(s)
    first = pages[0].payload
    assert "20 new tickets at once" in first["text"]
    assert "#N-1</b> s · normal" in first["text"]
    buttons = [b for row in first["reply_markup"]["inline_keyboard"] for b in row]
    assert len(buttons) == BURST_PAGE
    assert all(b["callback_data"].startswith("ng:s:") for b in buttons)
    assert "4 new tickets at once" in pages[1].payload["text"]
    cards = [row for row, _ in await s.outbox(MessageKind.CARD) if row.op == "send"]
    assert [row.ticket_id for row in cards if row.status == OutboxStatus.PENDING] == [3]

    for n in range(26, 30):  # more tickets while the last page still waits to go
        await s.new_ticket(str(n))
    result = await burst.run_pass()
    assert (result.withdrawn, result.digests) == (4, 0), "folded into the waiting page"
    pages = await digest_sends(s)
    assert len(pages) == 2
    assert "8 new tickets at once" in pages[1].payload["text"]
    assert (await burst.run_pass()).withdrawn == 0, "each ticket is listed once"


async def test_a_page_that_went_out_takes_no_more_tickets(database: Database) -> None:
    s = services(database, routing_with(), Clock())
    for n in range(1, 26):
        await s.new_ticket(str(n))
    burst = bursts(s)
    await burst.run_pass()
    async with database.unit_of_work() as uow:  # the sender delivered both pages
        await uow.session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.status) == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENT, sent_at=s.clock.now)
        )
        await uow.commit()
    for n in range(26, 29):
        await s.new_ticket(str(n))
    result = await burst.run_pass()
    assert (result.withdrawn, result.digests) == (3, 1), "a new page, within a minute of the last"


async def test_a_digest_button_brings_up_the_withdrawn_card_which_stays(
    database: Database,
) -> None:
    s = services(database, routing_with(), Clock())
    ids = [await s.new_ticket(str(n)) for n in range(1, 26)]
    burst = bursts(s)
    await burst.run_pass()
    assert await s.reminders.bring_up(ticket_id=ids[5])
    async with database.unit_of_work() as uow:
        kinds = (
            await uow.session.execute(
                select(TelegramMessageRow.kind).where(col(TelegramMessageRow.ticket_id) == ids[5])
            )
        ).scalars()
        assert sorted(kinds) == [MessageKind.CARD, MessageKind.WITHDRAWN]
    for n in range(26, 60):  # a second wave: the asked-for card is not withdrawn again
        await s.new_ticket(str(n))
    s.clock.advance(seconds=5)
    await burst.run_pass()
    cards = [row for row, _ in await s.outbox(MessageKind.CARD) if row.op == "send"]
    assert [row.ticket_id for row in cards if row.status == OutboxStatus.PENDING] == [ids[5]]


async def test_a_copy_of_a_card_sent_as_a_reply_is_never_withdrawn(database: Database) -> None:
    # An SLA breach (or a hand-over to the next line) posts the card again as a reply to
    # it: in a burst it must still go out as itself, not become a digest line.
    s = services(database, routing_with(), Clock())
    first = await s.new_ticket("1")
    async with database.unit_of_work() as uow:  # its card was delivered
        await uow.session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.status) == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENT, sent_at=s.clock.now)
        )
        await uow.commit()
    for n in range(2, 27):
        await s.new_ticket(str(n))
    renderer = TelegramRenderer(Texts("en"), s.routing.tz)
    breach = SlaNotice(
        first, "N-1", "s", SlaTarget.FIRST_RESPONSE, True, timedelta(0), timedelta(minutes=15)
    )
    async with database.unit_of_work() as uow:
        ticket = await uow.tickets.get(ticket_id=first)
        assert ticket is not None
        await CardPublisher(s.routing, renderer).post_copy(
            uow, ticket, chat_id=s.routing.dispatch.chat_id, alert=breach
        )
        await uow.commit()
    result = await bursts(s).run_pass()
    assert result.withdrawn == 25, "the new cards only"
    cards = [row for row, _ in await s.outbox(MessageKind.CARD) if row.op == "send"]
    (copy,) = [row for row in cards if row.status == OutboxStatus.PENDING]
    assert copy.ticket_id == first
    assert copy.reply_to_id is not None
    assert "no first response within 15 min" in copy.payload["text"]
