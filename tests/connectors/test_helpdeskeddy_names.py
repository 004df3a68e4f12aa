"""HelpDeskEddy shown by names, not ids; its dates read in the portal's own time zone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import respx

from config.errors import RoutingConfigError
from config.routing import RoutingConfig, load_routing_text
from connectors.helpdeskeddy import HelpDeskEddyConnector
from modest.domain import periodic_jobs
from tests.support.harness import post_hde, running_modest
from tests.support.helpdeskeddy_api import API_KEY, BASE, EMAIL, ticket_obj, user_obj
from tests.support.helpdeskeddy_fake import HelpDeskEddyFake
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator

DISPATCH = -1001234567890


@respx.mock
async def test_priorities_and_types_come_by_name_once_the_dictionaries_are_read() -> None:
    respx.get(f"{BASE}tickets/84397/").respond(json={"data": ticket_obj()})
    respx.get(f"{BASE}tickets/84397/posts/").respond(json={"data": []})
    respx.get(f"{BASE}users/55/").respond(json={"data": user_obj()})
    respx.get(f"{BASE}priorities/").respond(
        json={"data": [{"id": 2, "name": {"ru": "Высокий", "en": "High"}}]}
    )
    respx.get(f"{BASE}types/").respond(json={"data": {"1": {"id": 1, "name": "Инцидент"}}})
    hde = HelpDeskEddyConnector(base_url=BASE, email=EMAIL, api_key=API_KEY, language="ru")
    before = await hde.fetch_ticket("84397")
    assert (before.priority, before.type) == ("2", "1")
    await hde.load_dictionaries()
    after = await hde.fetch_ticket("84397")
    assert (after.priority, after.type) == ("Высокий", "Инцидент")
    await hde.aclose()


@respx.mock
async def test_a_dictionary_the_portal_does_not_serve_keeps_the_ids() -> None:
    respx.get(f"{BASE}priorities/").respond(404, json={"errors": [{"code": 404}]})
    respx.get(f"{BASE}types/").respond(json={"data": [{"id": 1, "name": {"en": "Incident"}}]})
    respx.get(f"{BASE}tickets/84397/").respond(json={"data": ticket_obj()})
    respx.get(f"{BASE}tickets/84397/posts/").respond(json={"data": []})
    respx.get(f"{BASE}users/55/").respond(json={"data": user_obj()})
    hde = HelpDeskEddyConnector(base_url=BASE, email=EMAIL, api_key=API_KEY, language="ru")
    await hde.load_dictionaries()
    ticket = await hde.fetch_ticket("84397")
    assert (ticket.priority, ticket.type) == ("2", "Incident")
    await hde.aclose()


@pytest.fixture
async def yekaterinburg() -> AsyncIterator[HelpDeskEddyFake]:
    """A portal that writes its dates in Yekaterinburg time (UTC+5)."""
    async with HelpDeskEddyFake(tz=ZoneInfo("Asia/Yekaterinburg")) as fake:
        yield fake


def portal_routing(extra: str = "") -> RoutingConfig:
    return load_routing_text(ROUTING_YAML + extra)


async def test_the_card_shows_names_and_one_clock(
    tg: TelegramEmulator, sqlite_url: str, yekaterinburg: HelpDeskEddyFake
) -> None:
    hde = yekaterinburg
    # 12:30 on the portal's clock is 07:30 UTC, 10:30 in Moscow (the routing file's zone).
    hde.add_ticket(5, title="VPN is down", date_created="2026-11-22 12:30:00")
    routing = portal_routing("helpdeskeddy:\n  timezone: Asia/Yekaterinburg\n")
    async with running_modest(
        tg,
        routing,
        sqlite_url,
        helpdeskeddy_url=hde.base_url,
        helpdeskeddy_email=hde.email,
        helpdeskeddy_api_key=hde.api_key,
    ) as h:
        await h.service.helpdesk.load_dictionaries()
        await post_hde(h, {"ticket_id": "5", "event": "created"})
        card = await h.card()
        assert "priority: High · type: Incident" in card.text
        assert "22.11.2026 10:30" in card.text
        jobs = {
            job.id: job.every
            for job in periodic_jobs(routing, h.service.helpdesk, h.service.domain)
        }
        assert jobs["helpdesk.dictionaries"] == timedelta(hours=1)


def test_the_portal_time_zone_is_checked() -> None:
    with pytest.raises(RoutingConfigError) as caught:
        portal_routing("helpdeskeddy:\n  timezone: Asia/Ekb\n")
    assert str(caught.value) == "<string>:35: helpdeskeddy.timezone: unknown time zone 'Asia/Ekb'"
