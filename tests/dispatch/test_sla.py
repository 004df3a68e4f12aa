"""SLA clocks on a controllable clock: policies, pauses, stops, reopen, warnings, breaches."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from dispatch.models import TicketEventKind
from storage.db import Database
from storage.migrate import upgrade
from tests.support.actors import telegram_actor
from tests.support.reminders import Clock
from tests.support.sla import MONDAY_10, SlaServices, sla_routing, sla_services

DISPATCH, IVAN, OLGA, LENA = -1001234567890, 1001, 1002, 1009


def services(database: Database, now: datetime = MONDAY_10, **kwargs: bool) -> SlaServices:
    return sla_services(database, sla_routing(), Clock(now), **kwargs)


@pytest.mark.parametrize(
    ("fields", "policy", "first_response", "resolution"),
    [
        ({"priority": "urgent", "type": "incident"}, "critical", 15, 4 * 60),
        ({"type": "Incident"}, "incidents", 30, 8 * 60),
        ({"company": "Beta"}, "vip", 20, 6 * 60),
        ({"status": "escalated"}, "escalated", 10, 2 * 60),
        ({}, "standard", 60, 16 * 60),
        ({"company": "Acme"}, "standard", 60, 8 * 60),  # the contract's resolution time
        ({"company": "Acme", "priority": "urgent"}, "critical", 15, 8 * 60),
    ],
)
async def test_the_first_matching_policy_and_the_client_contract_set_the_targets(
    database: Database,
    fields: dict[str, str],
    policy: str,
    first_response: int,
    resolution: int,
) -> None:
    s = services(database)
    clocks = await s.clocks(await s.new_ticket("1", **fields))
    assert {row.policy for row in clocks.values()} == {policy}
    assert clocks["first_response"].target_s == first_response * 60
    assert clocks["resolution"].target_s == resolution * 60


async def test_no_policy_no_clock_and_a_priority_raised_later_tightens_the_targets(
    database: Database,
) -> None:
    s = services(database)
    ticket = await s.new_ticket("1")
    s.clock.advance(minutes=10)
    await s.send("1", TicketEventKind.UPDATED, priority="urgent")
    clocks = await s.clocks(ticket)
    assert clocks["first_response"].policy == "critical"
    assert clocks["first_response"].target_s == 15 * 60
    assert clocks["first_response"].used_s == 10 * 60, "the time used so far counts"
    assert clocks["first_response"].calendar == "24x7"


async def test_working_hours_count_across_the_weekend_for_the_warning(
    database: Database,
) -> None:
    # Friday 27 November, 17:30 Moscow: 30 minutes of the first hour are left on Friday.
    s = services(database, datetime(2026, 11, 27, 14, 30, tzinfo=UTC))
    ticket = await s.new_ticket("1")
    clock = (await s.clocks(ticket))["first_response"]
    # 80 % of an hour is 48 minutes: 30 on Friday, 18 on Monday morning.
    assert clock.next_check_at == datetime(2026, 11, 30, 6, 18, tzinfo=UTC)
    s.clock.now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # Saturday noon
    assert (await s.sla.run_pass()).warned == 0
    s.clock.now = datetime(2026, 11, 30, 6, 17, tzinfo=UTC)
    assert (await s.sla.run_pass()).warned == 0
    s.clock.now = datetime(2026, 11, 30, 6, 19, tzinfo=UTC)
    assert (await s.sla.run_pass()).warned == 1
    (warning,) = [text for text in await s.texts(DISPATCH) if "left to answer" in text]
    assert "⏱ 11 min left to answer #N-1" in warning, "working minutes, not wall-clock ones"


async def test_waiting_for_the_client_pauses_the_clocks(database: Database) -> None:
    s = services(database)
    ticket = await s.new_ticket("1", priority="urgent")
    s.clock.advance(minutes=5)
    await s.send("1", TicketEventKind.UPDATED, status="waiting")
    assert (await s.ticket(ticket)).stage == "waiting_client"
    s.clock.advance(hours=3)
    assert (await s.sla.run_pass()).checked == 0, "a paused clock has nothing due"
    await s.send("1", TicketEventKind.UPDATED, status="open")
    clocks = await s.clocks(ticket)
    assert clocks["first_response"].used_s == 5 * 60
    assert clocks["resolution"].used_s == 5 * 60
    assert clocks["resolution"].since == s.clock.now
    stages = await s.events(ticket, "stage_changed")
    assert [row.changes["stage"] for row in stages] == [
        ["classification", "waiting_client"],
        ["waiting_client", "classification"],
    ]
    assert stages[0].detail == {"status": "waiting"}


async def test_feedback_stops_the_resolution_clock_and_leaving_it_runs_it_again(
    database: Database,
) -> None:
    s = services(database)
    ticket = await s.new_ticket("1", priority="urgent")
    await s.staff_reply("1", "r1")
    s.clock.advance(hours=1)
    await s.send("1", TicketEventKind.UPDATED, status="answered")
    resolution = (await s.clocks(ticket))["resolution"]
    assert (resolution.used_s, resolution.done_at) == (3600, s.clock.now)
    s.clock.advance(hours=5)  # past the 4 h target, but the answer is given
    assert (await s.sla.run_pass()).checked == 0
    await s.send("1", TicketEventKind.UPDATED, status="open")  # "not solved", says the client
    resolution = (await s.clocks(ticket))["resolution"]
    assert (resolution.used_s, resolution.done_at, resolution.since) == (3600, None, s.clock.now)
    first = (await s.clocks(ticket))["first_response"]
    assert first.done_at is not None, "the first response stays given"


async def test_a_reopened_ticket_counts_on_and_is_warned_again(database: Database) -> None:
    s = services(database)
    ticket = await s.new_ticket("1", priority="urgent")
    await s.staff_reply("1", "r1")
    s.clock.advance(hours=3, minutes=20)  # past 80 % of 4 h
    assert (await s.sla.run_pass()).warned == 1
    await s.send("1", TicketEventKind.CLOSED, closed=True)
    s.clock.advance(days=1)
    assert (await s.sla.run_pass()).checked == 0
    await s.send("1", TicketEventKind.REOPENED, closed=False)
    resolution = (await s.clocks(ticket))["resolution"]
    assert resolution.used_s == 200 * 60, "the time already used counts"
    assert not resolution.warned
    s.clock.advance(minutes=1)
    assert (await s.sla.run_pass()).warned == 1, "warned again after the reopen"
    s.clock.advance(minutes=40)
    assert (await s.sla.run_pass()).breached == 1


async def test_the_first_staff_reply_stops_the_first_response_clock(database: Database) -> None:
    s = services(database)
    ticket = await s.new_ticket("1", priority="urgent")
    s.clock.advance(minutes=7)
    await s.staff_reply("1", "r1")
    first = (await s.clocks(ticket))["first_response"]
    assert (first.used_s, first.done_at, first.next_check_at) == (420, s.clock.now, None)
    s.clock.advance(hours=1)
    result = await s.sla.run_pass()
    assert result.warned == result.breached == 0


async def test_without_replies_from_the_helpdesk_the_assignment_is_the_first_response(
    database: Database,
) -> None:
    s = services(database, tells_replies=False)
    ticket = await s.new_ticket("1", priority="urgent")
    card = (await s.texts(DISPATCH))[0]
    assert "the assignment counts as the first response" in card
    s.clock.advance(minutes=9)
    await s.assignment.assign(
        ticket_id=ticket,
        department_key="support",
        person_key="olga",
        actor=telegram_actor(s.routing, IVAN),
    )
    first = (await s.clocks(ticket))["first_response"]
    assert (first.used_s, first.done_at) == (540, s.clock.now)
    assert first.by_assignment


async def test_warning_to_the_assignee_and_breach_to_dispatch_and_leads_once_each(
    database: Database,
) -> None:
    s = services(database)
    ticket = await s.new_ticket("1", priority="urgent", url="https://help.example/1")
    await s.assignment.assign(
        ticket_id=ticket,
        department_key="support",
        person_key="olga",
        actor=telegram_actor(s.routing, IVAN),
    )
    s.clock.advance(minutes=12)
    assert (await s.sla.run_pass()).warned == 1
    (warning,) = [row for row in await s.sends(OLGA) if "left to answer" in row.payload["text"]]
    assert "⏱ 3 min left to answer #N-1" in warning.payload["text"]
    assert warning.payload["reply_markup"]["inline_keyboard"][0][0]["url"] == (
        "https://help.example/1"
    )
    assert (await s.sla.run_pass()).warned == 0, "once"
    s.clock.advance(minutes=3)
    assert (await s.sla.run_pass()).breached == 1
    for chat in (DISPATCH, LENA):
        (breach,) = [t for t in await s.texts(chat) if "no first response within 15 min" in t]
        assert "🔥 First response overdue by 0 min" in breach
    s.clock.advance(hours=1)
    again = await s.sla.run_pass()
    assert (again.warned, again.breached) == (0, 0), "once"
    kinds = [row.kind for row in await s.events(ticket, "sla_warned", "sla_breached")]
    assert kinds == ["sla_warned", "sla_breached"]


async def test_an_unassigned_ticket_s_warning_is_its_card_with_its_buttons_in_dispatch(
    database: Database,
) -> None:
    s = services(database)
    await s.new_ticket("1", priority="urgent")
    s.clock.advance(minutes=12)
    await s.sla.run_pass()
    card, warning = await s.sends(DISPATCH)
    assert "⏱ 3 min left to answer #N-1" in warning.payload["text"]
    rows = warning.payload["reply_markup"]["inline_keyboard"]
    buttons = [b["text"] for row in rows for b in row]
    # The routing's dispatcher is also a specialist: the card offers "take it myself" (17.10).
    assert buttons == ["Support", "Development", "🙋 Take it myself"]
    assert warning.reply_to_id == card.target_id, "a reply to the card"


async def test_a_restart_neither_loses_nor_repeats_a_warning(database: Database) -> None:
    clock = Clock(MONDAY_10)
    first = sla_services(database, sla_routing(), clock)
    await first.new_ticket("1", priority="urgent")
    await first.new_ticket("2", priority="urgent")
    clock.advance(minutes=12)
    assert (await first.sla.run_pass()).warned == 2
    second = sla_services(database, sla_routing(), clock)  # the process restarted
    assert (await second.sla.run_pass()).warned == 0
    clock.advance(hours=2)  # down past the breach: one message each, not a warning too
    result = await second.sla.run_pass()
    assert (result.warned, result.breached) == (0, 2)
    assert (await second.sla.run_pass()).checked == 0


async def test_many_at_once_come_as_one_digest_per_chat(database: Database) -> None:
    s = services(database)
    for n in range(7):
        await s.new_ticket(str(n), priority="urgent")
    s.clock.advance(minutes=12)
    assert (await s.sla.run_pass()).warned == 7
    (digest,) = [t for t in await s.texts(DISPATCH) if "near or past" in t]
    assert "7 tickets are near or past their SLA targets" in digest


@pytest.mark.postgres
async def test_two_instances_on_postgres_warn_and_breach_once(pg_url: str) -> None:
    database = Database(pg_url)
    await upgrade(database)
    other = Database(pg_url)
    try:
        clock = Clock(MONDAY_10)
        first = sla_services(database, sla_routing(), clock)
        second = sla_services(other, sla_routing(), clock)
        for n in range(3):
            await first.new_ticket(str(n), priority="urgent")
        for advance in (12, 4):
            clock.advance(minutes=advance)
            results = await asyncio.gather(
                *(service.sla.run_pass() for service in (first, second, first, second))
            )
            assert sum(r.warned for r in results) == (3 if advance == 12 else 0)
            assert sum(r.breached for r in results) == (0 if advance == 12 else 3)
        texts = await first.texts(DISPATCH)
        assert sum("left to answer" in t for t in texts) == 3
        assert sum("no first response within" in t for t in texts) == 3
    finally:
        await other.dispose()
        await database.dispose()


async def test_sla_lists_the_tickets_at_risk_most_urgent_first(database: Database) -> None:
    s = services(database)
    await s.new_ticket("1", priority="urgent")
    s.clock.advance(minutes=5)
    await s.new_ticket("2", priority="urgent")
    await s.new_ticket("3")  # far from its targets
    s.clock.advance(minutes=12)
    await s.sla.run_pass()
    s.clock.advance(minutes=1)
    assert await s.sla.send_list(chat_id=DISPATCH)
    listing = (await s.sends(DISPATCH))[-1].payload
    text = listing["text"]
    assert "2 tickets at risk or overdue" in text
    assert text.index("#N-1") < text.index("#N-2")
    assert "first response: 🔥 overdue by 3 min" in text
    assert "first response: ⏱ 2 min left" in text
    assert "#N-3" not in text
    rows = listing["reply_markup"]["inline_keyboard"]
    buttons = [b["callback_data"] for row in rows for b in row]
    assert buttons == ["sl:s:1", "sl:s:2"]
    assert not await s.sla.send_list(chat_id=OLGA), "the dispatch chat only"


async def test_the_sla_button_brings_up_the_card_for_dispatchers_and_leads(
    database: Database,
) -> None:
    s = services(database)
    ticket = await s.new_ticket("1", priority="urgent")
    before = len(await s.sends(DISPATCH))
    assert await s.sla.show_card(ticket_id=ticket, actor=telegram_actor(s.routing, LENA)) == "ok"
    assert len(await s.sends(DISPATCH)) == before + 1
    anna = telegram_actor(s.routing, 1004)
    assert await s.sla.show_card(ticket_id=ticket, actor=anna) == "not_allowed"
    ivan = telegram_actor(s.routing, IVAN)
    assert await s.sla.show_card(ticket_id=999, actor=ivan) == "unknown"


async def test_queue_and_mine_show_the_time_left_and_the_stage(database: Database) -> None:
    s = services(database)
    await s.new_ticket("1", priority="urgent")
    ticket = await s.new_ticket("2", type="incident")
    await s.assignment.assign(
        ticket_id=ticket,
        department_key="support",
        person_key="olga",
        actor=telegram_actor(s.routing, IVAN),
    )
    s.clock.advance(minutes=5)
    await s.lists.send_queue(chat_id=DISPATCH)
    queue = (await s.texts(DISPATCH))[-1]
    assert "#N-1</b> s · 5 min · first response: ⏱ 10 min left" in queue
    await s.lists.send_mine(actor=telegram_actor(s.routing, OLGA))
    mine = (await s.texts(OLGA))[-1]
    assert "#N-2</b> s · 5 min · in work · first response: ⏱ 25 min left" in mine
