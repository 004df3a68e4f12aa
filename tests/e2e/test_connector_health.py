"""A wrong key is never silent: checks, /healthz per connector, notices with a retry, admins told.

The real service runs with the real HelpDeskEddy connector against the fake portal,
configured with a key the portal refuses, as an operator with a typo would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import RoutingConfig, load_routing_text
from connectors.base import AccessDenied, PermanentError
from connectors.bitrix24 import Bitrix24Connector
from connectors.fake import FakeHelpdesk
from connectors.helpdeskeddy import HelpDeskEddyConnector
from connectors.redmine import RedmineConnector
from connectors.rt import RequestTrackerConnector
from dispatch.models import TicketEventKind
from dispatch.views import ConnectorStatus, FetchProblem, UnreadableTicket
from modest.domain import periodic_jobs
from tests.support.buttons import press_labelled, wait_message
from tests.support.harness import post_hde, running_modest
from tests.support.helpdeskeddy_fake import HelpDeskEddyFake
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator

DISPATCH = -1001234567890
IVAN, ANNA = 1001, 1004
MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.fixture
def admin_routing() -> RoutingConfig:
    """The usual routing, with Anna an admin."""
    text = ROUTING_YAML.replace("roles: [specialist]\n", "roles: [specialist, admin]\n")
    return load_routing_text(text)


@pytest.fixture
async def hde() -> AsyncIterator[HelpDeskEddyFake]:
    async with HelpDeskEddyFake(tz=MOSCOW) as fake:
        yield fake


async def test_a_refused_key_gives_notices_with_a_retry_one_admin_message_and_a_503(
    tg: TelegramEmulator, admin_routing: RoutingConfig, sqlite_url: str, hde: HelpDeskEddyFake
) -> None:
    hde.add_ticket(4101, title="VPN is down")
    hde.add_ticket(4102, title="Mail is down")
    async with running_modest(
        tg,
        admin_routing,
        sqlite_url,
        helpdeskeddy_url=hde.base_url,
        helpdeskeddy_email=hde.email,
        helpdeskeddy_api_key="a-typo-in-the-key",
    ) as h:
        for ticket in ("4101", "4102"):
            answer = await post_hde(h, {"ticket_id": ticket, "event": "created"})
            assert answer.json() == {"status": "accepted"}
        first = await wait_message(tg, DISPATCH, "#4101")
        await wait_message(tg, DISPATCH, "#4102")
        assert first.text == "⚠️ #4101: could not be read from HelpDeskEddy: invalid API key"
        assert [b[0] for b in tg.buttons(DISPATCH, first.message_id)] == ["Read again"]

        down = await wait_message(tg, ANNA, "HelpDeskEddy is not working")
        assert "refuses Modest's credentials" in down.text
        assert len(tg.messages(ANNA)) == 1, "one message per outage, not per ticket"

        health = await h.http.get("/healthz")
        assert health.status_code == 503
        body = health.json()
        assert body["intake"] == "blocked"
        assert body["connectors"]["helpdesk"]["status"] == "failing"
        assert body["connectors"]["helpdesk"]["kind"] == "helpdeskeddy"
        assert "HTTP 401" in body["connectors"]["helpdesk"]["last_error"]

        # The operator fixes the key; the next check closes the outage.
        hde.api_key = "a-typo-in-the-key"
        statuses = await h.service.domain.health.check_all()
        assert [s.ok for s in statuses] == [True]
        back = await wait_message(tg, ANNA, "works again")
        assert "HelpDeskEddy" in back.text
        assert (await h.http.get("/healthz")).status_code == 200

        query = press_labelled(tg, DISPATCH, first, "Read again", user=IVAN)
        await tg.wait_for(lambda: query in tg.callback_answers)
        assert tg.callback_answers[query].get("text") == "Reading it again…"
        card = await wait_message(tg, DISPATCH, "VPN is down")
        assert [b[0] for b in tg.buttons(DISPATCH, card.message_id)] == [
            *("Support", "Development"),
            "🙋 Take it myself",  # its dispatchers are specialists too (issue 17.10)
        ]
        notice = first.message_id
        await tg.wait_for(lambda: "its card follows" in tg.message(DISPATCH, notice).text)
        assert tg.buttons(DISPATCH, first.message_id) == []
        assert len(tg.messages(ANNA)) == 2


async def test_only_dispatchers_may_read_again(
    tg: TelegramEmulator, admin_routing: RoutingConfig, sqlite_url: str
) -> None:
    helpdesk = FakeHelpdesk()
    helpdesk.access_error = AccessDenied("fake: HTTP 401")
    async with running_modest(tg, admin_routing, sqlite_url, helpdesk=helpdesk) as h:
        await h.service.domain.intake.accept_fetch_request(
            source="fake", kind=TicketEventKind.CREATED, external_id="77", delivery_key="d-77"
        )
        notice = await wait_message(tg, DISPATCH, "#77")
        query = press_labelled(tg, DISPATCH, notice, "Read again", user=ANNA)
        await tg.wait_for(lambda: query in tg.callback_answers)
        assert tg.callback_answers[query].get("text") == "Only dispatchers can dispatch tickets."
        assert helpdesk.fetches == ["77"]


async def test_a_ticket_the_helpdesk_does_not_have_still_gets_no_card(
    tg: TelegramEmulator, admin_routing: RoutingConfig, sqlite_url: str
) -> None:
    helpdesk = FakeHelpdesk()
    async with running_modest(tg, admin_routing, sqlite_url, helpdesk=helpdesk) as h:
        await h.service.domain.intake.accept_fetch_request(
            source="fake", kind=TicketEventKind.CREATED, external_id="88", delivery_key="d-88"
        )
        await tg.wait_for(lambda: helpdesk.fetches == ["88"])
        statuses = await h.service.domain.health.check_all()
        assert statuses[0].ok
        assert tg.messages(DISPATCH) == []
        assert tg.messages(ANNA) == []


async def test_a_generic_helpdesk_never_blocks_intake_and_no_admin_means_the_dispatch_chat(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    helpdesk = FakeHelpdesk()
    helpdesk.access_error = AccessDenied("fake: HTTP 401")
    async with running_modest(tg, routing, sqlite_url, helpdesk=helpdesk) as h:
        await h.service.domain.health.check_all()
        await h.service.domain.health.check_all()
        down = await wait_message(tg, DISPATCH, "is not working")
        assert "the fake helpdesk" in down.text
        assert len(tg.messages(DISPATCH)) == 1
        assert (await h.http.get("/healthz")).status_code == 503
    async with running_modest(tg, routing, sqlite_url) as h:  # generic: tickets come whole
        body = (await h.http.get("/healthz")).json()
        assert body["status"] == "ok"
        assert body["connectors"] == {"helpdesk": {"kind": "generic", "status": "ok"}}


def test_the_check_runs_every_few_minutes(routing: RoutingConfig) -> None:
    from modest.app import build_service
    from tests.support.harness import load_settings

    settings = load_settings(env_file=None, telegram_bot_token="1:x")
    service = build_service(settings, routing, helpdesk=FakeHelpdesk())
    jobs = {job.id: job.every for job in periodic_jobs(routing, FakeHelpdesk(), service.domain)}
    assert jobs["connectors.check"].total_seconds() == 120


def test_russian_notices_and_admin_messages() -> None:
    renderer = TelegramRenderer(Texts("ru"), MOSCOW)
    notice = UnreadableTicket("4101", "HelpDeskEddy", FetchProblem.REFUSED, "HTTP 401", 5, 9)
    assert renderer.unreadable_ticket(notice)["text"] == (
        "⚠️ <b>#4101</b>: не удалось прочитать из HelpDeskEddy: неверный ключ API"
    )
    buttons = renderer.unreadable_ticket(notice)["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in buttons for b in row] == ["Прочитать ещё раз"]
    assert renderer.ticket_read(notice)["text"] == (
        "✅ <b>#4101</b>: прочитана из HelpDeskEddy, карточка ниже."
    )
    from datetime import UTC, datetime

    since = datetime(2026, 12, 3, 7, 5, tzinfo=UTC)
    status = ConnectorStatus(
        "helpdesk",
        "helpdeskeddy",
        "HelpDeskEddy",
        failing_since=since,
        error="HTTP 401",
        refused=True,
        blocks_intake=True,
    )
    assert renderer.connector_down(status)["text"] == (
        "⚠️ <b>HelpDeskEddy не работает</b> с 03.12 10:05: HTTP 401\n"
        "HelpDeskEddy не принимает ключ доступа Modest: исправьте его в настройках"
        " и перезапустите Modest.\n"
        "Пока сбой не устранён, новые заявки могут не дойти до чата диспетчеров."
    )
    assert renderer.connector_back(status, since=since)["text"] == (
        "✅ <b>HelpDeskEddy снова работает</b>, сбой длился с 03.12 10:05."
    )


HDE = "https://acme.helpdeskeddy.test/api/v2/"


@respx.mock
async def test_each_connector_declares_a_cheap_authenticated_check() -> None:
    respx.get(f"{HDE}departments/").respond(
        401, json={"errors": [{"code": 401, "title": "Unauthorized"}]}
    )
    hde = HelpDeskEddyConnector(base_url=HDE, email="bot@acme.test", api_key="k")
    with pytest.raises(AccessDenied) as refused:
        await hde.check_access()
    assert refused.value.rejected
    await hde.aclose()

    respx.get("https://redmine.test/users/current.json").respond(401)
    redmine = RedmineConnector(base_url="https://redmine.test", api_key="k")
    with pytest.raises(AccessDenied):
        await redmine.check_access()
    await redmine.aclose()

    respx.get("https://rt.test/REST/2.0/rt").respond(403, json={"message": "Forbidden"})
    rt = RequestTrackerConnector(base_url="https://rt.test", token="t")
    with pytest.raises(AccessDenied) as forbidden:
        await rt.check_access()
    assert not forbidden.value.rejected
    await rt.aclose()

    respx.post("https://b24.test/rest/1/code/profile").respond(
        401, json={"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}
    )
    b24 = Bitrix24Connector(webhook_url="https://b24.test/rest/1/code/")
    with pytest.raises(AccessDenied):
        await b24.check_access()
    await b24.aclose()

    respx.get(f"{HDE}tickets/5/").respond(404, json={"errors": [{"code": 404}]})
    hde = HelpDeskEddyConnector(base_url=HDE, email="bot@acme.test", api_key="k")
    with pytest.raises(PermanentError) as missing:
        await hde.fetch_ticket("5")
    assert not isinstance(missing.value, AccessDenied)
    await hde.aclose()


async def test_the_fake_portal_serves_departments(hde: HelpDeskEddyFake) -> None:
    connector = HelpDeskEddyConnector(base_url=hde.base_url, email=hde.email, api_key=hde.api_key)
    await connector.check_access()
    await connector.aclose()
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{hde.base_url}/departments/")
    assert answer.status_code == 401
