"""RT correspondence as replies, against respx-mocked REST2 answers recorded from RT 5.0.3.

The recorded ticket 2 (``tests/fixtures/rt/*_replies.json``, ``*_correspond.json``,
``user_*.json``): Maria Ivanova opened it; agent1 corresponded through REST2 (66) and
then commented (not in the Correspond search); Maria answered by mail through RT's
mail gateway, a text/plain and a text/html part (70); root corresponded in HTML (71).
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from config.routing import load_routing_text
from config.settings import load_settings
from connectors.base import TransientError
from connectors.rt import RequestTrackerConnector
from connectors.types import Reply, ReplyAuthor
from modest.app import build_helpdesk
from tests.support.paths import FIXTURES
from tests.support.routing import ROUTING_YAML

WEB = "http://rt.test"
API = f"{WEB}/REST/2.0/"
TOKEN = "1-14-0123456789abcdef-rt-token"
AT = datetime(2026, 12, 3, 6, 14, 33, tzinfo=UTC)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / "rt" / f"{name}.json").read_text())


def limits(request: httpx.Request) -> list[dict[str, Any]]:
    """The JSON query of a REST2 search."""
    found: list[dict[str, Any]] = json.loads(request.url.params["query"])
    return found


def listing(*tickets: dict[str, Any]) -> dict[str, Any]:
    return {"items": list(tickets), "count": len(tickets), "page": 1, "per_page": 100}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        router.get("tickets", params={"query": "id = 2"}).respond(
            json=fixture("tickets_search_replies")
        )
        router.get("ticket/2/history").respond(json=fixture("history_first_replies"))
        router.get("transaction/64/attachments").respond(
            json=fixture("attachments_create_replies")
        )
        router.get("user/root").respond(json=fixture("user_root"))
        yield router


def recorded_replies(api: respx.MockRouter) -> tuple[respx.Route, respx.Route]:
    searched = api.get("transactions").respond(json=fixture("transactions_correspond"))
    texts = api.get("attachments").respond(json=fixture("attachments_correspond"))
    return searched, texts


@pytest.fixture
async def rt() -> AsyncIterator[RequestTrackerConnector]:
    connector = RequestTrackerConnector(
        base_url=WEB, token=TOKEN, retry_wait=0, staff_users=("agent1", "agent2")
    )
    yield connector
    await connector.aclose()


EXPECTED = (
    Reply(
        external_id="66",
        author=ReplyAuthor.STAFF,
        at=AT,
        author_ref="agent1",
        author_name="Agent1",
        text="Please check the toner.\nIvan",
    ),
    Reply(
        external_id="70",
        author=ReplyAuthor.CLIENT,
        at=AT + timedelta(seconds=1),
        author_name="Maria Ivanova",
        text="Toner is new. Всё ещё пусто.",  # the text/plain part of the mail
    ),
    Reply(
        external_id="71",
        author=ReplyAuthor.STAFF,
        at=AT + timedelta(seconds=3),
        author_ref="root",
        author_name="Enoch Root",
        text="Replaced the fuser; fixed.",
    ),
)


async def test_fetch_reads_correspondence_as_staff_and_client_replies(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    searched, texts = recorded_replies(api)

    ticket = await rt.fetch_ticket("2")

    assert ticket.body == "Every page comes out blank."
    assert ticket.replies == EXPECTED
    assert limits(searched.calls[0].request) == [
        {"field": "ObjectType", "value": "RT::Ticket"},
        {"field": "ObjectId", "operator": "IN", "value": [2]},
        {"field": "Type", "value": "Correspond"},  # never Comment: comments are internal
    ]
    params = searched.calls[0].request.url.params
    assert params["fields"] == "Type,Creator,Created,ObjectId"
    assert params["fields[Creator]"] == "Name,RealName,EmailAddress"
    assert (params["orderby"], params["order"], params["per_page"]) == ("id", "DESC", "100")
    assert limits(texts.calls[0].request) == [
        {"field": "TransactionId", "operator": "IN", "value": [71, 70, 66]},
        {"field": "ContentType", "operator": "STARTSWITH", "value": "text/"},
    ]
    # agent1 is a routing-file person, Maria the requestor: only root's rights are asked.
    assert [call.request.url.path for call in api.calls if "/user/" in call.request.url.path] == [
        "/REST/2.0/user/root"
    ]


async def test_an_unchanged_ticket_is_not_read_again_and_texts_are_read_once(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    searched, texts = recorded_replies(api)
    first = await rt.fetch_ticket("2")
    again = await rt.fetch_ticket("2")
    assert first.replies == again.replies == EXPECTED
    assert (searched.call_count, texts.call_count) == (1, 1), "LastUpdated is the same"

    changed = fixture("tickets_search_replies")
    changed["items"][0]["LastUpdated"] = "2026-12-03T06:20:00Z"
    api.get("tickets", params={"query": "id = 2"}).respond(json=changed)
    third = await rt.fetch_ticket("2")
    assert third.replies == EXPECTED
    assert searched.call_count == 2, "a changed ticket is searched again"
    assert texts.call_count == 1, "a transaction's text never changes"
    user_calls = [c for c in api.calls if c.request.url.path.endswith("/user/root")]
    assert len(user_calls) == 1, "an author's rights are asked once"


async def test_a_ticket_read_within_the_second_it_changed_is_read_again(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    # RT's dates have whole seconds: a reply later in that second leaves LastUpdated as is.
    searched, _texts = recorded_replies(api)
    moment = fixture("tickets_search_replies")
    moment["items"][0]["LastUpdated"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    api.get("tickets", params={"query": "id = 2"}).respond(json=moment)
    await rt.fetch_ticket("2")
    await rt.fetch_ticket("2")
    assert searched.call_count == 2


async def test_listing_reads_a_pages_replies_in_one_search_from_the_window_start(
    api: respx.MockRouter,
) -> None:
    ticket = fixture("tickets_search_replies")["items"][0]
    quiet = copy.deepcopy(ticket)
    quiet["id"], quiet["Created"] = "3", "2026-12-01T08:00:00Z"  # an old ticket changed
    api.get("tickets").respond(json=listing(ticket, quiet))
    searched, texts = recorded_replies(api)
    moscow = RequestTrackerConnector(
        base_url=WEB, token=TOKEN, timezone=ZoneInfo("Europe/Moscow"), staff_users=["agent1"]
    )
    since = datetime(2026, 12, 3, 6, 10, 0, 500_000, tzinfo=UTC)
    try:
        listed = {t.external_id: t async for t in moscow.list_updated_since(since)}
    finally:
        await moscow.aclose()

    assert listed["2"].replies == EXPECTED
    assert listed["3"].replies == ()
    assert searched.call_count == texts.call_count == 1, "one search for the page's tickets"
    assert limits(searched.calls[0].request)[1:] == [
        {"field": "ObjectId", "operator": "IN", "value": [2, 3]},
        {"field": "Type", "value": "Correspond"},
        # SQL sees it as given: the UTC RT stores, whatever zone TicketSQL dates are read in.
        {"field": "Created", "operator": ">=", "value": "2026-12-03 06:10:00"},
    ]


async def test_a_requestor_is_the_client_and_an_unprivileged_other_is_not_staff(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    answer = fixture("transactions_correspond")
    cc, stranger = copy.deepcopy(answer["items"][0]), copy.deepcopy(answer["items"][0])
    cc["id"], cc["Creator"] = "80", {"id": "boss@acme.test", "Name": "boss@acme.test"}
    stranger["id"], stranger["Creator"] = "81", {"id": "gone", "Name": "gone"}
    comment = {**copy.deepcopy(answer["items"][0]), "id": "82", "Type": "Comment"}
    other_ticket = {**copy.deepcopy(answer["items"][0]), "id": "83", "ObjectId": "9"}
    maria = copy.deepcopy(answer["items"][1])
    maria["id"], maria["Creator"]["Name"] = "84", "MARIA@acme.test"  # logins ignore case
    answer["items"] = [cc, stranger, comment, other_ticket, maria]
    api.get("transactions").respond(json=answer)
    api.get("attachments").respond(json={"items": []})
    unprivileged = fixture("user_requestor")
    api.get("user/boss@acme.test").respond(json={**unprivileged, "Name": "boss@acme.test"})
    api.get("user/gone").respond(404, json={"message": "Not Found"})

    replies = (await rt.fetch_ticket("2")).replies

    assert [(r.external_id, r.author, r.author_ref) for r in replies] == [
        ("80", ReplyAuthor.CLIENT, None),  # a Cc of the client's side
        ("81", ReplyAuthor.CLIENT, None),  # RT does not know the user: not counted as staff
        ("84", ReplyAuthor.CLIENT, None),
    ], "a Comment, or a transaction of another ticket, is never a reply"


async def test_replies_rt_refuses_to_search_cost_only_the_replies(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    api.get("transactions").respond(400, json={"message": "Invalid query"})
    ticket = await rt.fetch_ticket("2")
    assert (ticket.subject, ticket.body, ticket.replies) == (
        "Printer prints blank pages",
        "Every page comes out blank.",
        (),
    )


async def test_replies_unreadable_for_now_fail_the_read_to_be_tried_again(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    route = api.get("transactions").respond(503)
    with pytest.raises(TransientError):
        await rt.fetch_ticket("2")
    assert route.call_count == 4, "retried as every call is, then left to the caller"
    route.respond(json=fixture("transactions_correspond"))
    api.get("attachments").respond(json=fixture("attachments_correspond"))
    assert (await rt.fetch_ticket("2")).replies == EXPECTED, "nothing was cached from the failure"


async def test_routing_people_are_rt_staff_without_a_lookup_and_rt_tells_replies(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("RT_URL", "RT_TOKEN", "RT_USER", "RT_PASSWORD", "RT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    text = ROUTING_YAML.replace(
        "    helpdesk_id: 12\n", "    helpdesk_id: 12\n    rt_user: root\n"
    )
    routing = load_routing_text(text + "helpdesk:\n  kind: rt\n", "routing.yaml")
    settings = load_settings(env_file=None, telegram_bot_token="1:x", rt_url=WEB, rt_token=TOKEN)
    connector = build_helpdesk(settings, routing)
    assert isinstance(connector, RequestTrackerConnector)
    assert connector.capabilities.tells_replies
    recorded_replies(api)
    api.get("user/agent1").respond(json={**fixture("user_root"), "Name": "agent1"})
    try:
        replies = (await connector.fetch_ticket("2")).replies
    finally:
        await connector.aclose()
    assert [(r.external_id, r.author) for r in replies] == [
        ("66", ReplyAuthor.STAFF),
        ("70", ReplyAuthor.CLIENT),
        ("71", ReplyAuthor.STAFF),
    ]
    looked_up = [c.request.url.path for c in api.calls if "/user/" in c.request.url.path]
    assert looked_up == ["/REST/2.0/user/agent1"], "root is a routing-file person here"
