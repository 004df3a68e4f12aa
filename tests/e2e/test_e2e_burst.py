"""A burst of new tickets with Telegram's limits on: all dispatchable within a minute.

The emulator enforces 20 messages a minute in the dispatch group (and 1/s per chat), as
Telegram does. One card per ticket would take six minutes for 120; burst digests list the
tickets whose cards would wait, so every ticket has a button in the chat much sooner.
"""

from __future__ import annotations

import time

from config.routing import RoutingConfig
from tests.support.bursts import card_tickets, digest_buttons, dispatchable, post_burst
from tests.support.dispatching import DISPATCH, IVAN, assign_on_card
from tests.support.harness import running_modest
from tests.support.telegram_emulator import TelegramEmulator

TICKETS = 120
URGENT = {40, 77}
GOAL_SECONDS = 60.0


def with_urgent(routing: RoutingConfig) -> RoutingConfig:
    dispatch = routing.dispatch.model_copy(update={"always_nag_priorities": frozenset({"urgent"})})
    return routing.model_copy(update={"dispatch": dispatch})


async def test_120_new_tickets_in_5_s_are_all_dispatchable_within_a_minute_without_429(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, with_urgent(routing), sqlite_url) as h:
        started = time.monotonic()
        statuses = await post_burst(h, TICKETS, seconds=5.0, urgent=URGENT)
        assert statuses == [200] * TICKETS
        assert time.monotonic() - started < 6.0, "the burst is to arrive within ~5 s"
        ids = {ticket.external_id: ticket.id for ticket in await h.tickets()}
        assert len(ids) == TICKETS, "nothing lost"
        wanted = {ticket_id for ticket_id in ids.values() if ticket_id is not None}

        left = GOAL_SECONDS - (time.monotonic() - started)
        await tg.wait_for(lambda: wanted <= dispatchable(tg, DISPATCH), timeout=left)
        took = time.monotonic() - started
        assert took <= GOAL_SECONDS
        assert tg.count_429 == 0

        cards, listed = card_tickets(tg, DISPATCH), digest_buttons(tg, DISPATCH)
        assert set(cards) | set(listed) == wanted
        assert not set(cards) & set(listed), "a ticket has its card or a digest line, not both"
        for n in URGENT:
            assert ids[str(n)] in cards, f"urgent ticket {n} keeps its own card"
        digests = {message_id for message_id, _ in listed.values()}
        assert len(digests) <= 12, "tickets are listed many to a digest"
        for message_id in digests:
            text = tg.message(DISPATCH, message_id).text
            assert "new tickets at once" in text
            assert "· Acme · normal" in text, "client and priority shown"

        # A digest button brings the ticket's card up; the card dispatches as usual.
        ticket_id, (digest_id, data) = next(iter(sorted(listed.items())))
        query = tg.press(DISPATCH, digest_id, IVAN, data)
        await tg.wait_for(lambda: query in tg.callback_answers)
        await tg.wait_for(lambda: ticket_id in card_tickets(tg, DISPATCH), timeout=30)
        card = card_tickets(tg, DISPATCH)[ticket_id]
        assert "Burst ticket" in tg.message(DISPATCH, card).text
        answer = await assign_on_card(h, card, IVAN, "Support", "Olga Sidorova")
        assert answer.get("text") == "Assigned to Olga Sidorova"
        assert tg.count_429 == 0
