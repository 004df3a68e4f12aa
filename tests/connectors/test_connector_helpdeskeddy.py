"""HelpDeskEddy connector against respx-mocked API v2 answers (shapes from the reference)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
import respx

from connectors.base import PermanentError, RateLimitedError, TransientError
from connectors.helpdeskeddy import HelpDeskEddyConnector, normalise_base_url, parse_webhook
from connectors.helpdeskeddy_parse import html_to_text, parse_datetime
from connectors.payload import PayloadError
from connectors.ratelimit import RequestBudget
from dispatch.models import TicketEventKind
from tests.support.connectors import failures_and_logs
from tests.support.helpdeskeddy_api import (
    API_KEY,
    BASE,
    EMAIL,
    USER_API_KEY,
    ticket_obj,
    user_obj,
)


def post_obj(post_id: int, text: str) -> dict[str, object]:
    return {
        "ticket_id": 84397,
        "id": post_id,
        "user_id": 55,
        "text": text,
        "date_created": "10:00:00 22.11.2026",
        "date_updated": "10:00:00 22.11.2026",
        "files": [],
    }


def page(data: object, current: int = 1, total: int = 1) -> dict[str, object]:
    pagination = {"total": 30 * total, "per_page": 30, "current_page": current}
    return {"data": data, "pagination": {**pagination, "total_pages": total}}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def hde() -> AsyncIterator[HelpDeskEddyConnector]:
    connector = HelpDeskEddyConnector(
        base_url="https://acme.helpdeskeddy.com", email=EMAIL, api_key=API_KEY, retry_wait=0
    )
    yield connector
    await connector.aclose()


def mock_ticket(api: respx.MockRouter, **overrides: object) -> None:
    api.get("tickets/84397/").respond(json={"data": ticket_obj(**overrides)})
    api.get("tickets/84397/posts/").respond(json=page({"1": post_obj(1, "<p>Help</p>")}))
    api.get("users/55/").respond(json={"data": user_obj()})


async def test_fetch_maps_ticket_with_earliest_post_from_last_page(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    # Ticket wrapped in an object keyed by id; posts newest-first over 3 pages.
    api.get("tickets/84397/").respond(json={"data": {"84397": ticket_obj()}})
    last = api.get("tickets/84397/posts/", params={"page": "3"}).respond(
        json=page(
            {
                "902": post_obj(902, "second"),
                "901": post_obj(
                    901, "<p>Hello&nbsp;team,</p><p></p><p></p><p>it&#39;s <b>on fire</b></p>"
                ),
            },
            current=3,
            total=3,
        )
    )
    first = api.get("tickets/84397/posts/").respond(
        json=page({"999": post_obj(999, "newest")}, total=3)
    )
    api.get("users/55/").respond(json={"data": user_obj()})

    ticket = await hde.fetch_ticket("84397")

    assert first.call_count == 1
    assert last.call_count == 1
    assert ticket.external_id == "84397"
    assert ticket.number == "IQV-84397"
    assert ticket.subject == "Printer is on fire"
    assert ticket.body == "Hello team,\n\nit's on fire"
    assert ticket.status == "open"
    assert (ticket.priority, ticket.type) == ("2", "1")
    assert ticket.department_ref == "3"
    assert ticket.assignee_ref == "7"
    assert ticket.client.name == "Ivan Petrov"
    assert ticket.client.email == "ivan@client.test"
    assert ticket.client.company == "Client LLC"
    assert ticket.url is None
    assert ticket.created_at == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert ticket.closed is False


async def test_fetch_sends_basic_auth(api: respx.MockRouter, hde: HelpDeskEddyConnector) -> None:
    mock_ticket(api)
    await hde.fetch_ticket("84397")
    expected = "Basic " + base64.b64encode(f"{EMAIL}:{API_KEY}".encode()).decode()
    assert api.calls[0].request.headers["Authorization"] == expected


@pytest.mark.parametrize("owner", [0, "0", None, "", "missing"])
async def test_owner_zero_null_or_missing_means_unassigned(
    api: respx.MockRouter, hde: HelpDeskEddyConnector, owner: object
) -> None:
    obj = ticket_obj()
    if owner == "missing":
        del obj["owner_id"]
    else:
        obj["owner_id"] = owner
    api.get("tickets/84397/").respond(json={"data": obj})
    api.get("tickets/84397/posts/").respond(json=page([]))
    api.get("users/55/").respond(json={"data": user_obj()})
    ticket = await hde.fetch_ticket("84397")
    assert ticket.assignee_ref is None
    assert ticket.body == ""


async def test_status_stays_a_string_and_closed_set_is_configurable(
    api: respx.MockRouter,
) -> None:
    mock_ticket(api, status_id="resolved", date_created="22.11.2026 13:00")
    connector = HelpDeskEddyConnector(
        base_url=BASE,
        email=EMAIL,
        api_key=API_KEY,
        closed_statuses=frozenset({"closed", "resolved"}),
        portal_tz=timezone(timedelta(hours=3)),
        ticket_url_template="https://acme.helpdeskeddy.com/ticket/{id}?n={number}",
    )
    try:
        ticket = await connector.fetch_ticket("84397")
    finally:
        await connector.aclose()
    assert ticket.status == "resolved"
    assert ticket.closed is True
    # Naive portal time 13:00 at UTC+3 is 10:00 UTC.
    assert ticket.created_at == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert ticket.url == "https://acme.helpdeskeddy.com/ticket/84397?n=IQV-84397"


async def test_client_company_is_cached_per_user(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    mock_ticket(api)
    users = api.routes[-1]
    await hde.fetch_ticket("84397")
    second = await hde.fetch_ticket("84397")
    assert users.call_count == 1
    assert second.client.company == "Client LLC"
    assert USER_API_KEY not in repr(second)


async def test_unreadable_posts_and_user_degrade_to_empty(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    api.get("tickets/84397/").respond(json={"data": ticket_obj()})
    api.get("tickets/84397/posts/").respond(403, json={"errors": [{"code": 403, "title": "No"}]})
    api.get("users/55/").respond(403, json={"errors": [{"code": 403, "title": "No"}]})
    ticket = await hde.fetch_ticket("84397")
    assert ticket.body == ""
    assert ticket.client.company == ""


async def test_bad_ticket_id_never_reaches_the_network(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    for bad in ("../users", "0", "-1", "12a", ""):
        with pytest.raises(PermanentError):
            await hde.fetch_ticket(bad)
    assert not api.calls


async def test_assign_sends_only_given_keys_as_ints(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    route = api.put("tickets/84397/").respond(json={"data": ticket_obj()})
    await hde.assign("84397", department_ref="3", assignee_ref=None)
    await hde.assign("84397", department_ref=None, assignee_ref="7")
    await hde.assign("84397", department_ref="4", assignee_ref="8")
    await hde.assign("84397", department_ref=None, assignee_ref=None)
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert bodies == [{"department_id": 3}, {"owner_id": 7}, {"department_id": 4, "owner_id": 8}]


async def test_assign_rejects_non_numeric_refs(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    with pytest.raises(PermanentError, match="assignee_ref"):
        await hde.assign("84397", department_ref=None, assignee_ref="olga")
    assert not api.calls


async def test_internal_note_goes_to_comments_never_posts(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    posts = api.post("tickets/84397/posts/").respond(json={"data": {}})
    comments = api.post("tickets/84397/comments/").respond(
        json={"data": {"id": 1, "visible": "staff"}}
    )
    await hde.add_internal_note("84397", "Assigned to <Olga>\nby Modest")
    assert comments.call_count == 1
    assert not posts.called
    sent = json.loads(comments.calls[0].request.content)
    assert sent == {"text": "Assigned to &lt;Olga&gt;<br>by Modest"}


async def test_s204_errors_mean_success(api: respx.MockRouter, hde: HelpDeskEddyConnector) -> None:
    api.put("tickets/84397/").respond(json={"errors": [{"code": "s-204", "title": "No content"}]})
    await hde.assign("84397", department_ref="3", assignee_ref=None)


async def test_5xx_then_success_is_retried(api: respx.MockRouter) -> None:
    budget = RequestBudget(100)
    connector = HelpDeskEddyConnector(
        base_url=BASE, email=EMAIL, api_key=API_KEY, retry_wait=0, budget=budget
    )
    route = api.put("tickets/84397/")
    route.side_effect = [httpx.Response(502), httpx.Response(503), httpx.Response(200, json={})]
    try:
        await connector.assign("84397", department_ref="3", assignee_ref=None)
    finally:
        await connector.aclose()
    assert route.call_count == 3
    # Retries go through the budget too.
    assert budget.total_requests == 3


async def test_timeouts_exhaust_attempts_then_raise_transient(api: respx.MockRouter) -> None:
    connector = HelpDeskEddyConnector(
        base_url=BASE, email=EMAIL, api_key=API_KEY, retry_wait=0, retry_attempts=3
    )
    route = api.get("tickets/84397/").mock(side_effect=httpx.ReadTimeout("slow"))
    try:
        with pytest.raises(TransientError) as caught:
            await connector.fetch_ticket("84397")
    finally:
        await connector.aclose()
    assert not isinstance(caught.value, RateLimitedError)
    assert route.call_count == 3


async def test_429_is_rate_limited_and_not_retried(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    route = api.get("tickets/84397/").respond(429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimitedError) as caught:
        await hde.fetch_ticket("84397")
    assert caught.value.retry_after == 120.0
    assert route.call_count == 1
    # While the portal says wait, further calls fail fast without a request.
    with pytest.raises(RateLimitedError):
        await hde.assign("84397", department_ref="3", assignee_ref=None)
    assert len(api.calls) == 1


async def test_429_without_retry_after_waits_a_minute(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    api.get("tickets/84397/").respond(429)
    with pytest.raises(RateLimitedError) as caught:
        await hde.fetch_ticket("84397")
    assert caught.value.retry_after == 60.0


async def test_401_is_permanent_with_hde_errors_and_not_retried(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    route = api.get("tickets/84397/").respond(
        401, json={"errors": [{"code": 401, "title": "Unauthorized", "details": "Bad API key"}]}
    )
    with pytest.raises(PermanentError, match="Unauthorized: Bad API key"):
        await hde.fetch_ticket("84397")
    assert route.call_count == 1


async def test_non_object_json_is_permanent(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    api.get("tickets/84397/").respond(json=[1, 2, 3])
    with pytest.raises(PermanentError, match="not a JSON object"):
        await hde.fetch_ticket("84397")


async def test_secrets_never_logged_nor_in_errors(api: respx.MockRouter) -> None:
    connector = HelpDeskEddyConnector(
        base_url=BASE, email=EMAIL, api_key=API_KEY, retry_wait=0, retry_attempts=2
    )
    api.get("tickets/1/").respond(401, json={"errors": [{"code": 401, "title": "Unauthorized"}]})
    api.get("tickets/2/").mock(side_effect=httpx.ConnectError("refused"))
    api.get("tickets/3/").respond(json={"data": ticket_obj(id=3)})
    api.get("tickets/3/posts/").respond(500)
    api.get("users/55/").respond(json={"data": user_obj()})
    errors, logs = await failures_and_logs(
        connector, [lambda i=i: connector.fetch_ticket(i) for i in ("1", "2", "3")]
    )
    assert len(errors) == 3
    assert logs, "failures should be logged"
    assert all(entry["event"] == "helpdeskeddy.request_failed" for entry in logs)
    credentials = base64.b64encode(f"{EMAIL}:{API_KEY}".encode()).decode()
    dumped = repr(logs) + " ".join(errors)
    for secret in (API_KEY, credentials, USER_API_KEY, "Authorization"):
        assert secret not in dumped


async def test_low_remaining_header_slows_the_budget(
    api: respx.MockRouter,
) -> None:
    sleeps: list[float] = []
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds
        await asyncio.sleep(0)

    budget = RequestBudget(100, clock=lambda: now[0], sleep=fake_sleep)
    connector = HelpDeskEddyConnector(base_url=BASE, email=EMAIL, api_key=API_KEY, budget=budget)
    api.put("tickets/84397/").respond(
        json={"data": {}}, headers={"X-Rate-Limit": "300", "X-Rate-Limit-Remaining": "4"}
    )
    try:
        await connector.assign("84397", department_ref="3", assignee_ref=None)
        assert budget.spacing == pytest.approx(15.0)
        await connector.assign("84397", department_ref="3", assignee_ref=None)
    finally:
        await connector.aclose()
    assert sum(sleeps) >= 15.0


async def test_list_updated_since_walks_all_pages_without_posts(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    page2 = api.get("tickets/", params={"page": "2"}).respond(
        json=page({"12": ticket_obj(id=12, owner_id=0, status_id="closed")}, current=2, total=2)
    )
    page1 = api.get("tickets/", params={"page": "1"}).respond(
        json=page({"10": ticket_obj(id=10), "11": ticket_obj(id=11, unique_id="")}, total=2)
    )
    posts = api.get(url__regex=r".*/posts/.*")
    since = datetime(2026, 11, 22, 7, 0, tzinfo=timezone(timedelta(hours=3)))

    tickets = [t async for t in hde.list_updated_since(since)]

    assert [t.external_id for t in tickets] == ["10", "11", "12"]
    assert tickets[1].number == "11"
    assert tickets[2].closed is True
    assert tickets[2].assignee_ref is None
    assert all(t.body == "" for t in tickets)
    assert not posts.called
    params = page1.calls[0].request.url.params
    assert params["from_date_updated"] == "2026-11-22 04:00:00"
    assert params["order_by"] == "date_updated{asc}"
    assert page2.call_count == 1


def test_quota_is_hard_capped() -> None:
    with pytest.raises(ValueError, match="max_requests_per_minute"):
        HelpDeskEddyConnector(
            base_url=BASE, email=EMAIL, api_key=API_KEY, max_requests_per_minute=251
        )


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.helpdeskeddy.com",
        "https://acme.helpdeskeddy.com/",
        "https://acme.helpdeskeddy.com/api",
        "https://acme.helpdeskeddy.com/api/v2",
        " https://acme.helpdeskeddy.com/api/v2/ ",
    ],
)
def test_base_url_is_normalised(url: str) -> None:
    assert normalise_base_url(url) == BASE


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"ticket_id": "42", "event": "ticket.created"}, (TicketEventKind.CREATED, "42", None)),
        (
            {"id": " 42 ", "event": "Closed", "delivery_id": "d-1"},
            (TicketEventKind.CLOSED, "42", "d-1"),
        ),
        (
            {"ticket_id": 7, "event": "reopened", "delivery_id": ""},
            (TicketEventKind.REOPENED, "7", None),
        ),
    ],
)
def test_parse_webhook_good(fields: dict[str, object], expected: tuple[object, ...]) -> None:
    assert parse_webhook(fields) == expected


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"event": "created"}, "ticket_id"),
        ({"ticket_id": "{{ticket.id}}", "event": "created"}, "ticket_id"),
        ({"ticket_id": "0", "event": "created"}, "ticket_id"),
        ({"id": "-3", "event": "created"}, "id"),
        ({"ticket_id": "42"}, "event"),
        ({"ticket_id": "42", "event": "deleted"}, "event"),
        ({"ticket_id": "42", "event": "created", "delivery_id": "x" * 201}, "delivery_id"),
    ],
)
def test_parse_webhook_bad(fields: dict[str, object], field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_webhook(fields)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<div>line1</div><div><br></div><div>line3</div>", "line1\n\nline3"),
        ("<div>\n  <div>x</div>\n  <div>y</div>\n</div>", "x\ny"),
        ("Line1<br>Line2<br/><br />Line4", "Line1\nLine2\n\nLine4"),
        ("plain a &amp; b\n\n\n\nnext line  ", "plain a & b\n\nnext line"),
        ("a < b and c > d", "a < b and c > d"),
        ("<style>p{color:red}</style><p>Hi</p><script>alert(1)</script>", "Hi"),
        ("<ul><li>one</li><li>two</li></ul>done", "one\ntwo\n\ndone"),
        ("<p>Text with\nsource\nnewlines</p>", "Text with source newlines"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-22 10:00:00", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("10:00:05 22.11.2026", datetime(2026, 11, 22, 10, 0, 5, tzinfo=UTC)),
        ("22.11.2026 10:00", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("2026-11-22T10:00:00+03:00", datetime(2026, 11, 22, 7, 0, tzinfo=UTC)),
        ("2026-11-22T10:00:00Z", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("", None),
        ("not a date", None),
        (None, None),
        (True, None),
    ],
)
def test_parse_datetime_is_defensive(value: object, expected: datetime | None) -> None:
    assert parse_datetime(value) == expected


async def test_record_time_writes_the_configured_custom_field_only(
    api: respx.MockRouter, hde: HelpDeskEddyConnector
) -> None:
    route = api.put("tickets/7/").respond(200, json={"data": {"id": 7}})
    await hde.record_time("7", minutes=95)
    assert not route.called, "no time field configured: nothing is written"
    with_field = HelpDeskEddyConnector(
        base_url="https://acme.helpdeskeddy.com",
        email=EMAIL,
        api_key=API_KEY,
        retry_wait=0,
        time_field_id=42,
    )
    try:
        await with_field.record_time("7", minutes=95)
    finally:
        await with_field.aclose()
    assert json.loads(route.calls.last.request.content) == {"custom_fields": {"42": 95}}
