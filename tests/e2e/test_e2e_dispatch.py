"""End to end: webhook → card → department → person → write-back → private message.

A real Modest service (aiohttp, aiogram Dispatcher with long polling, outbox
sender, job runner) runs against the Telegram Bot API emulator over HTTP, with
the emulator enforcing Telegram's limits.
"""

from __future__ import annotations

import asyncio

import pytest

from config.routing import RoutingConfig
from connectors.base import PermanentError
from connectors.fake import FakeHelpdesk
from tests.support.dispatching import ANNA, DISPATCH, IVAN, OLGA, REASSIGN, assign_on_card, tap
from tests.support.harness import running_modest, ticket_body
from tests.support.telegram_emulator import TelegramEmulator


async def test_webhook_to_card_to_assignment_written_back_and_sent_privately(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    helpdesk = FakeHelpdesk()
    async with running_modest(tg, routing, sqlite_url, helpdesk=helpdesk) as h:
        answer = await h.post_generic(ticket_body("101"))
        assert answer.status_code == 200
        assert answer.json() == {"status": "accepted"}

        card = await h.card()
        assert "#A-101 Printer on fire" in card.text
        assert "Maria, Acme" in card.text
        assert "22.11.2026 10:30" in card.text  # 07:30 UTC in Europe/Moscow
        assert "Flames everywhere." in card.text
        assert [b[0] for b in tg.buttons(DISPATCH, card.message_id)] == [
            *("Support", "Development"),
            "🙋 Take it myself",  # its dispatchers are specialists too (issue 17.10)
        ]

        await tap(h, card.message_id, IVAN, "Support")
        await tg.wait_for(
            lambda: (
                "Olga Sidorova" in tg.message(DISPATCH, card.message_id).text
                or any(b[0] == "Olga Sidorova · 0" for b in tg.buttons(DISPATCH, card.message_id))
            )
        )
        labels = [b[0] for b in tg.buttons(DISPATCH, card.message_id)]
        # Each person with their open tickets (issue 17.11).
        assert labels == ["Ivan Petrov · 0", "Olga Sidorova · 0", "« Back"]

        answer_to_tap = await tap(h, card.message_id, IVAN, "Olga Sidorova · 0")
        assert answer_to_tap.get("text") == "Assigned to Olga Sidorova"

        await tg.wait_for(lambda: helpdesk.assignments == [("101", "1", "12")])
        await tg.wait_for(
            lambda: (
                "Saving" not in tg.message(DISPATCH, card.message_id).text
                and "Assigned to Olga Sidorova (Support) by Ivan Petrov at"
                in tg.message(DISPATCH, card.message_id).text
            )
        )
        assert [b[0] for b in tg.buttons(DISPATCH, card.message_id)] == [REASSIGN]

        await tg.wait_for(lambda: len(tg.messages(OLGA)) == 1)
        private = tg.messages(OLGA)[0]
        assert "A ticket for you" in private.text
        assert "#A-101" in private.text
        assert tg.buttons(OLGA, private.message_id) == [
            ("Open in helpdesk", None, "https://help.example/tickets/101"),
            ("↩️ Hand back", "hb:b:1", None),  # issue 17.10
        ]
        assert tg.unanswered_callbacks() == []
        assert len(tg.messages(DISPATCH)) == 1, "the card is edited, never re-posted"


async def test_duplicate_webhook_is_accepted_once_and_makes_one_card(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, routing, sqlite_url) as h:
        body = ticket_body("7")
        first = await h.post_generic(body)
        again = await h.post_generic(body)
        with_id = {**ticket_body("8"), "delivery_id": "d-1"}
        third = await h.post_generic(with_id)
        fourth = await h.post_generic({**with_id, "ticket": {**with_id["ticket"], "body": "x"}})
        assert [r.json()["status"] for r in (first, again, third, fourth)] == [
            "accepted",
            "duplicate",
            "accepted",
            "duplicate",
        ]
        await h.card(1)
        assert len(await h.tickets()) == 2
        await asyncio.sleep(0.5)  # give a wrongly queued second card time to show up
        assert len(tg.messages(DISPATCH)) == 2


@pytest.mark.parametrize(
    ("headers", "params"),
    [({}, {}), ({"X-Webhook-Secret": "wrong"}, {}), ({}, {"secret": "wrong"})],
    ids=["missing", "wrong-header", "wrong-query"],
)
async def test_wrong_or_missing_secret_is_401_and_stores_nothing(
    tg: TelegramEmulator,
    routing: RoutingConfig,
    sqlite_url: str,
    headers: dict[str, str],
    params: dict[str, str],
) -> None:
    async with running_modest(tg, routing, sqlite_url) as h:
        answer = await h.http.post(
            "/webhooks/generic", json=ticket_body(), headers=headers, params=params
        )
        assert answer.status_code == 401
        assert await h.tickets() == []
        ok = await h.http.post(
            "/webhooks/generic", json=ticket_body("2"), params={"secret": "hook-secret-1"}
        )
        assert ok.status_code == 200, "the secret is accepted as a query parameter too"


async def test_bad_and_oversized_bodies_are_refused_and_store_nothing(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, routing, sqlite_url) as h:
        headers = {"X-Webhook-Secret": "hook-secret-1", "Content-Type": "application/json"}
        broken = await h.http.post("/webhooks/generic", content=b"{not json", headers=headers)
        assert broken.status_code == 400
        assert broken.json()["field"] == "$"

        no_subject = ticket_body()
        del no_subject["ticket"]["subject"]
        missing = await h.post_generic(no_subject)
        assert missing.status_code == 400
        assert missing.json()["field"] == "ticket.subject"

        bad_event = await h.post_generic({**ticket_body(), "event": "ticket.exploded"})
        assert bad_event.status_code == 400
        assert bad_event.json()["field"] == "event"

        huge = ticket_body(body="x" * (1024 * 1024))
        too_big = await h.post_generic(huge)
        assert too_big.status_code == 413

        form = await h.http.post(
            "/webhooks/generic", data={"a": "b"}, headers={"X-Webhook-Secret": "hook-secret-1"}
        )
        assert form.status_code == 415
        assert await h.tickets() == []
        assert tg.messages(DISPATCH) == []


async def test_a_non_dispatcher_tap_is_refused_with_an_alert(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, routing, sqlite_url) as h:
        await h.post_generic(ticket_body("5"))
        card = await h.card()
        answer = await tap(h, card.message_id, ANNA, "Support")
        assert answer["show_alert"] in (True, "true")
        assert answer["text"] == "Only dispatchers can dispatch tickets."
        assert [b[0] for b in tg.buttons(DISPATCH, card.message_id)] == [
            *("Support", "Development"),
            "🙋 Take it myself",  # its dispatchers are specialists too (issue 17.10)
        ]
        (ticket,) = await h.tickets()
        assert ticket.state == "unassigned"


async def test_subject_with_html_and_a_5000_character_body_render_safely(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, routing, sqlite_url) as h:
        body = "<script>alert(1)</script> & " + "word " * 1000
        answer = await h.post_generic(ticket_body("9", subject="<b>& urgent</b>", body=body))
        assert answer.status_code == 200
        card = await h.card()
        assert "<b>& urgent</b>" in card.text, "shown literally, not as markup"
        assert "<script>alert(1)</script> &" in card.text
        assert len(card.text) < 1500, "the body is cut to an excerpt"
        assert card.text.count("word") < 110


async def test_writeback_that_fails_for_good_shows_retry_and_retry_writes_it(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    helpdesk = FakeHelpdesk()
    helpdesk.fail_assign(1, PermanentError("403 Forbidden: no rights"))
    async with running_modest(tg, routing, sqlite_url, helpdesk=helpdesk) as h:
        await h.post_generic(ticket_body("11"))
        card = await h.card()
        await assign_on_card(h, card.message_id, OLGA, "Development", "Petr Ivanov")
        await tg.wait_for(
            lambda: (
                "Not saved to the helpdesk: 403 Forbidden: no rights"
                in tg.message(DISPATCH, card.message_id).text
            ),
            timeout=8,
        )
        assert [b[0] for b in tg.buttons(DISPATCH, card.message_id)] == ["Retry saving", REASSIGN]
        await tap(h, card.message_id, OLGA, "Retry saving")
        await tg.wait_for(lambda: helpdesk.assignments == [("11", "2", "13")])
        await tg.wait_for(
            lambda: [b[0] for b in tg.buttons(DISPATCH, card.message_id)] == [REASSIGN], timeout=8
        )
        assert "Not saved" not in tg.message(DISPATCH, card.message_id).text
