"""Reminders with a controllable clock: intervals, digests, escalation, working hours."""

from __future__ import annotations

from datetime import UTC, datetime

from dispatch.assignment import TapOutcome
from dispatch.models import HelpdeskEvent, TicketData, TicketEventKind
from storage.db import Database
from storage.models import OutboxStatus
from tests.support.actors import telegram_actor
from tests.support.reminders import Clock, routing_with, services

IVAN = 1001


async def test_a_reminder_at_each_interval_and_none_after_assignment(database: Database) -> None:
    s = services(database, routing_with(), Clock())
    ticket = await s.new_ticket("1")
    s.clock.advance(minutes=4, seconds=59)
    assert (await s.reminders.run_pass()).reminded == 0
    s.clock.advance(seconds=1)
    assert (await s.reminders.run_pass()).reminded == 1
    s.clock.advance(minutes=2)
    assert (await s.reminders.run_pass()).reminded == 0, "counted from the last reminder"
    s.clock.advance(minutes=3)
    assert (await s.reminders.run_pass()).reminded == 1

    reminders = await s.outbox("reminder")
    sends = [row for row, _ in reminders if row.op == "send"]
    assert len(sends) == 2
    assert all(row.reply_to_id for row in sends), "a reply to the card"
    assert "Reminder 2: not assigned for 10 min" in sends[1].payload["text"]
    markup = sends[1].payload["reply_markup"]["inline_keyboard"]
    # The card's buttons: its dispatchers are specialists too, so "take it myself" (17.10).
    labels = [b["text"] for row in markup for b in row]
    assert labels == ["Support", "Development", "🙋 Take it myself"]
    deletes = [row for row, _ in reminders if row.op == "delete"]
    assert len(deletes) == 1, "the previous reminder is deleted"

    result = await s.assignment.assign(
        ticket_id=ticket,
        department_key="support",
        person_key="olga",
        actor=telegram_actor(s.routing, IVAN),
    )
    assert result.outcome == TapOutcome.OK
    s.clock.advance(minutes=30)
    assert (await s.reminders.run_pass()).reminded == 0
    assert len([r for r, _ in await s.outbox("reminder") if r.op == "delete"]) == 2


async def test_a_queued_but_unsent_reminder_is_dropped_on_assignment(database: Database) -> None:
    s = services(database, routing_with(), Clock())
    ticket = await s.new_ticket("1")
    s.clock.advance(minutes=5)
    await s.reminders.run_pass()
    (send,) = await s.live_sends("reminder")
    assert send.status == OutboxStatus.PENDING
    await s.assignment.assign(
        ticket_id=ticket,
        department_key="support",
        person_key="ivan",
        actor=telegram_actor(s.routing, IVAN),
    )
    assert await s.live_sends("reminder") == [], "dropped, not delivered"


async def test_closing_in_the_helpdesk_stops_reminders(database: Database) -> None:
    s = services(database, routing_with(), Clock())
    await s.new_ticket("1")
    closed = TicketData(external_id="1", number="N-1", subject="s", closed=True)
    await s.intake.accept_event(HelpdeskEvent("generic", TicketEventKind.CLOSED, "c", closed))
    s.clock.advance(minutes=20)
    assert (await s.reminders.run_pass()).reminded == 0


async def test_above_the_threshold_one_digest_replaces_single_reminders(
    database: Database,
) -> None:
    s = services(database, routing_with(digest_threshold="5"), Clock())
    for n in range(6):
        await s.new_ticket(str(n))
    s.clock.advance(minutes=5)
    result = await s.reminders.run_pass()
    assert (result.reminded, result.digest) == (0, 6)
    (digest,) = await s.live_sends("digest")
    assert "6 tickets are waiting for an assignee" in digest.payload["text"]
    buttons = [b for row in digest.payload["reply_markup"]["inline_keyboard"] for b in row]
    assert len(buttons) == 6
    assert all(b["callback_data"].startswith("ng:s:") for b in buttons)
    s.clock.advance(minutes=5)
    await s.reminders.run_pass()
    rows = await s.outbox("digest")
    assert [row.op for row, _ in rows] == ["send", "delete", "send"], "the old digest goes"


async def test_escalation_to_leads_after_n_reminders_and_every_n_after(
    database: Database,
) -> None:
    s = services(database, routing_with(escalate_after="3"), Clock())
    await s.new_ticket("1")
    escalated = []
    for _ in range(6):
        s.clock.advance(minutes=5)
        escalated.append((await s.reminders.run_pass()).escalated)
    assert escalated == [0, 0, 1, 0, 0, 1]
    sends = await s.outbox("escalation")
    assert {message.chat_id for _, message in sends} == {1009}, "only the lead"
    assert "after 3 reminders" in sends[0][0].payload["text"]


HOURS = 'working_hours:\n  mon-fri: "09:00-19:00"\n  holidays: [2026-11-30]\n'


async def test_outside_working_hours_reminders_pause_except_urgent_then_a_morning_digest(
    database: Database,
) -> None:
    routing = routing_with(HOURS, always_nag_priorities="[urgent]")
    # Friday 27 Nov 2026, 18:50 Moscow = 15:50 UTC.
    s = services(database, routing, Clock(datetime(2026, 11, 27, 15, 50, tzinfo=UTC)))
    await s.new_ticket("1")
    await s.new_ticket("2")
    await s.new_ticket("3", priority="urgent")
    s.clock.advance(minutes=5)  # 18:55, still open
    assert (await s.reminders.run_pass()).reminded == 3
    s.clock.advance(minutes=10)  # 19:05: closed
    night = await s.reminders.run_pass()
    assert night.paused
    assert night.reminded == 1, "only the urgent ticket is raised at night"
    s.clock.advance(hours=24)  # Saturday
    assert (await s.reminders.run_pass()).reminded == 1
    s.clock.now = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 10:00, but a holiday
    assert (await s.reminders.run_pass()).paused
    s.clock.now = datetime(2026, 12, 1, 6, 0, 30, tzinfo=UTC)  # Tuesday 09:00:30
    morning = await s.reminders.run_pass()
    assert not morning.paused
    assert (morning.reminded, morning.digest) == (0, 3), "one digest, not a burst"


async def test_no_working_hours_means_around_the_clock(database: Database) -> None:
    s = services(database, routing_with(), Clock(datetime(2026, 11, 29, 1, 0, tzinfo=UTC)))
    await s.new_ticket("1")
    s.clock.advance(minutes=5)
    assert (await s.reminders.run_pass()).reminded == 1


async def test_a_restart_neither_loses_nor_repeats_and_downtime_collapses(
    database: Database,
) -> None:
    clock = Clock()
    first = services(database, routing_with(), clock)
    await first.new_ticket("1")
    await first.new_ticket("2")
    clock.advance(minutes=5)
    assert (await first.reminders.run_pass()).reminded == 2
    second = services(database, routing_with(), clock)  # the process restarted
    clock.advance(minutes=2)
    assert (await second.reminders.run_pass()).reminded == 0
    clock.advance(hours=2)  # down for two hours: one reminder per ticket, not 24
    assert (await second.reminders.run_pass()).reminded == 2
    assert len(await second.live_sends("reminder")) == 4


async def test_bring_up_posts_the_card_again_only_while_unassigned(database: Database) -> None:
    s = services(database, routing_with(), Clock())
    ticket = await s.new_ticket("1")
    assert await s.reminders.bring_up(ticket_id=ticket)
    assert len(await s.live_sends("reminder")) == 1
    await s.assignment.assign(
        ticket_id=ticket,
        department_key="dev",
        person_key="petr",
        actor=telegram_actor(s.routing, IVAN),
    )
    assert not await s.reminders.bring_up(ticket_id=ticket)
