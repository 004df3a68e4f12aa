"""Load on the buttons (issue 17.11): each person's button shows their open tickets,
so the dispatcher sees who is free."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import RoutingConfig, load_routing_text
from tests.support.dispatching import IVAN, labels, tap
from tests.support.harness import running_modest, ticket_body
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator
from tests.support.views import view


async def test_member_buttons_show_each_person_s_open_tickets(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, routing, sqlite_url) as h:
        for number, assignee in (("1", "12"), ("2", "12"), ("3", "11"), ("4", "12")):
            await h.post_generic(ticket_body(number, assignee=assignee))
        await h.post_generic(ticket_body("4", event="ticket.closed", assignee="12"))
        await h.post_generic(ticket_body("5"))
        card = await h.card()
        await tap(h, card.message_id, IVAN, "Support")
        people = ["Ivan Petrov · 1", "Olga Sidorova · 2", "« Back"]
        await tg.wait_for(lambda: labels(h, card.message_id) == people)

        await h.post_generic(ticket_body("2", event="ticket.closed", assignee="12"))
        await tap(h, card.message_id, IVAN, "« Back")
        await tg.wait_for(lambda: "Support" in labels(h, card.message_id))
        await tap(h, card.message_id, IVAN, "Support")
        people = ["Ivan Petrov · 1", "Olga Sidorova · 1", "« Back"]
        await tg.wait_for(lambda: labels(h, card.message_id) == people)
        answer = await tap(h, card.message_id, IVAN, "Olga Sidorova · 1")
        assert answer["text"] == "Assigned to Olga Sidorova"


def test_the_load_reads_the_same_in_russian() -> None:
    routing = load_routing_text(
        ROUTING_YAML.replace("language: en", "language: ru").replace(
            "Olga Sidorova", "Ольга Смирнова"
        )
    )
    support = routing.department("support")
    assert support is not None
    renderer = TelegramRenderer(Texts("ru"), ZoneInfo("Europe/Moscow"))
    card = renderer.card(
        view(),
        departments=routing.departments,
        browsing=support,
        members=routing.members("support"),
        load={"ivan": 0, "olga": 3},
    )
    rows = card["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in rows for b in row] == [
        "Ivan Petrov · 0",
        "Ольга Смирнова · 3",
        "« Назад",
    ]
