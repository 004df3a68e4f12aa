"""Redmine tracker connector against respx-mocked answers shaped as Redmine 5.0.4 sends them.

The answers below were taken (trimmed) from the server ``shared/services/redmine-up``
starts; ``tests/connectors/test_redmine_real.py`` runs the same connector against that server.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from connectors.base import PermanentError, RateLimitedError, TransientError
from connectors.fake_tracker import FakeTracker
from connectors.plugin import ConnectorPlugin, ConnectorSettings
from connectors.ratelimit import RequestBudget
from connectors.redmine import RedmineConnector, verify_webhook
from connectors.redmine_plugin import RedmineSettings
from connectors.registry import default_registry
from connectors.trackers import TRACKER, TaskDraft
from tests.support.connectors import failures_and_logs

BASE = "http://redmine.test"
KEY = "f7142e155020c852a1336f90772cf7010a0aaaa5"

STATUSES = {
    "issue_statuses": [
        {"id": 1, "name": "New", "is_closed": False},
        {"id": 2, "name": "In Progress", "is_closed": False},
        {"id": 3, "name": "Resolved", "is_closed": False},
        {"id": 4, "name": "Feedback", "is_closed": False},
        {"id": 5, "name": "Closed", "is_closed": True},
        {"id": 6, "name": "Rejected", "is_closed": True},
    ]
}
ISSUE: dict[str, Any] = {
    "id": 7,
    "project": {"id": 1, "name": "Dev"},
    "tracker": {"id": 1, "name": "Bug"},
    "status": {"id": 1, "name": "New", "is_closed": False},
    "author": {"id": 1, "name": "Redmine Admin"},
    "assigned_to": {"id": 1, "name": "Redmine Admin"},
    "subject": "Printer on fire",
    "description": "Ticket #42",
    "created_on": "2026-11-22T09:41:24Z",
    "updated_on": "2026-11-22T09:41:28Z",
    "closed_on": None,
}
JOURNALS = [
    {
        "id": 11,
        "user": {"id": 5, "name": "Petr Developer"},
        "notes": "Looking into it",
        "created_on": "2026-11-22T09:41:28Z",
        "private_notes": False,
        "details": [],
    },
    {
        "id": 12,
        "user": {"id": 5, "name": "Petr Developer"},
        "notes": "",
        "created_on": "2026-11-22T09:42:00Z",
        "private_notes": False,
        "details": [{"property": "attr", "name": "status_id", "old_value": "1", "new_value": "2"}],
    },
    {
        "id": 13,
        "user": {"id": 1, "name": "Redmine Admin"},
        "notes": "line one\r\nline two",
        "created_on": "2026-11-22T09:43:00Z",
        "private_notes": False,
        "details": [],
    },
]


def issue(*, journals: list[dict[str, Any]] | None = None, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(ISSUE) | changes
    if journals is not None:
        body["journals"] = copy.deepcopy(journals)
    return {"issue": body}


def status(status_id: int, name: str, *, closed: bool) -> dict[str, Any]:
    return {"id": status_id, "name": name, "is_closed": closed}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/issue_statuses.json").respond(json=STATUSES)
        yield router


@pytest.fixture
async def redmine() -> AsyncIterator[RedmineConnector]:
    connector = RedmineConnector(base_url=f"{BASE}/", api_key=KEY, project="dev", retry_wait=0)
    yield connector
    await connector.aclose()


async def test_create_sends_the_issue_and_reads_it_back(api: respx.MockRouter) -> None:
    route = api.post("/issues.json").respond(201, json=issue())
    connector = RedmineConnector(
        base_url=BASE, api_key=KEY, project="dev", tracker_id=1, retry_wait=0
    )
    try:
        task = await connector.create_task(
            TaskDraft("Printer on fire", "Ticket #42", assignee_ref="1", creator_ref="ivan")
        )
    finally:
        await connector.aclose()
    request = route.calls[0].request
    assert request.headers["X-Redmine-API-Key"] == KEY
    assert json.loads(request.content) == {
        "issue": {
            "project_id": "dev",
            "subject": "Printer on fire",
            "description": "Ticket #42",
            "tracker_id": 1,
            "assigned_to_id": 1,
        }
    }
    assert (task.external_id, task.url) == ("7", f"{BASE}/issues/7")
    assert (task.status, task.closed, task.assignee_ref) == ("New", False, "1")
    assert task.updated_at == datetime(2026, 11, 22, 9, 41, 28, tzinfo=UTC)


async def test_draft_project_wins_and_none_at_all_never_reaches_the_network(
    api: respx.MockRouter,
) -> None:
    route = api.post("/issues.json").respond(201, json=issue(assigned_to=None))
    connector = RedmineConnector(base_url=BASE, api_key=KEY, retry_wait=0)
    try:
        with pytest.raises(PermanentError, match="no Redmine project"):
            await connector.create_task(TaskDraft("T", "D", assignee_ref=None, creator_ref=None))
        assert route.call_count == 0
        draft = TaskDraft("T", "D", assignee_ref=None, creator_ref=None, project="ops")
        task = await connector.create_task(draft)
    finally:
        await connector.aclose()
    sent = json.loads(route.calls[0].request.content)["issue"]
    assert sent == {"project_id": "ops", "subject": "T", "description": "D"}
    assert task.assignee_ref is None


async def test_statuses_are_read_once_and_decide_closed(
    api: respx.MockRouter, redmine: RedmineConnector
) -> None:
    statuses = api.get("/issue_statuses.json").respond(json=STATUSES)
    get = api.get("/issues/7.json")
    get.side_effect = [
        httpx.Response(200, json=issue()),
        httpx.Response(200, json=issue(status=status(5, "Closed", closed=True))),
        httpx.Response(200, json=issue(status=status(6, "Rejected", closed=True))),
    ]
    assert not (await redmine.get_task("7")).closed
    assert (await redmine.get_task("7")).closed
    assert (await redmine.get_task("7")).status == "Rejected"
    assert statuses.call_count == 1


async def test_status_ids_of_another_install_and_a_new_status(api: respx.MockRouter) -> None:
    # Another installation: "Done" is id 3 and closed; the issue shows no is_closed.
    done, shipped = status(3, "Done", closed=True), status(9, "Shipped", closed=True)
    statuses = api.get("/issue_statuses.json")
    statuses.side_effect = [
        httpx.Response(200, json={"issue_statuses": [done]}),
        httpx.Response(200, json={"issue_statuses": [done, shipped]}),
    ]
    get = api.get("/issues/7.json")
    get.side_effect = [
        httpx.Response(200, json=issue(status={"id": 3, "name": "Done"})),
        *[httpx.Response(200, json=issue(status={"id": 9, "name": "Shipped"}))] * 2,
    ]
    now = [1000.0]
    connector = RedmineConnector(base_url=BASE, api_key=KEY, retry_wait=0)
    connector._clock = lambda: now[0]
    try:
        assert (await connector.get_task("7")).closed
        # An unknown id re-reads the list, but not more than every 5 minutes.
        now[0] += 60
        assert not (await connector.get_task("7")).closed
        assert statuses.call_count == 1
        now[0] += 300
        assert (await connector.get_task("7")).closed
    finally:
        await connector.aclose()
    assert statuses.call_count == 2


async def test_comments_are_the_journals_with_notes(
    api: respx.MockRouter, redmine: RedmineConnector
) -> None:
    route = api.get("/issues/7.json", params={"include": "journals"})
    route.respond(json=issue(journals=JOURNALS[::-1]))
    comments = await redmine.list_comments("7")
    assert [c.external_id for c in comments] == ["11", "13"]
    first, second = comments
    assert (first.author_ref, first.author_name, first.text) == (
        "5",
        "Petr Developer",
        "Looking into it",
    )
    assert first.created_at == datetime(2026, 11, 22, 9, 41, 28, tzinfo=UTC)
    assert second.text == "line one\nline two"


async def test_add_comment_finds_its_journal_after_the_204(
    api: respx.MockRouter, redmine: RedmineConnector
) -> None:
    put = api.put("/issues/7.json").respond(204)
    mine = {**JOURNALS[2], "id": 14, "notes": "Client is waiting\n"}
    api.get("/issues/7.json").mock(
        side_effect=[
            httpx.Response(200, json=issue(journals=[*JOURNALS, mine])),
            httpx.Response(200, json=issue(journals=JOURNALS)),
        ]
    )
    assert await redmine.add_comment("7", "Client is waiting") == "14"
    assert json.loads(put.calls[0].request.content) == {"issue": {"notes": "Client is waiting"}}
    with pytest.raises(PermanentError, match="recorded no note"):
        await redmine.add_comment("7", "Client is waiting")  # 204, yet no journal


async def test_set_status_reads_back_and_catches_the_silent_204(
    api: respx.MockRouter, redmine: RedmineConnector
) -> None:
    put = api.put("/issues/7.json").respond(204)
    get = api.get("/issues/7.json")
    get.side_effect = [
        httpx.Response(200, json=issue(status=status(5, "Closed", closed=True))),
        httpx.Response(200, json=issue(status=status(5, "Closed", closed=True))),
    ]
    assert (await redmine.set_status("7", 5)).closed
    # The workflow refuses 5 → 2 for this user: Redmine still answers 204.
    with pytest.raises(PermanentError, match="status 2 not applied"):
        await redmine.set_status("7", 2)
    assert json.loads(put.calls[1].request.content) == {"issue": {"status_id": 2}}


@pytest.mark.parametrize(
    ("code", "body", "message"),
    [
        (401, None, "HTTP 401$"),
        (403, None, "HTTP 403$"),
        (404, None, "HTTP 404$"),
        (422, {"errors": ["Subject cannot be blank", "Assignee is invalid"]}, "Assignee is"),
    ],
)
async def test_client_errors_are_permanent_and_not_retried(
    api: respx.MockRouter,
    redmine: RedmineConnector,
    code: int,
    body: dict[str, Any] | None,
    message: str,
) -> None:
    route = api.post("/issues.json").respond(code, json=body)
    with pytest.raises(PermanentError, match=message):
        await redmine.create_task(TaskDraft("", "D", assignee_ref="999", creator_ref=None))
    assert route.call_count == 1


async def test_5xx_is_retried_then_succeeds(
    api: respx.MockRouter, redmine: RedmineConnector
) -> None:
    route = api.get("/issues/7.json")
    route.side_effect = [
        httpx.Response(500),
        httpx.Response(503),
        httpx.Response(200, json=issue()),
    ]
    assert (await redmine.get_task("7")).external_id == "7"
    assert route.call_count == 3


async def test_timeouts_exhaust_attempts_then_raise_transient(api: respx.MockRouter) -> None:
    connector = RedmineConnector(base_url=BASE, api_key=KEY, retry_wait=0, retry_attempts=3)
    route = api.get("/issues/7.json").mock(side_effect=httpx.ReadTimeout("slow"))
    try:
        with pytest.raises(TransientError) as caught:
            await connector.get_task("7")
    finally:
        await connector.aclose()
    assert not isinstance(caught.value, RateLimitedError)
    assert route.call_count == 3


async def test_429_from_a_proxy_and_an_html_page(
    api: respx.MockRouter, redmine: RedmineConnector
) -> None:
    route = api.get("/issues/7.json")
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "42"}),
        httpx.Response(200, text="<html>Redmine</html>"),  # a wrong REDMINE_URL, say
    ]
    with pytest.raises(RateLimitedError) as caught:
        await redmine.get_task("7")
    assert (caught.value.retry_after, route.call_count) == (42.0, 1)  # not retried here
    with pytest.raises(PermanentError, match="not a JSON object"):
        await redmine.get_task("7")


async def test_every_request_and_retry_goes_through_the_budget(api: respx.MockRouter) -> None:
    budget = RequestBudget(60)
    connector = RedmineConnector(base_url=BASE, api_key=KEY, budget=budget, retry_wait=0)
    api.get("/issues/7.json").mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json=issue())]
    )
    try:
        await connector.get_task("7")
    finally:
        await connector.aclose()
    assert budget.total_requests == 3  # the 502, its retry, the statuses


async def test_api_key_never_logged_nor_in_errors(api: respx.MockRouter) -> None:
    connector = RedmineConnector(base_url=BASE, api_key=KEY, retry_wait=0, retry_attempts=2)
    api.get("/issues/1.json").respond(401)
    api.get("/issues/2.json").mock(side_effect=httpx.ConnectError("no"))
    errors, logs = await failures_and_logs(
        connector, [lambda: connector.get_task("1"), lambda: connector.get_task("2")]
    )
    assert len(errors) == 2
    assert logs
    assert all(entry["event"] == "redmine.request_failed" for entry in logs)
    dumped = repr(logs) + " ".join(errors) + repr(connector._client.headers)
    dumped += repr(connector._client.auth) + repr(RedmineSettings(redmine_api_key=KEY))
    assert KEY not in dumped


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_verify_webhook() -> None:
    body = b'{"type":"issue.updated","data":{"issue":{"id":7}}}'
    good = sign(body, "hook-secret")
    assert verify_webhook(body, good, "hook-secret")
    assert verify_webhook(body, good.upper().replace("SHA256=", "sha256="), "hook-secret")
    assert not verify_webhook(body + b" ", good, "hook-secret")
    assert not verify_webhook(body, good, "other-secret")
    assert not verify_webhook(body, good.removeprefix("sha256="), "hook-secret")
    assert not verify_webhook(body, None, "hook-secret")
    assert not verify_webhook(body, "", "hook-secret")
    assert not verify_webhook(body, sign(body, ""), "")
    assert not verify_webhook(body, "sha256=zz", "hook-secret")


async def test_registry_builds_redmine_and_names_missing_settings() -> None:
    registry = default_registry()
    options = {
        "redmine_url": BASE,
        "redmine_api_key": KEY,
        "routing": {"tracker": {"project": "dev"}},
    }
    connector = registry.create(TRACKER, "redmine", options)
    await connector.aclose()
    assert isinstance(connector, RedmineConnector)
    assert (connector._root, connector._project) == (BASE, "dev")
    with pytest.raises(ValueError, match="REDMINE_URL and REDMINE_API_KEY"):
        registry.create(TRACKER, "redmine", {})
    with pytest.raises(ValueError, match="REDMINE_API_KEY"):
        registry.create(TRACKER, "redmine", {"redmine_url": BASE})


async def test_fake_tracker_through_a_registry() -> None:
    registry = default_registry()
    fake = FakeTracker()
    registry.register(
        ConnectorPlugin(TRACKER, FakeTracker.slug, ConnectorSettings, lambda s: fake)
    )
    tracker = registry.create(TRACKER, "fake-tracker", {})
    task = await tracker.create_task(TaskDraft("T", "D", assignee_ref="dev-1", creator_ref=None))
    mine = await tracker.add_comment(task.external_id, "from Modest")
    theirs = fake.add_developer_comment(task.external_id, "fixed", author_ref="dev-1")
    comments = await tracker.list_comments(task.external_id)
    assert [(c.external_id, c.author_ref) for c in comments] == [
        (mine, "modest"),
        (theirs, "dev-1"),
    ]
    fake.complete(task.external_id)
    assert (await tracker.get_task(task.external_id)).closed
    fake.reopen(task.external_id)
    assert not (await tracker.get_task(task.external_id)).closed
    fake.fail("add_comment", 1, TransientError("down"))
    with pytest.raises(TransientError):
        await tracker.add_comment(task.external_id, "again")
    assert await tracker.add_comment(task.external_id, "again")
    with pytest.raises(PermanentError):
        await tracker.get_task("404")
    await tracker.aclose()
    assert fake.closed
    assert fake.added == [("1", "from Modest"), ("1", "again")]
