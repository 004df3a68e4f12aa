"""HelpDeskEddy ``POST /tickets/``: a client's request opened as the client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest
import respx

from connectors.base import PermanentError, TransientError
from connectors.generic import GenericHelpdeskConnector
from connectors.helpdeskeddy import HelpDeskEddyConnector
from connectors.types import Attachment, NewTicket

BASE = "https://acme.helpdeskeddy.com/api/v2/"
CREATED = {
    "id": 501,
    "unique_id": "IQV-501",
    "date_created": "2026-12-03 10:00:00",
    "date_updated": "2026-12-03 10:00:00",
    "title": "Export is broken",
    "status_id": "open",
    "priority_id": 1,
    "owner_id": 0,
    "user_id": 77,
    "user_name": "Boris",
    "user_lastname": "Orlov",
    "user_email": "boss@acme.example",
}
REQUEST = NewTicket(
    subject="Export is broken",
    description="It stops at 3 a.m.\n<b>every</b> night",
    requester_email="boss@acme.example",
    requester_name="Boris Orlov",
    priority="high",
)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def hde() -> AsyncIterator[HelpDeskEddyConnector]:
    connector = HelpDeskEddyConnector(
        base_url="https://acme.helpdeskeddy.com", email="bot@acme.test", api_key="k", retry_wait=0
    )
    yield connector
    await connector.aclose()


async def test_create_posts_the_ticket_as_the_requester_and_reads_the_answer(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    route = api.post("tickets/").respond(json={"data": CREATED})
    assert hde.capabilities.creates_tickets
    ticket = await hde.create_ticket(REQUEST)
    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "title": "Export is broken",
        "description": (
            "Priority: high<br><br>It stops at 3 a.m.<br>&lt;b&gt;every&lt;/b&gt; night"
        ),
        "user_email": "boss@acme.example",
        "create_from_user": 1,
    }
    assert (ticket.external_id, ticket.number, ticket.subject) == (
        "501",
        "IQV-501",
        REQUEST.subject,
    )
    assert ticket.client.email == "boss@acme.example"
    assert ticket.body == REQUEST.description
    assert ticket.assignee_ref is None


async def test_create_sends_files_as_multipart_parts(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    route = api.post("tickets/").respond(json={"data": CREATED})
    files = (
        Attachment("log.txt", "text/plain", b"trace"),
        Attachment("shot.png", "image/png", b"\x89PNG"),
    )
    await hde.create_ticket(replace(REQUEST, attachments=files))
    request = route.calls.last.request
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    body = request.content
    assert b'name="files[0]"; filename="log.txt"' in body
    assert b'name="files[1]"; filename="shot.png"' in body
    assert b'name="user_email"\r\n\r\nboss@acme.example' in body
    assert b"trace" in body


async def test_create_is_tried_once_a_server_error_may_hide_a_created_ticket(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    route = api.post("tickets/").respond(status_code=502)
    with pytest.raises(TransientError):
        await hde.create_ticket(REQUEST)
    assert route.call_count == 1


async def test_create_refused_by_the_portal_is_permanent(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    api.post("tickets/").respond(
        status_code=400, json={"errors": [{"code": "e-400", "title": "Bad", "details": "title"}]}
    )
    with pytest.raises(PermanentError, match="title"):
        await hde.create_ticket(REQUEST)


async def test_a_helpdesk_without_the_capability_refuses_to_create() -> None:
    generic = GenericHelpdeskConnector()
    assert not generic.capabilities.creates_tickets
    with pytest.raises(PermanentError, match="cannot create"):
        await generic.create_ticket(REQUEST)
