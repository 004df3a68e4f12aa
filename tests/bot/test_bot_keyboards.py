"""The card's buttons are built as plain data: exactly what aiogram's models dump to."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup

from bot.callbacks import DispatchAction, DispatchCb
from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import load_routing_text
from dispatch.views import TicketView
from tests.support.routing import ROUTING_YAML


def ticket(**changes: Any) -> TicketView:
    view = TicketView(
        id=7,
        number="4107",
        subject="The printer prints every page twice",
        body="",
        priority="",
        type="",
        client_name="Maria",
        client_email="maria@acme.test",
        client_company="",
        url="https://helpdesk.test/tickets/4107?tab=1&x=<y>",
        created_at=datetime(2026, 12, 3, 7, 0, tzinfo=UTC),
        state="unassigned",
        department_name=None,
        assignee_name=None,
        assigned_by_name=None,
        assigned_at=None,
        writeback="none",
        writeback_error=None,
    )
    return dataclasses.replace(view, **changes)


def round_trip(markup: dict[str, Any]) -> dict[str, Any]:
    """What the transport makes of the stored keyboard, dumped back as the models did."""
    dumped: dict[str, Any] = InlineKeyboardMarkup.model_validate(markup).model_dump(
        mode="json", exclude_none=True
    )
    return dumped


def test_every_card_keyboard_is_what_the_models_would_have_made() -> None:
    routing = load_routing_text(ROUTING_YAML, "routing.yaml")
    renderer = TelegramRenderer(Texts("en"), ZoneInfo("Europe/Moscow"))
    department = routing.departments[0]
    payloads = [
        renderer.card(ticket(), departments=routing.departments),
        renderer.card(
            ticket(), departments=routing.departments, browsing=department, members=routing.people
        ),
        renderer.card(ticket(state="assigned", writeback="failed"), departments=[]),
        renderer.assignee_message(ticket(state="assigned"), dev_task=True),
    ]
    for payload in payloads:
        markup = payload["reply_markup"]
        assert round_trip(markup) == markup
        for row in markup["inline_keyboard"]:
            for button in row:
                assert button["text"]
                assert set(button) in ({"text", "callback_data"}, {"text", "url"})
    first = payloads[0]["reply_markup"]["inline_keyboard"][0][0]
    assert first == {
        "text": routing.departments[0].name,
        "callback_data": DispatchCb(
            action=DispatchAction.DEPARTMENT, ticket=7, dept=department.key
        ).pack(),
    }
    assert payloads[3]["reply_markup"]["inline_keyboard"][0] == [
        {"text": "Open in helpdesk", "url": "https://helpdesk.test/tickets/4107?tab=1&x=<y>"}
    ]


def test_a_card_without_buttons_has_no_keyboard() -> None:
    renderer = TelegramRenderer(Texts("en"), ZoneInfo("Europe/Moscow"))
    # A closed card (an assigned one keeps "Reassign" since issue 17.10).
    payload = renderer.card(ticket(state="closed"), departments=[])
    assert "reply_markup" not in payload
