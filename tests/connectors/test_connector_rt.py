"""Request Tracker connector against respx-mocked REST2 answers recorded from RT 5.0.3.

The JSON files in ``tests/fixtures/rt`` are real answers of the server that
``shared/services/rt-up`` starts (``answers.json`` keeps the short ones by name).
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from config.errors import ConfigError
from config.routing import load_routing_text
from config.settings import Settings, load_settings
from connectors.base import HELPDESK, PermanentError, RateLimitedError, TransientError
from connectors.registry import default_registry
from connectors.rt import RequestTrackerConnector, parse_rt_datetime
from connectors.rt_plugin import RequestTrackerSettings, rt_plugin
from modest.app import build_helpdesk
from tests.support.connectors import failures_and_logs
from tests.support.paths import FIXTURES
from tests.support.routing import ROUTING_YAML

RT_FIXTURES = FIXTURES / "rt"
WEB = "http://rt.test"
API = f"{WEB}/REST/2.0/"
TOKEN = "1-14-0123456789abcdef-rt-token"
ANSWERS: dict[str, dict[str, Any]] = json.loads((RT_FIXTURES / "answers.json").read_text())


def fixture(name: str) -> Any:
    return json.loads((RT_FIXTURES / f"{name}.json").read_text())


def search_answer(*ids: str) -> dict[str, Any]:
    """The recorded search, keeping only the tickets ``ids`` (ids 3, 4 and 5 exist)."""
    answer = fixture("tickets_search")
    answer["items"] = [item for item in answer["items"] if item["id"] in ids]
    answer["count"] = answer["total"] = len(answer["items"])
    return answer


def answer(name: str) -> httpx.Response:
    recorded = ANSWERS[name]
    return httpx.Response(recorded["status"], json=recorded["body"])


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        # Replies are tested in test_connector_rt_replies.py: here no ticket has any.
        router.get("transactions").respond(json=fixture("transactions_none"))
        yield router


@pytest.fixture
async def rt() -> AsyncIterator[RequestTrackerConnector]:
    connector = RequestTrackerConnector(base_url=WEB, token=TOKEN, retry_wait=0)
    yield connector
    await connector.aclose()


def mock_body(api: respx.MockRouter, ticket_id: str = "4") -> tuple[respx.Route, respx.Route]:
    history = api.get(f"ticket/{ticket_id}/history").respond(json=fixture("history_first"))
    parts = api.get("transaction/78/attachments").respond(json=fixture("attachments_create"))
    return history, parts


async def test_fetch_maps_names_and_reads_the_inline_text_not_the_attached_file(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    search = api.get("tickets", params={"query": "id = 4"}).respond(json=search_answer("4"))
    history, _parts = mock_body(api)

    ticket = await rt.fetch_ticket("4")

    assert ticket.external_id == ticket.number == "4"
    assert ticket.subject == "Crash in report export"
    assert ticket.body == "Stack trace attached"  # the HTML part, not trace.txt
    assert (ticket.status, ticket.priority, ticket.closed) == ("new", "0", False)
    assert ticket.department_ref == "Development"  # the queue's name, not its id "4"
    assert ticket.assignee_ref == "agent1"
    assert (ticket.client.name, ticket.client.email) == ("bob@client.test", "bob@client.test")
    assert ticket.url == f"{WEB}/Ticket/Display.html?id=4"
    assert ticket.created_at == datetime(2026, 11, 22, 9, 32, 23, tzinfo=UTC)
    assert ticket.updated_at == datetime(2026, 11, 22, 9, 32, 23, tzinfo=UTC)
    request = search.calls[0].request
    assert request.headers["Authorization"] == f"token {TOKEN}"
    params = request.url.params
    assert params["fields"] == "Subject,Status,Queue,Owner,Priority,Requestor,Created,LastUpdated"
    assert params["fields[Queue]"] == params["fields[Owner]"] == "Name"
    assert params["fields[Requestor]"] == "Name,EmailAddress,RealName"
    assert history.calls[0].request.url.params["per_page"] == "1"


async def test_resolved_is_closed_and_deleted_is_read_from_the_single_ticket(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    api.get("tickets", params={"query": "id = 5"}).respond(json=search_answer("5"))
    mock_body(api, "5")
    resolved = await rt.fetch_ticket("5")
    assert (resolved.status, resolved.closed) == ("resolved", True)

    # Searches never return deleted tickets: the connector falls back to GET /ticket/{id}.
    api.get("tickets", params={"query": "id = 6"}).respond(json=fixture("tickets_search_empty"))
    single = fixture("ticket_deleted")
    api.get("ticket/6").respond(json={**single, "id": 6})
    mock_body(api, "6")
    deleted = await rt.fetch_ticket("6")
    assert (deleted.external_id, deleted.status, deleted.closed) == ("6", "deleted", True)
    assert deleted.assignee_ref is None
    assert deleted.client.email == "carol@client.test"


async def test_unknown_ticket_is_permanent_and_not_retried(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    api.get("tickets").respond(json=fixture("tickets_search_empty"))
    single = api.get("ticket/999999").mock(return_value=answer("get_missing"))
    with pytest.raises(PermanentError, match="HTTP 404: Not Found"):
        await rt.fetch_ticket("999999")
    assert single.call_count == 1


@pytest.mark.parametrize("bad", ["", "0", "-3", "12a", "²", "1 OR id > 0"])
async def test_bad_ticket_id_never_reaches_the_network(
    api: respx.MockRouter, rt: RequestTrackerConnector, bad: str
) -> None:
    with pytest.raises(PermanentError, match="positive integer"):
        await rt.fetch_ticket(bad)
    assert not api.calls


async def test_list_uses_an_absolute_bound_walks_pages_and_reads_new_bodies_once(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    now = datetime(2026, 11, 22, 9, 40, 0, tzinfo=UTC)
    template = search_answer("3")["items"][0]  # created 09:32:22
    full = []
    for number in range(100):
        item = copy.deepcopy(template)
        item["id"] = str(100 + number)
        item["Created"] = "2026-11-22T08:00:00Z"  # old tickets: no body is read
        full.append(item)
    page1 = api.get("tickets", params={"page": "1"}).respond(
        json={"items": full, "count": 100, "total": 101, "pages": 2, "per_page": 100, "page": 1}
    )
    page2 = api.get("tickets", params={"page": "2"}).respond(
        json={"items": [template], "count": 1, "total": 101, "pages": 2, "per_page": 100}
    )
    history, parts = mock_body(api, "3")
    since = now - timedelta(minutes=10)

    first = [t async for t in rt.list_updated_since(since)]
    again = [t async for t in rt.list_updated_since(since)]

    assert [t.external_id for t in first] == [*(str(100 + n) for n in range(100)), "3"]
    assert all(t.body == "" for t in first[:100])
    assert first[-1].body == again[-1].body == "Stack trace attached"
    assert first[-1].assignee_ref is None  # owner "Nobody"
    assert (first[-1].client.name, first[-1].client.email) == ("Maria Ivanova", "maria@acme.test")
    assert (first[-1].department_ref, first[-1].priority) == ("Support", "30")
    assert history.call_count == parts.call_count == 1, "a body is read once per ticket"
    params = page1.calls[0].request.url.params
    # RT reads "N seconds ago" wrongly for most N; an absolute date, in the user's zone.
    assert params["query"] == "LastUpdated >= '2026-11-22 09:30:00'"
    assert page2.calls[0].request.url.params["query"] == params["query"], "one window"
    assert params.get_list("orderby") == ["LastUpdated", "id"]
    assert params.get_list("order") == ["ASC", "ASC"]
    assert params["per_page"] == "100"
    assert page2.call_count == 2  # once per listing


async def test_list_stops_on_an_empty_page_with_float_pages(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    route = api.get("tickets").respond(json=fixture("tickets_search_empty"))  # "pages": 0.0
    assert [t async for t in rt.list_updated_since(datetime.now(UTC))] == []
    assert route.call_count == 1


async def test_assign_sets_queue_then_owner_and_reads_them_back(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    put = api.put("ticket/4").mock(side_effect=[answer("put_ok"), answer("put_owner_ok")])
    after = search_answer("4")
    after["items"][0]["Owner"] = {"id": "agent2", "Name": "agent2", "type": "user"}
    api.get("tickets").respond(json=after)

    await rt.assign("4", department_ref=None, assignee_ref=None)
    assert not api.calls, "nothing to set, nothing sent"
    await rt.assign("4", department_ref="development", assignee_ref="agent2")

    bodies = [json.loads(call.request.content) for call in put.calls]
    assert bodies == [{"Queue": "development"}, {"Owner": "agent2"}]


@pytest.mark.parametrize(
    ("refs", "recorded", "message"),
    [
        ({"department_ref": "NoSuchQueue"}, "put_bad_queue", "Queue NoSuchQueue does not exist"),
        ({"assignee_ref": "nosuchuser"}, "put_bad_owner", "That user does not exist"),
    ],
)
async def test_assign_refused_with_http_200_is_permanent(
    api: respx.MockRouter,
    rt: RequestTrackerConnector,
    refs: dict[str, str],
    recorded: str,
    message: str,
) -> None:
    api.put("ticket/3").mock(return_value=answer(recorded))
    api.get("tickets").respond(json=search_answer("3"))
    kwargs = {"department_ref": None, "assignee_ref": None, **refs}
    with pytest.raises(PermanentError, match=message):
        await rt.assign("3", **kwargs)


async def test_internal_note_is_a_comment_never_correspondence(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    comment = api.post("ticket/3/comment").mock(return_value=answer("comment_ok"))
    correspond = api.post("ticket/3/correspond")
    await rt.add_internal_note("3", "Routed to <Support>\nby Modest")
    assert json.loads(comment.calls[0].request.content) == {
        "Content": "Routed to <Support>\nby Modest",
        "ContentType": "text/plain",
    }
    assert not correspond.called
    with pytest.raises(PermanentError, match="needs some text"):
        await rt.add_internal_note("3", "  ")


async def test_record_time_sets_time_worked_to_the_ticket_total(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    put = api.put("ticket/3").respond(json=["Ticket 3: TimeWorked changed from 15 to 40"])
    await rt.record_time("3", minutes=40)
    assert json.loads(put.calls[0].request.content) == {"TimeWorked": 40}
    with pytest.raises(PermanentError, match="positive number of minutes"):
        await rt.record_time("3", minutes=0)


async def test_comment_on_missing_ticket_is_permanent(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    api.post("ticket/9/comment").mock(return_value=answer("comment_missing"))
    with pytest.raises(PermanentError, match="HTTP 400: Message could not be recorded"):
        await rt.add_internal_note("9", "x")


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (answer("unauthorized"), "HTTP 401: Unauthorized"),
        (answer("bad_query"), "HTTP 400: Unknown field: Foo"),
        # A wrong RT_URL often lands on a login page: a redirect, or 200 with HTML.
        (httpx.Response(302, headers={"Location": "/NoAuth/Login.html"}), "HTTP 302"),
        (httpx.Response(200, text="<html>Login</html>"), "answer is not JSON"),
    ],
    ids=["401", "400", "redirect", "html"],
)
async def test_client_errors_are_permanent_and_not_retried(
    api: respx.MockRouter, rt: RequestTrackerConnector, response: httpx.Response, message: str
) -> None:
    route = api.get("tickets").mock(return_value=response)
    with pytest.raises(PermanentError, match=message):
        await rt.fetch_ticket("3")
    assert route.call_count == 1


async def test_5xx_then_success_is_retried(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    route = api.post("ticket/3/comment")
    route.side_effect = [httpx.Response(502), httpx.Response(503), answer("comment_ok")]
    await rt.add_internal_note("3", "x")
    assert route.call_count == 3


async def test_timeouts_exhaust_attempts_then_raise_transient(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    route = api.get("tickets").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransientError) as caught:
        await rt.fetch_ticket("3")
    assert not isinstance(caught.value, RateLimitedError)
    assert route.call_count == 4  # retry_attempts


async def test_429_goes_back_to_the_caller_with_its_wait(
    api: respx.MockRouter, rt: RequestTrackerConnector
) -> None:
    route = api.get("tickets").respond(429, headers={"Retry-After": "42"})
    with pytest.raises(RateLimitedError) as caught:
        await rt.fetch_ticket("3")
    assert caught.value.retry_after == 42.0
    assert route.call_count == 1


async def test_basic_auth_rest_url_as_rt_url_and_link_template(api: respx.MockRouter) -> None:
    basic = RequestTrackerConnector(base_url=f"{API}/", user="root", password="pw-secret")
    linked = RequestTrackerConnector(
        base_url=WEB, token=TOKEN, ticket_url_template="https://rt.acme/t/{id}?n={number}"
    )
    route = api.get("tickets").respond(json=search_answer("4"))
    mock_body(api)
    try:
        assert (await basic.fetch_ticket("4")).url == f"{WEB}/Ticket/Display.html?id=4"
        assert (await linked.fetch_ticket("4")).url == "https://rt.acme/t/4?n=4"
    finally:
        await basic.aclose()
        await linked.aclose()
    expected = base64.b64encode(b"root:pw-secret").decode()
    assert route.calls[0].request.headers["Authorization"] == f"Basic {expected}"


async def test_secrets_never_logged_nor_in_errors(api: respx.MockRouter) -> None:
    connector = RequestTrackerConnector(base_url=WEB, token=TOKEN, retry_wait=0, retry_attempts=2)
    api.get("tickets", params={"query": "id = 1"}).mock(return_value=answer("unauthorized"))
    api.get("tickets", params={"query": "id = 2"}).mock(side_effect=httpx.ConnectError("no"))
    errors, logs = await failures_and_logs(
        connector, [lambda: connector.fetch_ticket("1"), lambda: connector.fetch_ticket("2")]
    )
    assert len(errors) == 2
    assert logs
    assert all(entry["event"] == "rt.request_failed" for entry in logs)
    dumped = repr(logs) + " ".join(errors) + repr(connector._client.headers)
    assert TOKEN not in dumped
    assert "Authorization" not in repr(logs) + " ".join(errors)


def test_parse_rt_datetime() -> None:
    moment = datetime(2026, 11, 22, 9, 29, 50, tzinfo=UTC)
    assert parse_rt_datetime("2026-11-22T09:29:50Z") == moment
    assert parse_rt_datetime("2026-11-22T12:29:50+03:00") == moment
    # The epoch is RT's "not set".
    for unset in ("1970-01-01T00:00:00Z", "", "yesterday", None, 1795339790):
        assert parse_rt_datetime(unset) is None


@pytest.fixture
def no_rt_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings from arguments only: nothing from the shell or a .env file."""
    for name in ("RT_URL", "RT_TOKEN", "RT_USER", "RT_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def settings(**rt: str) -> Settings:
    return load_settings(env_file=None, telegram_bot_token="1:x", **rt)


@pytest.mark.usefixtures("no_rt_env")
def test_rt_settings_pair_up_and_need_the_url() -> None:
    with pytest.raises(ConfigError) as caught:
        settings(rt_user="root", rt_token="t")
    lines = str(caught.value).splitlines()
    assert "RT_PASSWORD: required when RT_USER is set" in lines
    assert "RT_URL: required when RT_TOKEN, RT_USER are set" in lines
    with pytest.raises(ConfigError, match="RT_URL: must be an http"):
        settings(rt_url="rt.example.com", rt_token="t")
    assert settings(rt_url=f"{WEB}/", rt_token="t").rt_url == WEB
    assert settings(rt_url=WEB, rt_user="u", rt_password="p").rt_enabled
    assert not settings(rt_url=WEB).rt_enabled
    assert "s3cret" not in repr(settings(rt_url=WEB, rt_token="s3cret"))


@pytest.mark.usefixtures("no_rt_env")
async def test_kind_rt_needs_rt_settings_and_the_registry_builds_it() -> None:
    routing = load_routing_text(ROUTING_YAML + "helpdesk:\n  kind: rt\n", "routing.yaml")
    with pytest.raises(ConfigError, match=r"helpdesk\.kind is rt but RT_URL"):
        build_helpdesk(settings(), routing)
    connector = build_helpdesk(settings(rt_url=WEB, rt_user="u", rt_password="p"), routing)
    assert isinstance(connector, RequestTrackerConnector)
    await connector.aclose()
    assert "rt" in default_registry().slugs(HELPDESK)
    with pytest.raises(ValueError, match="RT_URL"):
        rt_plugin().create(RequestTrackerSettings(rt_token=TOKEN))
    with pytest.raises(ValueError, match=r"RT_TOKEN \(or RT_USER and RT_PASSWORD\)"):
        rt_plugin().create(RequestTrackerSettings(rt_url=WEB, rt_user="root"))
    options = repr(RequestTrackerSettings(rt_url=WEB, rt_token=TOKEN, rt_password="pw-secret"))
    assert TOKEN not in options
    assert "pw-secret" not in options
