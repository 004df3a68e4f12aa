"""The closed card keeps who handled the ticket and how long it took."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import RoutingConfig
from connectors.fake import FakeHelpdesk
from tests.support.buttons import press_labelled, wait_message
from tests.support.harness import running_modest, ticket_body
from tests.support.telegram_emulator import TelegramEmulator
from tests.support.views import view

DISPATCH, OLGA = -1001234567890, 1002


async def test_the_closed_card_names_the_assignee_and_the_time_recorded(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, routing, sqlite_url, helpdesk=FakeHelpdesk()) as h:
        await h.post_generic(ticket_body("7"))
        card = await h.card()
        await h.post_generic(ticket_body("7", event="ticket.updated", assignee="12"))
        await h.post_generic(ticket_body("7", event="ticket.closed", assignee="12"))

        def card_status() -> str:
            return tg.message(DISPATCH, card.message_id).text.splitlines()[-1]

        await tg.wait_for(lambda: "Closed in the helpdesk" in card_status())
        assert card_status() == "🔒 Closed in the helpdesk · Olga Sidorova"
        prompt = await wait_message(tg, OLGA, "How much time")
        press_labelled(tg, OLGA, prompt, "3h")
        await tg.wait_for(lambda: card_status().endswith("3:00"), timeout=8)
        assert card_status() == "🔒 Closed in the helpdesk · Olga Sidorova · 3:00"

        recorded = await wait_message(tg, OLGA, "Recorded")
        press_labelled(tg, OLGA, recorded, "Change")
        again = await wait_message(tg, OLGA, "How much time")
        await tg.wait_for(lambda: "1h" in [b[0] for b in tg.buttons(OLGA, again.message_id)])
        press_labelled(tg, OLGA, tg.message(OLGA, again.message_id), "1h")
        await tg.wait_for(lambda: card_status().endswith("1:00"), timeout=8)


def test_the_russian_closed_card() -> None:
    renderer = TelegramRenderer(Texts("ru"), ZoneInfo("Europe/Moscow"))
    closed = view(state="closed", assignee_name="Ольга Смирнова", time_spent=160)
    text = renderer.card(closed, departments=())["text"]
    assert text.splitlines()[-1] == "🔒 Закрыта в хелпдеске · Ольга Смирнова · 2:40"
    nobody = view(state="closed")
    assert renderer.card(nobody, departments=())["text"].splitlines()[-1] == (
        "🔒 Закрыта в хелпдеске"
    )
