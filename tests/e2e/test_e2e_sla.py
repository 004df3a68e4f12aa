"""SLA end to end: a breach with the card's buttons, ``/sla`` and its buttons."""

from __future__ import annotations

from datetime import timedelta

from storage.types import utcnow
from tests.support.buttons import press_labelled, wait_message
from tests.support.dispatching import DISPATCH, IVAN, assign_on_card
from tests.support.harness import running_modest, ticket_body
from tests.support.sla import sla_routing
from tests.support.telegram_emulator import TelegramEmulator

LENA = 1009


async def test_a_breach_reaches_dispatch_and_leads_and_sla_brings_up_the_card(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_modest(tg, sla_routing(), sqlite_url) as h:
        await h.post_generic(ticket_body("1", priority="urgent", created_at=None))
        card = await h.card()
        assert "⏱ First response within 1" in card.text
        # The pass as the scheduler would run it twenty minutes from now.
        result = await h.service.domain.sla.run_pass(utcnow() + timedelta(minutes=20))
        assert result.breached == 1
        breach = await wait_message(tg, DISPATCH, "no first response within 15 min")
        assert breach.reply_to_message_id == card.message_id
        to_lead = await wait_message(tg, LENA, "no first response within 15 min")
        assert "Support" in [b[0] for b in tg.buttons(LENA, to_lead.message_id)]
        # The breach message is a card: its buttons dispatch, and it is kept in step.
        await assign_on_card(h, breach.message_id, IVAN, "Support", "Olga Sidorova")
        await tg.wait_for(lambda: "Assigned to Olga" in tg.message(LENA, to_lead.message_id).text)

        tg.send_text(DISPATCH, IVAN, "/sla")
        listing = await wait_message(tg, DISPATCH, "at risk or overdue")
        assert "#A-1" in listing.text
        query = press_labelled(tg, DISPATCH, listing, "#A-1", user=IVAN)
        await tg.wait_for(lambda: query in tg.callback_answers)
        assert tg.callback_answers[query].get("text") is None
        await tg.wait_for(lambda: tg.messages(DISPATCH)[-1].message_id > listing.message_id)
        copy = tg.messages(DISPATCH)[-1]
        assert "Assigned to Olga Sidorova" in copy.text
        assert copy.reply_to_message_id == card.message_id

        tg.send_text(1004, 1004, "/sla")  # Anna, privately
        await wait_message(tg, 1004, "/sla works in the dispatch chat.")


async def test_help_and_the_group_menu_offer_sla_when_policies_are_set(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_modest(tg, sla_routing(), sqlite_url):
        await tg.wait_for(lambda: len(tg.my_commands) == 6)
        tg.send_text(DISPATCH, IVAN, "/help")
        group = await wait_message(tg, DISPATCH, "What I can do here")
        assert "/sla — Tickets near or past their SLA targets" in group.text.splitlines()
    assert {"command": "sla", "description": "Заявки, у которых истекает или истёк срок SLA"} in (
        tg.my_commands[("chat", "ru")]
    )
    private = tg.my_commands[("all_private_chats", "")]
    assert "sla" not in [c["command"] for c in private], "a dispatch-chat command"
