"""A connector added from outside: registered in a fresh registry, built from the routing
file, its webhook served, with no change anywhere else. Then a whole new kind of
connector, which needs its plugin and one line of wiring (who takes its events)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import ClassVar

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import AliasPath, Field

from config.routing import load_routing_text
from config.settings import load_settings
from connectors.base import HELPDESK, HelpdeskConnector, PermanentError
from connectors.environment import HelpdeskWebhookEnvironment
from connectors.payload import PayloadError
from connectors.plugin import (
    Capabilities,
    ConnectorKind,
    ConnectorPlugin,
    ConnectorSettings,
    References,
)
from connectors.redmine_plugin import RedmineSettings, parse_issue_event
from connectors.registry import default_registry
from connectors.types import TicketData, TicketEventKind
from connectors.webhooks import (
    RequestHead,
    TaskNamed,
    TicketDelivered,
    Webhook,
    WebhookRejected,
    WebhookRequest,
    WebhookResult,
    admit_shared_secret,
)
from modest.web import Deliveries, Delivery, WebhookEndpoint, WebhookServer, build_web_app
from modest.wiring import connector_source
from storage.db import Database
from tests.support.harness import SECRET, running_modest
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator

DISPATCH, IVAN, OLGA = -1001234567890, 1001, 1002


class AcmeDesk(HelpdeskConnector):
    """A helpdesk that posts form-encoded tickets and takes nothing back."""

    slug: ClassVar[str] = "acme-desk"
    capabilities: ClassVar[Capabilities] = Capabilities(accepts_events=True)

    def __init__(self, ticket_url: str | None) -> None:
        self.ticket_url = ticket_url
        self.assigned: list[str] = []

    async def fetch_ticket(self, external_id: str) -> TicketData:
        raise PermanentError("Acme cannot be asked")

    async def assign(
        self, external_id: str, *, department_ref: str | None, assignee_ref: str | None
    ) -> None:
        self.assigned.append(external_id)

    async def add_internal_note(self, external_id: str, text: str) -> None:
        raise PermanentError("Acme takes no notes")


class AcmeSettings(HelpdeskWebhookEnvironment, ConnectorSettings):
    ticket_url: str | None = Field(
        None, validation_alias=AliasPath("routing", "helpdesk", "ticket_url")
    )


def parse_acme(request: WebhookRequest, settings: AcmeSettings) -> TicketDelivered:
    ticket_id = request.form.get("id", "")
    if not ticket_id.isdigit():
        raise PayloadError("id", "must be a number")
    url = settings.ticket_url.format(id=ticket_id) if settings.ticket_url else None
    ticket = TicketData(ticket_id, f"ACME-{ticket_id}", request.form.get("title", ""), url=url)
    return TicketDelivered(TicketEventKind.CREATED, ticket, delivery_id=f"acme-{ticket_id}")


def acme_plugin() -> ConnectorPlugin[AcmeSettings, HelpdeskConnector]:
    return ConnectorPlugin(
        kind=HELPDESK,
        slug=AcmeDesk.slug,
        settings=AcmeSettings,
        build=lambda settings: AcmeDesk(settings.ticket_url),
        webhooks=(Webhook("/webhooks/acme", parse=parse_acme, admit=admit_shared_secret),),
        references=References(person="helpdesk_id", department="helpdesk_id"),
    )


async def test_a_helpdesk_registered_from_outside_is_built_and_its_webhook_served(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    registry = default_registry()
    registry.register(acme_plugin())
    routing = load_routing_text(
        ROUTING_YAML + "helpdesk:\n  kind: acme-desk\n  ticket_url: https://acme.test/t/{id}\n"
    )
    async with running_modest(tg, routing, sqlite_url, connectors=registry) as h:
        helpdesk = h.service.helpdesk
        assert isinstance(helpdesk, AcmeDesk)
        assert helpdesk.ticket_url == "https://acme.test/t/{id}"
        form = {"id": "7", "title": "Scanner jammed"}
        refused = await h.http.post("/webhooks/acme", data=form)
        assert refused.status_code == 401
        bad = await h.http.post("/webhooks/acme", data={"id": "x"}, params={"secret": SECRET})
        assert (bad.status_code, bad.json()) == (400, {"error": "must be a number", "field": "id"})
        answer = await h.http.post("/webhooks/acme", data=form, params={"secret": SECRET})
        assert (answer.status_code, answer.json()) == (200, {"status": "accepted"})
        card = await h.card()
        assert "#ACME-7 Scanner jammed" in card.text
        # The built-in webhooks are still there, and know Acme is the helpdesk in use.
        rt = await h.http.post("/webhooks/rt", json={}, params={"secret": SECRET})
        assert (rt.status_code, rt.json()) == (503, {"error": "the rt helpdesk is not configured"})

        # It does not write back (its capabilities say so): assigned in Modest only.
        await _tap(tg, card.message_id, IVAN, "Support")
        await tg.wait_for(lambda: "Olga Sidorova · 0" in _labels(tg, card.message_id))
        await _tap(tg, card.message_id, IVAN, "Olga Sidorova · 0")
        await tg.wait_for(lambda: any("ACME-7" in m.text for m in tg.messages(OLGA)))
        (ticket,) = await h.tickets()
        assert (ticket.source, ticket.assignee_key) == ("acme-desk", "olga")
    assert helpdesk.assigned == []


def _labels(tg: TelegramEmulator, message_id: int) -> list[str]:
    return [text for text, _data, _url in tg.buttons(DISPATCH, message_id)]


async def _tap(tg: TelegramEmulator, message_id: int, user: int, label: str) -> None:
    data = next(d for text, d, _ in tg.buttons(DISPATCH, message_id) if text == label)
    assert data is not None
    query = tg.press(DISPATCH, message_id, user, data)
    await tg.wait_for(lambda: query in tg.callback_answers)


class Phonebook:
    """A test-only kind of connector: an address book that says when a contact changed."""

    def __init__(self, owner: str) -> None:
        self.owner = owner


PHONEBOOK: ConnectorKind[Phonebook] = ConnectorKind("phonebook")


@dataclass(frozen=True, slots=True)
class ContactChanged(WebhookResult):
    contact_id: str


class PhonebookSettings(ConnectorSettings):
    owner: str = Field("nobody", validation_alias=AliasPath("routing", "timezone"))


def admit_token(head: RequestHead, settings: PhonebookSettings) -> None:
    if head.headers.get("X-Phonebook") != settings.owner:
        raise WebhookRejected(401, "not the phonebook")


def parse_contact(request: WebhookRequest, settings: PhonebookSettings) -> ContactChanged:
    return ContactChanged(request.body.decode())


async def test_a_new_kind_needs_its_plugin_and_one_line_of_wiring(sqlite_url: str) -> None:
    registry = default_registry()
    plugin = ConnectorPlugin(
        kind=PHONEBOOK,
        slug="phonebook",
        settings=PhonebookSettings,
        build=lambda settings: Phonebook(settings.owner),
        webhooks=(Webhook("/webhooks/phonebook", parse=parse_contact, admit=admit_token),),
    )
    registry.register(plugin)
    source = connector_source(
        load_settings(env_file=None, telegram_bot_token="1:x"), load_routing_text(ROUTING_YAML)
    )
    assert registry.create(PHONEBOOK, "phonebook", source).owner == "Europe/Moscow"
    assert registry.known_slugs()["phonebook"] == ["phonebook"]

    seen: list[str] = []

    async def take(result: ContactChanged, body: bytes) -> Delivery:
        seen.append(result.contact_id)
        return Delivery("accepted", result.contact_id)

    deliveries = Deliveries()
    deliveries.add(ContactChanged, take)  # the one line of wiring
    endpoints = WebhookEndpoint.of(plugin, plugin.load_settings(source), configured=True)
    database = Database(sqlite_url)
    app = build_web_app(endpoints, WebhookServer(deliveries, 100), database, 100)
    async with TestClient(TestServer(app)) as client:
        refused = await client.post("/webhooks/phonebook", data=b"c-1")
        assert refused.status == 401
        ok = await client.post(
            "/webhooks/phonebook", data=b"c-1", headers={"X-Phonebook": "Europe/Moscow"}
        )
        assert (ok.status, await ok.json()) == (200, {"status": "accepted"})
        huge = await client.post(
            "/webhooks/phonebook", data=b"x" * 101, headers={"X-Phonebook": "Europe/Moscow"}
        )
        assert (huge.status, await huge.json()) == (413, {"error": "body larger than 100 bytes"})
    await database.dispose()
    assert seen == ["c-1"]


def _signed(body: bytes, secret: str) -> WebhookRequest:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    head = RequestHead(headers={"X-Redmine-Signature-256": signature}, query={})
    return WebhookRequest(head, "application/json", body, {})


def test_the_redmine_webhook_parses_without_a_server() -> None:
    settings = RedmineSettings(redmine_webhook_secret="rm")
    body = b'{"type": "issue.updated", "data": {"issue": {"id": 7}}}'
    assert parse_issue_event(_signed(body, "rm"), settings) == TaskNamed("7", "issue.updated")
    with pytest.raises(WebhookRejected) as wrong:
        parse_issue_event(_signed(body, "other"), settings)
    assert (wrong.value.status, wrong.value.error) == (
        401,
        "missing or wrong X-Redmine-Signature-256",
    )
    with pytest.raises(WebhookRejected) as shapeless:
        parse_issue_event(_signed(b'{"data": {}}', "rm"), settings)
    assert (shapeless.value.status, shapeless.value.field) == (400, "data.issue.id")
    with pytest.raises(WebhookRejected, match="missing or wrong"):
        parse_issue_event(_signed(body, "rm"), RedmineSettings())
