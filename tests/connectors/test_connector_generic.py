"""Generic webhook parsing, the generic connector, the fake helpdesk and the registry."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from connectors.base import HELPDESK, PermanentError, TransientError
from connectors.fake import FakeHelpdesk
from connectors.generic import MAX_BODY, GenericHelpdeskConnector, parse_generic_webhook
from connectors.helpdeskeddy import HelpDeskEddyConnector
from connectors.helpdeskeddy_plugin import HelpDeskEddySettings
from connectors.payload import PayloadError
from connectors.plugin import ConnectorPlugin, ConnectorSettings
from connectors.registry import ConnectorRegistry, default_registry
from dispatch.models import Client, TicketData, TicketEventKind

FULL_BODY: dict[str, object] = {
    "event": "ticket.created",
    "delivery_id": "abc-1",
    "ticket": {
        "id": 123,
        "number": "A-123",
        "subject": "VPN is down",
        "body": "Nobody can connect.",
        "status": "open",
        "priority": "high",
        "type": "incident",
        "department": 1,
        "assignee": "11",
        "closed": False,
        "client": {"name": "Ivan Petrov", "email": "ivan@client.test", "company": "Client LLC"},
        "url": "https://helpdesk.example/tickets/123",
        "created_at": "2026-11-22T10:00:00+03:00",
    },
}


def body_with(**ticket_changes: object) -> dict[str, object]:
    body = copy.deepcopy(FULL_BODY)
    ticket = body["ticket"]
    assert isinstance(ticket, dict)
    for key, value in ticket_changes.items():
        if value is ...:
            del ticket[key]
        else:
            ticket[key] = value
    return body


def test_full_body_maps_every_field() -> None:
    kind, ticket, delivery_id = parse_generic_webhook(FULL_BODY)
    assert kind is TicketEventKind.CREATED
    assert delivery_id == "abc-1"
    assert ticket == TicketData(
        external_id="123",
        number="A-123",
        subject="VPN is down",
        body="Nobody can connect.",
        status="open",
        priority="high",
        type="incident",
        department_ref="1",
        assignee_ref="11",
        client=Client(name="Ivan Petrov", email="ivan@client.test", company="Client LLC"),
        url="https://helpdesk.example/tickets/123",
        created_at=datetime(2026, 11, 22, 7, 0, tzinfo=UTC),
        closed=False,
    )


def test_minimal_body_gets_defaults() -> None:
    kind, ticket, delivery_id = parse_generic_webhook(
        {"event": "ticket.closed", "ticket": {"id": "T-9", "subject": "Done"}}
    )
    assert kind is TicketEventKind.CLOSED
    assert delivery_id is None
    assert ticket.number == "T-9"
    assert ticket.closed is True  # defaults to event == ticket.closed
    assert ticket.department_ref is None
    assert ticket.assignee_ref is None
    assert ticket.client == Client()
    assert ticket.url is None
    assert ticket.created_at is None


def test_explicit_closed_wins_over_event() -> None:
    body = body_with(closed=True)
    assert parse_generic_webhook(body)[1].closed is True
    body = {"event": "closed", "ticket": {"id": 1, "subject": "s", "closed": False}}
    assert parse_generic_webhook(body)[1].closed is False


def test_naive_created_at_is_utc_and_nulls_are_tolerated() -> None:
    body = body_with(
        created_at="2026-11-22T10:00:00",
        department=None,
        assignee="",
        url=None,
        body=None,
        client={"name": None, "email": "e@x.test"},
    )
    ticket = parse_generic_webhook(body)[1]
    assert ticket.created_at == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert ticket.department_ref is None
    assert ticket.assignee_ref is None
    assert ticket.url is None
    assert ticket.body == ""
    assert ticket.client == Client(email="e@x.test")


def test_long_body_is_truncated_not_rejected() -> None:
    ticket = parse_generic_webhook(body_with(body="x" * (MAX_BODY + 10)))[1]
    assert len(ticket.body) == MAX_BODY


def test_unknown_top_level_and_ticket_keys_are_ignored() -> None:
    body = body_with(custom={"a": 1})
    body["helpdesk_version"] = "9.1"
    assert parse_generic_webhook(body)[1].external_id == "123"


def test_short_event_names_are_accepted() -> None:
    body = copy.deepcopy(FULL_BODY)
    body["event"] = "assigned"
    assert parse_generic_webhook(body)[0] is TicketEventKind.ASSIGNED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "$"),
        ("ticket", "$"),
        ({"ticket": {"id": 1, "subject": "s"}}, "event"),
        ({"event": "ticket.deleted", "ticket": {"id": 1, "subject": "s"}}, "event"),
        ({"event": 3, "ticket": {"id": 1, "subject": "s"}}, "event"),
        ({"event": "created"}, "ticket"),
        ({"event": "created", "ticket": "123"}, "ticket"),
        (body_with(id=...), "ticket.id"),
        (body_with(id=" "), "ticket.id"),
        (body_with(id=True), "ticket.id"),
        (body_with(id=1.5), "ticket.id"),
        (body_with(subject=...), "ticket.subject"),
        (body_with(subject=None), "ticket.subject"),
        (body_with(subject="s" * 1001), "ticket.subject"),
        (body_with(status=["open"]), "ticket.status"),
        (body_with(department={"id": 1}), "ticket.department"),
        (body_with(closed="yes"), "ticket.closed"),
        (body_with(url="javascript:alert(1)"), "ticket.url"),
        (body_with(url="ftp://files.example/x"), "ticket.url"),
        (body_with(created_at="yesterday"), "ticket.created_at"),
        (body_with(created_at=1700000000), "ticket.created_at"),
        (body_with(client={"email": 5}), "ticket.client.email"),
        (body_with(client="Ivan"), "ticket.client"),
    ],
)
def test_bad_bodies_name_the_field(body: object, field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_generic_webhook(body)
    assert caught.value.field == field
    assert caught.value.message
    assert "pydantic" not in caught.value.message


async def test_generic_connector_cannot_fetch_and_writes_nothing() -> None:
    connector = GenericHelpdeskConnector()
    assert connector.slug == "generic"
    assert connector.capabilities.fetches_tickets is False
    with pytest.raises(PermanentError):
        await connector.fetch_ticket("1")
    await connector.assign("1", department_ref="2", assignee_ref="3")
    await connector.add_internal_note("1", "note")
    await connector.aclose()


async def test_fake_helpdesk_records_and_fails_on_demand() -> None:
    fake = FakeHelpdesk()
    fake.put(TicketData(external_id="5", number="5", subject="s"))
    assert (await fake.fetch_ticket("5")).subject == "s"
    with pytest.raises(PermanentError):
        await fake.fetch_ticket("404")

    fake.fail_assign(2, TransientError("down"))
    for _ in range(2):
        with pytest.raises(TransientError):
            await fake.assign("5", department_ref="1", assignee_ref="9")
    await fake.assign("5", department_ref="1", assignee_ref="9")
    await fake.add_internal_note("5", "hello")

    assert fake.assignments == [("5", "1", "9")]
    assert fake.notes == [("5", "hello")]
    assert fake.tickets["5"].assignee_ref == "9"


async def test_default_registry_builds_known_helpdesks() -> None:
    registry = default_registry()
    assert registry.slugs(HELPDESK) == ["generic", "helpdeskeddy", "rt"]
    assert isinstance(registry.create(HELPDESK, "generic", {}), GenericHelpdeskConnector)
    options = HelpDeskEddySettings(
        helpdeskeddy_url="https://acme.helpdeskeddy.com",
        helpdeskeddy_email="bot@acme.test",
        helpdeskeddy_api_key="secret-key",
        timezone="Europe/Moscow",
    )
    assert "secret-key" not in repr(options)
    connector = registry.plugin(HELPDESK, "helpdeskeddy").create(options)
    assert isinstance(connector, HelpDeskEddyConnector)
    await connector.aclose()
    # Each call gives an independent registry: no shared mutable state.
    assert default_registry() is not registry


def test_registry_errors() -> None:
    registry = default_registry()
    with pytest.raises(ValueError, match="known: generic, helpdeskeddy"):
        registry.create(HELPDESK, "zendesk", {})
    with pytest.raises(ValueError, match="HELPDESKEDDY_EMAIL and HELPDESKEDDY_API_KEY"):
        registry.create(HELPDESK, "helpdeskeddy", {"helpdeskeddy_url": "https://x.test"})
    with pytest.raises(ValueError, match="already registered"):
        registry.register(
            ConnectorPlugin(HELPDESK, "generic", ConnectorSettings, lambda s: FakeHelpdesk())
        )
    registry.register(
        ConnectorPlugin(HELPDESK, "fake", ConnectorSettings, lambda s: FakeHelpdesk())
    )
    assert isinstance(ConnectorRegistry().slugs(HELPDESK), list)
    assert isinstance(registry.create(HELPDESK, "fake", {}), FakeHelpdesk)
