"""Reminders end to end: in the chat, from buttons, and from two instances at once."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict

import pytest

from tests.support.dispatching import DISPATCH, IVAN, OLGA, tap
from tests.support.harness import running_modest, ticket_body
from tests.support.reminders import routing_with
from tests.support.telegram_emulator import TelegramEmulator

_REMINDER = re.compile(r"Reminder (\d+): not assigned")


def reminders_by_ticket(tg: TelegramEmulator) -> dict[str, list[int]]:
    """Reminder numbers sent per ticket number, in the order Telegram received them."""
    seen: dict[str, list[int]] = defaultdict(list)
    for call in tg.calls:
        if call.method.lower() != "sendmessage" or call.status != 200:
            continue
        text = str(call.params.get("text", ""))
        match = _REMINDER.search(text)
        number = re.search(r"#(A-\d+)", text)
        if match and number:
            seen[number.group(1)].append(int(match.group(1)))
    return seen


def live_with_button(tg: TelegramEmulator, label: str) -> int | None:
    """A message in the dispatch chat, not deleted, that has a button ``label``."""
    for message in reversed(tg.messages(DISPATCH)):
        if not message.deleted and any(
            b[0] == label for b in tg.buttons(DISPATCH, message.message_id)
        ):
            return message.message_id
    return None


async def test_a_reminder_replies_to_the_card_with_buttons_that_dispatch(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    routing = routing_with(nag_interval="3s")
    async with running_modest(tg, routing, sqlite_url) as h:
        await h.post_generic(ticket_body("1"))
        card = await h.card()
        reminder = await h.card(1, timeout=8)
        assert "Reminder 1: not assigned for" in reminder.text
        assert reminder.reply_to_message_id == card.message_id
        assert [b[0] for b in tg.buttons(DISPATCH, reminder.message_id)] == [
            "Support",
            "Development",
            "🙋 Take it myself",  # its dispatchers are specialists too (issue 17.10)
        ]
        await tap(h, reminder.message_id, IVAN, "Support")
        # The card and the live reminder both show the department's people.
        await tg.wait_for(lambda: live_with_button(tg, "Olga Sidorova · 0") is not None)
        target = live_with_button(tg, "Olga Sidorova · 0")
        assert target is not None
        await tap(h, target, IVAN, "Olga Sidorova · 0")
        await tg.wait_for(lambda: "Assigned to Olga" in tg.message(DISPATCH, card.message_id).text)
        await tg.wait_for(
            lambda: all(
                m.deleted for m in tg.messages(DISPATCH) if m.message_id != card.message_id
            ),
            timeout=5,
        )
        sent = len(reminders_by_ticket(tg)["A-1"])
        await asyncio.sleep(4)
        assert len(reminders_by_ticket(tg)["A-1"]) == sent, "no reminder after assignment"


async def test_queue_and_mine_commands(tg: TelegramEmulator, sqlite_url: str) -> None:
    routing = routing_with()
    async with running_modest(tg, routing, sqlite_url) as h:
        await h.post_generic(ticket_body("1", subject="Old one"))
        await h.post_generic(ticket_body("2", subject="New one"))
        await h.post_generic(ticket_body("3", assignee="12"))
        await h.card(1)
        tg.send_text(DISPATCH, IVAN, "/queue")
        await tg.wait_for(
            lambda: any("Waiting for an assignee" in m.text for m in tg.messages(DISPATCH))
        )
        listing = next(m for m in tg.messages(DISPATCH) if "Waiting for an assignee" in m.text)
        assert listing.text.index("Old one") < listing.text.index("New one")
        await tap(h, listing.message_id, IVAN, "#A-2")
        await tg.wait_for(
            lambda: any("#A-2" in m.text and m.reply_to_message_id for m in tg.messages(DISPATCH))
        )
        tg.send_text(OLGA, OLGA, "/mine")
        await tg.wait_for(lambda: any("My open tickets" in m.text for m in tg.messages(OLGA)))
        mine = next(m for m in tg.messages(OLGA) if "My open tickets" in m.text)
        assert "#A-3" in mine.text
        assert "#A-1" not in mine.text


@pytest.mark.postgres
async def test_two_instances_on_postgres_send_each_reminder_once(
    tg: TelegramEmulator, pg_url: str
) -> None:
    routing = routing_with(nag_interval="2s", escalate_after="100")
    first_cm = running_modest(tg, routing, pg_url, polling_lease_ttl=3)
    first = await first_cm.__aenter__()
    try:
        await tg.wait_for(lambda: any(c.method.lower() == "getupdates" for c in tg.calls))
        async with running_modest(tg, routing, pg_url, polling_lease_ttl=3) as second:
            for n in range(1, 4):
                await (first if n % 2 else second).post_generic(ticket_body(str(n)))
            await tg.wait_for(
                lambda: all(len(reminders_by_ticket(tg)[f"A-{n}"]) >= 3 for n in range(1, 4)),
                timeout=20,
            )
            seen = reminders_by_ticket(tg)
            for n in range(1, 4):
                numbers = seen[f"A-{n}"]
                assert numbers == list(range(1, len(numbers) + 1)), (n, numbers)
            conflicts = [
                c for c in tg.calls if c.method.lower() == "getupdates" and c.status == 409
            ]
            assert conflicts == [], "only one instance polls Telegram"
            # The polling instance goes away: the other takes the lease and answers taps.
            await first_cm.__aexit__(None, None, None)
            first_cm = None
            card = tg.messages(DISPATCH)[0]
            await tap(second, card.message_id, IVAN, "Support")
    finally:
        if first_cm is not None:
            await first_cm.__aexit__(None, None, None)
