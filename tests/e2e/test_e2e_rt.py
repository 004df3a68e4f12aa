"""End to end with a real Request Tracker 5: polling → card → taps → Queue and Owner in RT.

RT is started once per session by ``shared/services/rt-up`` (idempotent, about a
second when it already runs). The real Modest service polls it every second with the
connector built from ``RT_URL``/``RT_TOKEN``, against the Telegram Bot API emulator.
RT is shared across tests and runs: every test uses subjects of its own, finds its
card by subject, and resolves its tickets when it ends so that later tests' first
polls see them closed (a closed ticket gets no card).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from config.routing import RoutingConfig, load_routing_text
from config.settings import load_settings
from connectors.base import PermanentError
from connectors.rt import RequestTrackerConnector
from modest.app import build_helpdesk
from storage.db import Database
from tests.support.dispatching import DISPATCH, OLGA, REASSIGN, assign_by_taps, labels
from tests.support.harness import SECRET, Harness, migrate, running_modest
from tests.support.rt import RtServer
from tests.support.telegram_emulator import EmulatedMessage, TelegramEmulator

RT_ROUTING = """\
timezone: Europe/Moscow
language: en
helpdesk:
  kind: rt
  poll_interval: {poll}
dispatch:
  chat_id: -1001234567890
departments:
  - key: support
    name: Support
    rt_queue: Support
    members: [ivan, olga]
  - key: dev
    name: Development
    rt_queue: Development
    members: [olga]
people:
  - key: ivan
    name: Ivan Petrov
    telegram_id: 1001
    rt_user: agent1
    roles: [dispatcher, specialist]
  - key: olga
    name: Olga Sidorova
    telegram_id: 1002
    rt_user: agent2
    roles: [dispatcher, specialist]
"""


class RtApi:
    """REST2 calls a person would make in RT, straight to the server (not through Modest)."""

    def __init__(self, server: RtServer, *, login: str | None = None) -> None:
        auth = (login, server.password) if login else None
        headers = {} if login else {"Authorization": f"token {server.token}"}
        self.client = httpx.AsyncClient(
            base_url=f"{server.url}/REST/2.0/", auth=auth, headers=headers, timeout=10
        )
        self.created: list[str] = []

    async def create(self, subject: str, **fields: Any) -> str:
        """A new ticket in Support (unless ``Queue`` says otherwise); returns its id."""
        body = {"Queue": "Support", "Subject": subject, "ContentType": "text/plain", **fields}
        body.setdefault("Content", f"{subject}: please help")
        answer = await self.client.post("ticket", json=body)
        assert answer.status_code == 201, answer.text
        ticket_id = str(answer.json()["id"])
        self.created.append(ticket_id)
        return ticket_id

    async def update(self, ticket_id: str, **fields: Any) -> list[str]:
        answer = await self.client.put(f"ticket/{ticket_id}", json=fields)
        assert answer.status_code == 200, answer.text
        messages: list[str] = answer.json()
        return messages

    async def names(self, ticket_id: str) -> tuple[str, str, str]:
        """(queue name, owner name, status) as RT has them now."""
        answer = await self.client.get(
            "tickets",
            params={
                "query": f"id = {ticket_id}",
                "fields": "Queue,Owner,Status",
                "fields[Queue]": "Name",
                "fields[Owner]": "Name",
            },
        )
        item = answer.json()["items"][0]
        return item["Queue"]["Name"], item["Owner"]["Name"], item["Status"]

    async def history(self, ticket_id: str) -> list[dict[str, Any]]:
        """Every transaction of the ticket, oldest first."""
        params = {"per_page": 100, "fields": "Type"}
        answer = await self.client.get(f"ticket/{ticket_id}/history", params=params)
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def contents(self, transaction_id: str) -> list[str]:
        params = {"fields": "Content,ContentType"}
        answer = await self.client.get(f"transaction/{transaction_id}/attachments", params=params)
        return [part["Content"] for part in answer.json()["items"] if part["Content"]]


@pytest.fixture
async def rt_api(rt_server: RtServer) -> AsyncIterator[RtApi]:
    """RT as root; the tickets a test creates are resolved when it ends."""
    api = RtApi(rt_server)
    yield api
    for ticket_id in api.created:
        await api.update(ticket_id, Status="resolved")
    await api.client.aclose()


def rt_routing(poll: str = "1s") -> RoutingConfig:
    return load_routing_text(RT_ROUTING.format(poll=poll), "routing.yaml")


def unique(subject: str) -> str:
    return f"{subject} [{uuid.uuid4().hex[:8]}]"


async def start_watermark_now(db_url: str) -> None:
    """Start polling from now, as a service that has been running would.

    Without a watermark the first pass looks an hour back, and the shared RT's
    older open tickets would flood the emulated chat past Telegram's group limit.
    """
    await migrate(db_url)
    database = Database(db_url)
    async with database.unit_of_work() as uow:
        await uow.sync_state.put(key="poll.rt.watermark", value=datetime.now(UTC).isoformat())
        await uow.commit()
    await database.dispose()


def modest(
    tg: TelegramEmulator, routing: RoutingConfig, db_url: str, rt: RtServer
) -> AbstractAsyncContextManager[Harness]:
    """The service, configured for RT exactly as an operator would (RT_URL, RT_TOKEN)."""
    return running_modest(tg, routing, db_url, rt_url=rt.url, rt_token=rt.token)


def cards_about(h: Harness, subject: str) -> list[EmulatedMessage]:
    return [m for m in h.tg.messages(DISPATCH) if subject in m.text]


async def card_for(h: Harness, subject: str, timeout: float = 6.0) -> EmulatedMessage:
    """Wait for the dispatch chat's card of the ticket with this subject."""
    await h.tg.wait_for(lambda: bool(cards_about(h, subject)), timeout)
    return cards_about(h, subject)[0]


async def test_polled_ticket_gets_a_card_and_taps_set_queue_and_owner_in_rt(
    tg: TelegramEmulator, rt_server: RtServer, rt_api: RtApi, sqlite_url: str
) -> None:
    await start_watermark_now(sqlite_url)
    async with modest(tg, rt_routing(), sqlite_url, rt_server) as h:
        subject = unique("VPN is down")
        ticket_id = await rt_api.create(
            subject,
            Requestor="Maria Ivanova <maria@acme.test>",
            Priority=30,
            Content="Nobody can connect since 9:00.\nPlease help!",
        )
        # Within the 1 s poll interval, plus the time to post the card.
        card = await card_for(h, subject, timeout=4)
        assert f"#{ticket_id} {subject}" in card.text
        assert "Maria Ivanova" in card.text
        assert "priority: 30" in card.text
        assert "📂 Support" in card.text, "the queue, by its department name"
        assert "Nobody can connect since 9:00." in card.text
        assert f'href="{rt_server.url}/Ticket/Display.html?id={ticket_id}"' in card.html
        assert labels(h, card.message_id) == [
            *("Support", "Development"),
            "🙋 Take it myself",  # its dispatchers are specialists too (issue 17.10)
        ]

        await assign_by_taps(h, card.message_id, department="Development", person="Olga Sidorova")
        await tg.wait_for(
            lambda: (
                "Assigned to Olga Sidorova (Development) by Ivan Petrov"
                in tg.message(DISPATCH, card.message_id).text
                and "Saving" not in tg.message(DISPATCH, card.message_id).text
            ),
            timeout=5,
        )
        assert await rt_api.names(ticket_id) == ("Development", "agent2", "new")
        await tg.wait_for(lambda: any(subject in m.text for m in tg.messages(OLGA)))
        assert len(cards_about(h, subject)) == 1


async def test_ticket_taken_in_rt_by_another_user_updates_the_card(
    tg: TelegramEmulator, rt_server: RtServer, rt_api: RtApi, sqlite_url: str
) -> None:
    await start_watermark_now(sqlite_url)
    agent2 = RtApi(rt_server, login="agent2")
    try:
        async with modest(tg, rt_routing(), sqlite_url, rt_server) as h:
            subject = unique("Printer jammed")
            ticket_id = await rt_api.create(subject)
            card = await card_for(h, subject)
            assert "Not assigned" in card.text

            await agent2.update(ticket_id, Owner="agent2")  # agent2 takes it in RT's UI

            await tg.wait_for(
                lambda: (
                    "Assigned to Olga Sidorova (Support) in the helpdesk"
                    in tg.message(DISPATCH, card.message_id).text
                ),
                timeout=5,
            )
            assert [b[0] for b in tg.buttons(DISPATCH, card.message_id)] == [REASSIGN]
            await tg.wait_for(lambda: any(subject in m.text for m in tg.messages(OLGA)))
            async with h.service.database.unit_of_work() as uow:
                ticket = await uow.tickets.get_by_external(source="rt", external_id=ticket_id)
                assert ticket is not None
                assert ticket.id is not None
                nag = await uow.nags.get(ticket_id=ticket.id)
            assert nag is not None
            assert not nag.active, "taken in RT: its reminders stop"
    finally:
        await agent2.client.aclose()


async def test_resolved_in_rt_closes_the_card(
    tg: TelegramEmulator, rt_server: RtServer, rt_api: RtApi, sqlite_url: str
) -> None:
    await start_watermark_now(sqlite_url)
    async with modest(tg, rt_routing(), sqlite_url, rt_server) as h:
        subject = unique("Disk full")
        ticket_id = await rt_api.create(subject)
        card = await card_for(h, subject)
        await rt_api.update(ticket_id, Status="resolved")
        await tg.wait_for(
            lambda: "Closed in the helpdesk" in tg.message(DISPATCH, card.message_id).text,
            timeout=5,
        )
        assert tg.buttons(DISPATCH, card.message_id) == []


async def test_restart_does_not_repeat_a_card(
    tg: TelegramEmulator, rt_server: RtServer, rt_api: RtApi, sqlite_url: str
) -> None:
    await start_watermark_now(sqlite_url)
    subject = unique("Mail bounces")
    async with modest(tg, rt_routing(), sqlite_url, rt_server) as h:
        ticket_id = await rt_api.create(subject)
        await card_for(h, subject)

    async with modest(tg, rt_routing(), sqlite_url, rt_server) as h:
        await rt_api.update(ticket_id, Priority=40)
        # The real poll job reads the change (and the watermark's overlap re-reads the rest).
        await wait_until(lambda: priorities(h, ticket_id), ["40"])
        await asyncio.sleep(1.5)  # more passes, time for a wrongly repeated card to show
        assert len(cards_about(h, subject)) == 1
        assert await priorities(h, ticket_id) == ["40"]


async def priorities(h: Harness, ticket_id: str) -> list[str]:
    """The stored priority of every ticket row with this RT id."""
    return [
        t.priority for t in await h.tickets() if t.source == "rt" and t.external_id == ticket_id
    ]


async def wait_until(
    probe: Callable[[], Awaitable[object]], expected: object, timeout: float = 5.0
) -> None:
    """Poll ``probe`` until it returns ``expected``."""
    deadline = time.monotonic() + timeout
    while (value := await probe()) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r}, expected {expected!r}")
        await asyncio.sleep(0.1)


async def test_webhook_fetches_the_ticket_with_its_text(
    tg: TelegramEmulator, rt_server: RtServer, rt_api: RtApi, sqlite_url: str
) -> None:
    # Polling once an hour: only the webhook can bring this card in time.
    async with modest(tg, rt_routing("1h"), sqlite_url, rt_server) as h:
        subject = unique("Wi-Fi drops")
        ticket_id = await rt_api.create(
            subject, Content="<p>Every <b>10 minutes</b></p>", ContentType="text/html"
        )
        answer = await h.http.post(
            "/webhooks/rt",
            params={"secret": SECRET},
            json={"ticket_id": ticket_id, "event": "ticket.created"},
        )
        assert answer.status_code == 200, answer.text
        card = await card_for(h, subject, timeout=5)
        assert "Every 10 minutes" in card.text


async def test_internal_note_is_a_comment_not_correspondence_and_time_adds_up(
    rt_server: RtServer, rt_api: RtApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("RT_URL", "RT_TOKEN", "RT_USER", "RT_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(
        env_file=None, telegram_bot_token="1:x", rt_url=rt_server.url, rt_token=rt_server.token
    )
    connector = build_helpdesk(settings, rt_routing())
    ticket_id = await rt_api.create(unique("Note target"), Requestor="client@acme.test")
    text = "Assigned by Modest to Olga <agent2> & co"
    try:
        await connector.add_internal_note(ticket_id, text)
        await connector.record_time(ticket_id, minutes=25)  # the ticket's total so far
        await connector.record_time(ticket_id, minutes=30)  # closed again: 5 more
    finally:
        await connector.aclose()
    history = await rt_api.history(ticket_id)
    types = [item["Type"] for item in history]
    assert types.count("Comment") == 1
    assert "Correspond" not in types
    comment = next(item for item in history if item["Type"] == "Comment")
    assert text in await rt_api.contents(comment["id"])
    single = await rt_api.client.get(f"ticket/{ticket_id}")
    assert single.json()["TimeWorked"] == "30"


async def test_connector_against_real_rt_basic_auth_errors_and_listing(
    rt_server: RtServer, rt_api: RtApi
) -> None:
    since = datetime.now(UTC)
    new_id = await rt_api.create(unique("Listing new"), Requestor="Lena <lena@acme.test>")
    done_id = await rt_api.create(unique("Listing resolved"))
    await rt_api.update(done_id, Status="resolved")
    agent = RequestTrackerConnector(
        base_url=rt_server.url, user="agent1", password=rt_server.password
    )
    wrong = RequestTrackerConnector(base_url=rt_server.url, token="1-1-not-a-token")
    try:
        listed = {t.external_id: t async for t in agent.list_updated_since(since)}
        assert listed[new_id].body == f"{listed[new_id].subject}: please help"
        assert (listed[new_id].client.name, listed[new_id].department_ref) == ("Lena", "Support")
        assert listed[new_id].assignee_ref is None
        assert not listed[new_id].closed
        assert (listed[done_id].status, listed[done_id].closed) == ("resolved", True)

        with pytest.raises(PermanentError, match="That user does not exist"):
            await agent.assign(new_id, department_ref=None, assignee_ref="no-such-user")
        with pytest.raises(PermanentError, match="HTTP 401"):
            await wrong.fetch_ticket(new_id)
    finally:
        await agent.aclose()
        await wrong.aclose()
