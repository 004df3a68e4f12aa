"""End to end with HelpDeskEddy: webhook → API fetch → card → taps → PUT back to the portal.

The real Modest service runs with the real HelpDeskEddy connector (built from the
``HELPDESKEDDY_*`` settings) against a fake HelpDeskEddy API v2 server over HTTP,
and against the Telegram Bot API emulator.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from zoneinfo import ZoneInfo

import pytest
from structlog.testing import capture_logs

from config.routing import RoutingConfig
from connectors.helpdeskeddy import HelpDeskEddyConnector
from tests.support.dispatching import (
    DISPATCH,
    IVAN,
    OLGA,
    REASSIGN,
    assign_by_taps,
    card_text,
    labels,
    tap,
)
from tests.support.harness import Harness, post_hde, running_modest
from tests.support.helpdeskeddy_fake import HelpDeskEddyFake
from tests.support.telegram_emulator import TelegramEmulator

MOSCOW = ZoneInfo("Europe/Moscow")
CLIENT = 501
CLIENT_API_KEY = "client-501-secret-api-key-do-not-log"
#: HelpDeskEddy ids of the people in the routing fixture (tests/conftest.py).
HDE_IVAN, HDE_OLGA, HDE_PETR = 11, 12, 13


@pytest.fixture
async def hde() -> AsyncIterator[HelpDeskEddyFake]:
    """A portal in the routing's time zone with the staff of the routing and one client."""
    async with HelpDeskEddyFake(tz=MOSCOW) as fake:
        for user_id, name, lastname in (
            (HDE_IVAN, "Ivan", "Petrov"),
            (HDE_OLGA, "Olga", "Sidorova"),
            (HDE_PETR, "Petr", "Ivanov"),
        ):
            fake.add_user(user_id, name=name, lastname=lastname, group_type="staff")
        fake.add_user(
            CLIENT,
            name="Maria",
            lastname="Ivanova",
            organization="Acme LLC",
            api_key=CLIENT_API_KEY,
        )
        yield fake


def modest(
    tg: TelegramEmulator, routing: RoutingConfig, db_url: str, hde: HelpDeskEddyFake
) -> AbstractAsyncContextManager[Harness]:
    """The service, configured for HelpDeskEddy exactly as an operator would do it."""
    return running_modest(
        tg,
        routing,
        db_url,
        helpdeskeddy_url=hde.base_url,
        helpdeskeddy_email=hde.email,
        helpdeskeddy_api_key=hde.api_key,
    )


async def test_json_webhook_fetches_the_ticket_and_posts_its_card(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str, hde: HelpDeskEddyFake
) -> None:
    hde.add_ticket(
        5,
        title="VPN is down",
        user_id=CLIENT,
        first_post="<p>Nobody can connect <b>since 9:00</b>.</p><p>Please help!</p>",
        date_created="2026-11-22 10:30:00",
    )
    for number in range(31):  # the first post ends up alone on page 2 (newest first)
        hde.add_post(5, f"<p>Reply {number}</p>", user_id=HDE_IVAN)
    async with modest(tg, routing, sqlite_url, hde) as h:
        hde.pause()  # the portal holds every answer: the webhook must not wait for it
        started = time.perf_counter()
        answer = await post_hde(h, {"ticket_id": "5", "event": "ticket.created"})
        elapsed = time.perf_counter() - started
        assert answer.status_code == 200
        assert answer.json() == {"status": "accepted"}
        assert elapsed < 1.0, f"the webhook answer took {elapsed:.2f} s"
        await tg.wait_for(lambda: len(hde.requests) == 1)  # the fetch job is waiting
        assert tg.messages(DISPATCH) == []
        hde.resume()

        card = await h.card()
        assert "#QWE-00005 VPN is down" in card.text
        assert "Maria Ivanova, Acme LLC" in card.text
        assert "22.11.2026 10:30" in card.text
        assert "Nobody can connect since 9:00." in card.text
        assert "Please help!" in card.text
        assert "Reply" not in card.text, "the body is the first post, not the latest"
        assert labels(h, card.message_id) == [
            *("Support", "Development"),
            "🙋 Take it myself",  # its dispatchers are specialists too (issue 17.10)
        ]

        seen = [(r.method, r.path, r.query.get("page")) for r in hde.requests]
        assert seen == [
            ("GET", "/tickets/5/", None),
            ("GET", "/tickets/5/posts/", None),
            ("GET", "/tickets/5/posts/", "2"),
            ("GET", f"/users/{CLIENT}/", None),
        ]
        assert all(r.authorized and r.status == 200 for r in hde.requests)
        remaining = [r.remaining or 0 for r in hde.requests]
        assert remaining[0] <= 299
        for before, after in itertools.pairwise(remaining):
            # One less per request; back to 299 if a new minute started in between.
            assert after in (before - 1, 299)


async def test_form_encoded_webhook_fetches_the_ticket_and_posts_its_card(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str, hde: HelpDeskEddyFake
) -> None:
    hde.add_ticket(16, title="Scanner jammed", user_id=CLIENT)
    async with modest(tg, routing, sqlite_url, hde) as h:
        answer = await post_hde(h, {"ticket_id": 16, "event": "created"}, form=True)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "accepted"}
        card = await h.card()
        assert "#QWE-00016 Scanner jammed" in card.text
        assert "Maria Ivanova, Acme LLC" in card.text
        assert "The printer in room 4 is on fire." in card.text
        again = await post_hde(h, {"ticket_id": 16, "event": "created"}, form=True)
        assert again.json() == {"status": "duplicate"}, "same form body, same hash"
        assert len(hde.requests_to("GET", "/tickets/16/")) == 1


async def test_two_taps_write_the_assignment_back_and_reach_the_assignee(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str, hde: HelpDeskEddyFake
) -> None:
    hde.add_ticket(6, title="Mail bounces", user_id=CLIENT, department_id=None)
    async with modest(tg, routing, sqlite_url, hde) as h:
        answer = await post_hde(h, {"ticket_id": 6, "event": "created"})
        assert answer.json() == {"status": "accepted"}
        card = await h.card()
        assert "#QWE-00006 Mail bounces" in card.text

        await assign_by_taps(h, card.message_id)

        await tg.wait_for(lambda: len(hde.requests_to("PUT", "/tickets/6/")) == 1)
        (put,) = hde.requests_to("PUT", "/tickets/6/")
        assert put.body == {"department_id": 1, "owner_id": 12}
        assert all(type(v) is int for v in put.body.values()), "ids go out as numbers"
        assert put.status == 200
        assert hde.tickets[6]["owner_id"] == HDE_OLGA
        assert hde.tickets[6]["department_id"] == 1

        await tg.wait_for(
            lambda: (
                "Assigned to Olga Sidorova (Support) by Ivan Petrov at"
                in card_text(h, card.message_id)
                and "Saving" not in card_text(h, card.message_id)
            )
        )
        assert labels(h, card.message_id) == [REASSIGN]

        await tg.wait_for(lambda: len(tg.messages(OLGA)) == 1)
        private = tg.messages(OLGA)[0]
        assert "A ticket for you" in private.text
        assert "#QWE-00006 Mail bounces" in private.text
        assert "Assigned by Ivan Petrov" in private.text

        # The portal's "assignee changed" rule echoes our own write-back: nothing changes.
        echo = await post_hde(h, {"ticket_id": "6", "event": "assigned", "delivery_id": "6-a"})
        assert echo.json() == {"status": "accepted"}
        await tg.wait_for(lambda: len(hde.requests_to("GET", "/tickets/6/")) == 2)
        text_before = card_text(h, card.message_id)
        await asyncio.sleep(0.5)
        assert len(tg.messages(OLGA)) == 1, "no second private message for the echo"
        assert card_text(h, card.message_id) == text_before
        assert len(tg.messages(DISPATCH)) == 1
        assert tg.unanswered_callbacks() == []


async def test_writeback_answered_503_twice_is_retried_and_ends_assigned(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str, hde: HelpDeskEddyFake
) -> None:
    hde.add_ticket(7, user_id=CLIENT)
    hde.fail_next("PUT", "/tickets/7/", 503, times=2)
    async with modest(tg, routing, sqlite_url, hde) as h:
        await post_hde(h, {"ticket_id": "7", "event": "created"})
        card = await h.card()
        await assign_by_taps(h, card.message_id)

        await tg.wait_for(
            lambda: [r.status for r in hde.requests_to("PUT", "/tickets/7/")] == [503, 503, 200]
        )
        assert hde.tickets[7]["owner_id"] == HDE_OLGA
        await tg.wait_for(
            lambda: (
                "Assigned to Olga Sidorova (Support) by Ivan Petrov"
                in card_text(h, card.message_id)
                and "Saving" not in card_text(h, card.message_id)
            )
        )
        assert "Not saved" not in card_text(h, card.message_id)
        assert labels(h, card.message_id) == [REASSIGN]
        (ticket,) = await h.tickets()
        assert ticket.writeback == "done"


async def test_writeback_failing_beyond_the_connector_retries_is_retried_as_a_job(
    tg: TelegramEmulator,
    routing: RoutingConfig,
    sqlite_url: str,
    hde: HelpDeskEddyFake,
) -> None:
    """The connector gives up; the job runner tries again later and succeeds.

    The harness starts the job back-off at 0.2 s (``job_retry_delay``); the
    connector is built with short in-process retries so the test stays fast.
    """
    connector = HelpDeskEddyConnector(
        base_url=hde.base_url,
        email=hde.email,
        api_key=hde.api_key,
        portal_tz=MOSCOW,
        retry_attempts=2,
        retry_wait=0.05,
    )
    hde.add_ticket(17, user_id=CLIENT)
    hde.fail_next("PUT", "/tickets/17/", 503, times=3)  # 2 in the first job run, 1 in the next
    async with running_modest(tg, routing, sqlite_url, helpdesk=connector) as h:
        await post_hde(h, {"ticket_id": "17", "event": "created"})
        card = await h.card()
        await assign_by_taps(h, card.message_id)
        await tg.wait_for(
            lambda: (
                [r.status for r in hde.requests_to("PUT", "/tickets/17/")] == [503, 503, 503, 200]
            )
        )
        await tg.wait_for(
            lambda: (
                labels(h, card.message_id) == [REASSIGN]
                and "Saving" not in card_text(h, card.message_id)
            )
        )
        assert "Assigned to Olga Sidorova (Support)" in card_text(h, card.message_id)
        assert "Not saved" not in card_text(h, card.message_id)


async def test_writeback_refused_for_good_offers_retry_and_the_retry_saves_it(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str, hde: HelpDeskEddyFake
) -> None:
    hde.add_ticket(8, user_id=CLIENT)
    hde.fail_next("PUT", "/tickets/8/", 403, times=100, details="no rights to change the owner")
    async with modest(tg, routing, sqlite_url, hde) as h:
        await post_hde(h, {"ticket_id": "8", "event": "created"})
        card = await h.card()
        await assign_by_taps(h, card.message_id, department="Development", person="Petr Ivanov")

        await tg.wait_for(
            lambda: (
                "Not saved to the helpdesk:" in card_text(h, card.message_id)
                and labels(h, card.message_id) == ["Retry saving", REASSIGN]
            )
        )
        text = card_text(h, card.message_id)
        assert "HTTP 403" in text
        assert "no rights to change the owner" in text
        assert "Assigned to Petr Ivanov (Development)" in text
        puts = hde.requests_to("PUT", "/tickets/8/")
        assert [r.status for r in puts] == [403], "a 403 is not retried on its own"
        assert hde.tickets[8]["owner_id"] == 0

        hde.clear_failures()  # the admin fixed the integration user's rights
        await tap(h, card.message_id, IVAN, "Retry saving")
        await tg.wait_for(lambda: hde.tickets[8]["owner_id"] == HDE_PETR)
        assert hde.requests_to("PUT", "/tickets/8/")[-1].body == {
            "department_id": 2,
            "owner_id": 13,
        }
        await tg.wait_for(
            lambda: (
                labels(h, card.message_id) == [REASSIGN]
                and "Not saved" not in card_text(h, card.message_id)
                and "Saving" not in card_text(h, card.message_id)
            )
        )
        assert "Assigned to Petr Ivanov (Development) by Ivan Petrov" in card_text(
            h, card.message_id
        )


async def test_assignment_and_closing_in_the_helpdesk_update_the_card(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str, hde: HelpDeskEddyFake
) -> None:
    hde.add_ticket(9, title="Laptop broken", user_id=CLIENT)
    async with modest(tg, routing, sqlite_url, hde) as h:
        await post_hde(h, {"ticket_id": "9", "event": "created", "delivery_id": "9-c"})
        card = await h.card()
        assert labels(h, card.message_id) == [
            *("Support", "Development"),
            "🙋 Take it myself",  # its dispatchers are specialists too (issue 17.10)
        ]

        hde.set_owner(9, HDE_OLGA)  # a supervisor assigns it in the web UI
        await post_hde(h, {"ticket_id": "9", "event": "ticket.assigned", "delivery_id": "9-a"})
        await tg.wait_for(
            lambda: (
                "Assigned to Olga Sidorova (Support) in the helpdesk"
                in card_text(h, card.message_id)
            )
        )
        assert labels(h, card.message_id) == [REASSIGN]
        await tg.wait_for(lambda: len(tg.messages(OLGA)) == 1)
        private = tg.messages(OLGA)[0]
        assert "A ticket for you" in private.text
        assert "#QWE-00009 Laptop broken" in private.text
        assert "Assigned by" not in private.text
        assert hde.requests_to("PUT", "/tickets/9/") == [], "nothing to write back"

        hde.set_status(9, "closed")
        await post_hde(h, {"ticket_id": "9", "event": "ticket.closed", "delivery_id": "9-x"})
        await tg.wait_for(lambda: "Closed in the helpdesk" in card_text(h, card.message_id))
        assert tg.buttons(DISPATCH, card.message_id) == []
        (ticket,) = await h.tickets()
        assert ticket.state == "closed"
        assert len(tg.messages(DISPATCH)) == 1
        handed = [m for m in tg.messages(OLGA) if "A ticket for you" in m.text]
        assert len(handed) == 1, "one hand-over; the other message asks for the time"


async def test_the_same_webhook_delivered_twice_makes_one_card_and_one_fetch(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str, hde: HelpDeskEddyFake
) -> None:
    hde.add_ticket(10, user_id=CLIENT)
    hde.add_ticket(11, user_id=CLIENT)
    async with modest(tg, routing, sqlite_url, hde) as h:
        with_id = {"ticket_id": "10", "event": "created", "delivery_id": "10-created-1"}
        without_id = {"ticket_id": "11", "event": "created"}
        answers = [
            await post_hde(h, with_id),
            await post_hde(h, with_id),
            await post_hde(h, without_id),
            await post_hde(h, without_id),  # same body: same hash
        ]
        assert [a.json()["status"] for a in answers] == [
            "accepted",
            "duplicate",
            "accepted",
            "duplicate",
        ]
        await h.card(1)
        await asyncio.sleep(0.5)  # time for a wrongly queued second fetch or card
        assert len(hde.requests_to("GET", "/tickets/10/")) == 1
        assert len(hde.requests_to("GET", "/tickets/11/")) == 1
        assert len(tg.messages(DISPATCH)) == 2
        assert len(await h.tickets()) == 2


@pytest.mark.parametrize("secret", [None, "wrong-secret"], ids=["missing", "wrong"])
async def test_wrong_secret_is_401_and_the_portal_is_never_asked(
    tg: TelegramEmulator,
    routing: RoutingConfig,
    sqlite_url: str,
    hde: HelpDeskEddyFake,
    secret: str | None,
) -> None:
    hde.add_ticket(12, user_id=CLIENT)
    async with modest(tg, routing, sqlite_url, hde) as h:
        answer = await post_hde(h, {"ticket_id": "12", "event": "created"}, secret=secret)
        assert answer.status_code == 401
        form = await post_hde(h, {"ticket_id": "12", "event": "created"}, secret=secret, form=True)
        assert form.status_code == 401
        await asyncio.sleep(0.3)
        assert hde.requests == []
        assert await h.tickets() == []
        assert tg.messages(DISPATCH) == []


async def test_unknown_ticket_is_accepted_then_given_up_without_a_card(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str, hde: HelpDeskEddyFake
) -> None:
    async with modest(tg, routing, sqlite_url, hde) as h:
        with capture_logs() as logs:
            answer = await post_hde(h, {"ticket_id": "404", "event": "created"})
            assert answer.json() == {"status": "accepted"}
            await tg.wait_for(lambda: any(e["event"] == "helpdesk.fetch_gave_up" for e in logs))
        assert [r.status for r in hde.requests_to("GET", "/tickets/404/")] == [404]
        gave_up = next(e for e in logs if e["event"] == "helpdesk.fetch_gave_up")
        assert gave_up["external_id"] == "404"
        assert await h.tickets() == []
        assert tg.messages(DISPATCH) == []


async def test_the_api_key_never_reaches_the_logs(
    tg: TelegramEmulator,
    routing: RoutingConfig,
    sqlite_url: str,
    hde: HelpDeskEddyFake,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    basic = base64.b64encode(f"{hde.email}:{hde.api_key}".encode()).decode()
    secrets = [hde.api_key, CLIENT_API_KEY, basic]
    hde.add_ticket(13, user_id=CLIENT)
    hde.fail_next("PUT", "/tickets/13/", 503, times=1)
    hde.fail_next("PUT", "/tickets/13/", 403, times=1)
    with capture_logs() as logs:
        async with modest(tg, routing, sqlite_url, hde) as h:
            await post_hde(h, {"ticket_id": "13", "event": "created"})
            card = await h.card()
            await assign_by_taps(h, card.message_id)
            await tg.wait_for(lambda: labels(h, card.message_id) == ["Retry saving", REASSIGN])
            await tap(h, card.message_id, IVAN, "Retry saving")
            await tg.wait_for(lambda: hde.tickets[13]["owner_id"] == HDE_OLGA)
            await post_hde(h, {"ticket_id": "bad", "event": "created"})
            await post_hde(h, {"ticket_id": "13", "event": "created"}, secret="nope")
    # Everything the service said: structured events, stdlib records, stdout and stderr.
    assert logs, "capture_logs saw nothing: the check below would prove nothing"
    assert any(e["event"] == "helpdeskeddy.request_failed" for e in logs)
    said = [json.dumps(logs, default=repr), caplog.text, *capsys.readouterr()]
    said += [m.text for m in tg.messages(DISPATCH) + tg.messages(OLGA)]
    for text in said:
        for secret in secrets:
            assert secret not in text
    assert all(r.authorized for r in hde.requests), "the key did reach the portal"
