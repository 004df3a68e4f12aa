"""End to end under stress: concurrent taps, restarts, 429s, the Bot API going down."""

from __future__ import annotations

import asyncio

from config.routing import RoutingConfig
from connectors.fake import FakeHelpdesk
from tests.support.dispatching import DISPATCH, IVAN, OLGA, assign_on_card, button, tap
from tests.support.harness import running_modest, ticket_body
from tests.support.telegram_emulator import TelegramEmulator


async def test_two_dispatchers_tapping_at_once_one_wins(
    tg: TelegramEmulator, routing: RoutingConfig, db_url: str
) -> None:
    helpdesk = FakeHelpdesk()
    async with running_modest(tg, routing, db_url, helpdesk=helpdesk) as h:
        await h.post_generic(ticket_body("21"))
        card = await h.card()
        await tap(h, card.message_id, IVAN, "Support")
        # Support's people and "back" (the departments' card has three buttons too, 17.10).
        people = ["Ivan Petrov · 0", "Olga Sidorova · 0", "« Back"]
        await tg.wait_for(lambda: [b[0] for b in tg.buttons(DISPATCH, card.message_id)] == people)
        take_ivan = button(h, card.message_id, "Ivan Petrov · 0")
        take_olga = button(h, card.message_id, "Olga Sidorova · 0")
        # Both presses are in flight together; the Dispatcher handles them concurrently.
        q1 = tg.press(DISPATCH, card.message_id, IVAN, take_ivan)
        q2 = tg.press(DISPATCH, card.message_id, OLGA, take_olga)
        await tg.wait_for(lambda: q1 in tg.callback_answers and q2 in tg.callback_answers)
        answers = [tg.callback_answers[q] for q in (q1, q2)]
        won = [a for a in answers if str(a.get("text", "")).startswith("Assigned to")]
        lost = [a for a in answers if str(a.get("text", "")).startswith("Already taken")]
        assert len(won) == 1, answers
        assert len(lost) == 1, answers
        assert lost[0]["show_alert"] in (True, "true")
        await tg.wait_for(lambda: len(helpdesk.assignments) == 1)
        (ticket,) = await h.tickets()
        assert ticket.state == "assigned"
        winner = "ivan" if "Ivan" in str(won[0]["text"]) else "olga"
        assert ticket.assignee_key == winner
        assert winner.capitalize() in str(lost[0]["text"])
        await asyncio.sleep(0.3)
        private = tg.messages(IVAN) + tg.messages(OLGA)
        assert len(private) == 1, "only the winner's assignee gets the ticket"


async def test_buttons_keep_working_after_a_restart(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, routing, sqlite_url) as h:
        await h.post_generic(ticket_body("31"))
        card = await h.card()
    # A new process: nothing in memory survives, only the database and the chat.
    helpdesk = FakeHelpdesk()
    async with running_modest(tg, routing, sqlite_url, helpdesk=helpdesk) as h:
        answer = await assign_on_card(h, card.message_id, IVAN, "Development", "Petr Ivanov")
        assert answer["text"] == "Assigned to Petr Ivanov"
        await tg.wait_for(
            lambda: (
                "Assigned to Petr Ivanov (Development)"
                in tg.message(DISPATCH, card.message_id).text
            )
        )
        assert len(tg.messages(DISPATCH)) == 1


async def test_events_committed_before_a_crash_are_delivered_after_restart(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    tg.set_down(True)
    async with running_modest(tg, routing, sqlite_url) as h:
        answer = await h.post_generic(ticket_body("41"))
        assert answer.status_code == 200
        await asyncio.sleep(0.3)
    assert tg.messages(DISPATCH) == []
    tg.set_down(False)
    async with running_modest(tg, routing, sqlite_url) as h:
        card = await h.card()
        assert "#A-41" in card.text


async def test_a_429_is_obeyed_and_the_card_arrives(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    tg.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
    )
    async with running_modest(tg, routing, sqlite_url) as h:
        await h.post_generic(ticket_body("51"))
        card = await h.card(timeout=6)
        assert "#A-51" in card.text
        sends = [c for c in tg.calls if c.method.lower() == "sendmessage"]
        assert len(sends) == 2
        assert sends[1].time - sends[0].time >= 1.0, "retried before retry_after"


async def test_bot_api_down_for_a_while_then_up_the_card_arrives(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    tg.set_down(True)
    async with running_modest(tg, routing, sqlite_url) as h:
        await h.post_generic(ticket_body("61"))
        await asyncio.sleep(1.5)
        assert tg.messages(DISPATCH) == []
        tg.set_down(False)
        card = await h.card(timeout=10)
        assert "#A-61" in card.text
        health = (await h.http.get("/healthz")).json()
        assert health["status"] == "ok"
        assert health["database"] == "ok"


async def test_healthz_reports_the_outbox_backlog(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    tg.set_down(True)
    async with running_modest(tg, routing, sqlite_url) as h:
        for n in range(3):
            await h.post_generic(ticket_body(f"7{n}"))
        health = (await h.http.get("/healthz")).json()
        assert health["outbox_backlog"] == 3
        tg.set_down(False)
