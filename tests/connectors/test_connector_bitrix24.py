"""Bitrix24 tracker connector against respx-mocked answers in the shapes apidocs.bitrix24.ru
documents (``tests/fixtures/bitrix24/answers.json``). Time is faked: the limiter, the
back-off and the method blocks read one clock that only moves when the code sleeps.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
import respx

from connectors.base import PermanentError, RateLimitedError, TransientError
from connectors.bitrix24 import Bitrix24Connector, Bitrix24Event, PortalRateLimiter, parse_event
from connectors.bitrix24_plugin import Bitrix24Settings
from connectors.payload import PayloadError
from connectors.registry import default_registry
from connectors.trackers import TRACKER, TaskDraft
from tests.support.connectors import failures_and_logs
from tests.support.paths import FIXTURES

CODE = "s3cr3t-webhook-code"
ROOT = f"https://acme.bitrix24.test/rest/7/{CODE}/"
ANSWERS: dict[str, dict[str, Any]] = json.loads(
    (FIXTURES / "bitrix24" / "answers.json").read_text()
)
APP_TOKEN = "51856fefc120afa4b628cc82d3935cce"


def answer(name: str, **changes: Any) -> httpx.Response:
    """A recorded answer; ``changes`` replace fields of ``result.task``."""
    recorded = json.loads(json.dumps(ANSWERS[name]))
    if changes:
        recorded["body"]["result"]["task"].update(changes)
    return httpx.Response(recorded["status"], json=recorded["body"])


def sent(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


class FakeTime:
    """One clock for the limiter (monotonic) and the method blocks (unix time)."""

    def __init__(self) -> None:
        self.now = 1_752_577_200.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=ROOT, assert_all_called=False) as router:
        yield router


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def make(fake: FakeTime, **options: Any) -> Bitrix24Connector:
    limiter = PortalRateLimiter(clock=fake.clock, sleep=fake.sleep)
    options.setdefault("limiter", limiter)
    return Bitrix24Connector(webhook_url=ROOT, sleep=fake.sleep, wall_clock=fake.clock, **options)


@pytest.fixture
async def b24(fake: FakeTime) -> AsyncIterator[Bitrix24Connector]:
    connector = make(fake)
    yield connector
    await connector.aclose()


async def test_create_sends_upper_case_fields_and_reads_camel_case(
    api: respx.MockRouter, b24: Bitrix24Connector
) -> None:
    route = api.post("tasks.task.add").mock(return_value=answer("task_add"))
    draft = TaskDraft("Printer on fire", "Ticket #42", assignee_ref="547", creator_ref="503")
    task = await b24.create_task(draft)
    assert sent(route) == {
        "fields": {
            "TITLE": "Printer on fire",
            "DESCRIPTION": "Ticket #42",
            "RESPONSIBLE_ID": 547,
            "CREATED_BY": 503,
        }
    }
    assert (task.external_id, task.assignee_ref, task.status) == ("8017", "547", "pending")
    assert not task.closed
    assert task.updated_at == datetime(2025, 7, 15, 11, 0, tzinfo=UTC)
    assert task.url == "https://acme.bitrix24.test/company/personal/user/7/tasks/task/view/8017/"


async def test_create_checks_refs_first_and_sends_only_those_given(
    api: respx.MockRouter, b24: Bitrix24Connector
) -> None:
    route = api.post("tasks.task.add")
    with pytest.raises(PermanentError, match="assignee_ref"):
        await b24.create_task(TaskDraft("T", "D", assignee_ref="ivan", creator_ref=None))
    with pytest.raises(PermanentError, match="task id"):
        await b24.get_task("8017; drop")
    assert route.call_count == 0
    route.side_effect = [answer("task_add"), answer("task_add_no_responsible")]
    await b24.create_task(TaskDraft("T", "D", assignee_ref=None, creator_ref=None, project="12"))
    assert sent(route) == {"fields": {"TITLE": "T", "DESCRIPTION": "D", "GROUP_ID": 12}}
    with pytest.raises(PermanentError, match="HTTP 400 ERROR_CORE: Не указан ответственный"):
        await b24.create_task(TaskDraft("T", "D", assignee_ref=None, creator_ref=None))
    assert route.call_count == 2  # a refusal is not retried


async def test_get_task_and_a_missing_one(api: respx.MockRouter, b24: Bitrix24Connector) -> None:
    route = api.post("tasks.task.get")
    route.side_effect = [answer("task_get"), answer("task_get_missing")]
    task = await b24.get_task("8017")
    assert sent(route, 0) == {"taskId": 8017}
    assert (task.status, task.closed, task.assignee_ref) == ("in progress", False, "547")
    with pytest.raises(PermanentError, match="no such task"):
        await b24.get_task("9999")


async def test_completion_by_status_5_or_also_4(api: respx.MockRouter, fake: FakeTime) -> None:
    cases = [("5", {5}, True), ("4", {5}, False), ("4", {4, 5}, True), ("3", {4, 5}, False)]
    for status, done, closed in cases:
        api.post("tasks.task.get").mock(return_value=answer("task_get", status=status))
        connector = make(fake, done_statuses=frozenset(done))
        try:
            assert (await connector.get_task("8017")).closed is closed, (status, done)
        finally:
            await connector.aclose()


async def test_old_card_comments_and_chat_messages_merged_oldest_first(
    api: respx.MockRouter, b24: Bitrix24Connector
) -> None:
    api.post("tasks.task.get").mock(return_value=answer("task_get"))
    old = api.post("task.commentitem.getlist").mock(return_value=answer("comments_old_card"))
    chat = api.post("im.dialog.messages.get").mock(return_value=answer("chat_messages"))
    comments = await b24.list_comments("8017")
    # Positional parameters: TASKID, ORDER, FILTER in that order.
    assert list(sent(old)) == ["TASKID", "ORDER", "FILTER"]
    assert sent(old)["FILTER"] == {">ID": 0}
    assert sent(chat) == {"DIALOG_ID": "chat1489", "FIRST_ID": 0, "LIMIT": 50}
    assert [c.external_id for c in comments] == ["3155", "msg-84875", "3157", "msg-84877"]
    first, _, _, last = comments
    assert (first.author_ref, first.author_name) == ("503", "Иван Иванов")
    assert first.text == "Подготовил новые фотографии"  # BBCode tags dropped
    assert first.created_at == datetime(2025, 7, 15, 11, 30, tzinfo=UTC)
    assert (last.author_ref, last.author_name) == ("547", "Мария Петрова")
    assert last.text == "Готово, Иван Иванов, проверьте"


async def test_old_card_comments_are_paged_by_id(
    api: respx.MockRouter, b24: Bitrix24Connector
) -> None:
    api.post("tasks.task.get").mock(return_value=answer("task_get", chatId=None))

    def page(first: int, count: int) -> httpx.Response:
        items = [
            {"ID": str(i), "AUTHOR_ID": "1", "POST_MESSAGE": f"c{i}", "POST_DATE": ""}
            for i in range(first, first + count)
        ]
        return httpx.Response(200, json={"result": items})

    old = api.post("task.commentitem.getlist")
    old.side_effect = [page(1, 50), page(51, 3)]
    chat = api.post("im.dialog.messages.get")
    comments = await b24.list_comments("8017")
    assert [c.external_id for c in comments] == [str(i) for i in range(1, 54)]
    assert sent(old, 1)["FILTER"] == {">ID": 50}
    assert chat.call_count == 0  # no chat: an old-card task


async def test_getlist_refusal_is_tolerated_only_when_there_is_a_chat(
    api: respx.MockRouter, b24: Bitrix24Connector
) -> None:
    get = api.post("tasks.task.get")
    get.side_effect = [answer("task_get"), answer("task_get", chatId=None)]
    api.post("task.commentitem.getlist").mock(return_value=answer("getlist_new_card"))
    api.post("im.dialog.messages.get").mock(return_value=answer("chat_messages"))
    comments = await b24.list_comments("8017")  # a new-card task: its chat alone
    assert [c.external_id for c in comments] == ["msg-84875", "msg-84877"]
    with pytest.raises(PermanentError, match="ERROR_CORE"):
        await b24.list_comments("8017")


async def test_chat_is_read_forwards_page_by_page(
    api: respx.MockRouter, b24: Bitrix24Connector
) -> None:
    api.post("tasks.task.get").mock(return_value=answer("task_get"))
    api.post("task.commentitem.getlist").mock(
        return_value=httpx.Response(200, json={"result": []})
    )
    messages = [
        {"id": i, "author_id": 547, "date": f"2025-07-15T15:00:{i % 60:02d}+03:00", "text": "m"}
        for i in range(100, 150)
    ]
    chat = api.post("im.dialog.messages.get")
    chat.side_effect = [
        httpx.Response(200, json={"result": {"messages": messages[::-1], "users": []}}),
        answer("chat_empty"),
    ]
    comments = await b24.list_comments("8017")
    assert len(comments) == 50
    assert sent(chat, 1)["FIRST_ID"] == 149


async def test_add_comment_returns_the_new_id(
    api: respx.MockRouter, b24: Bitrix24Connector
) -> None:
    route = api.post("task.commentitem.add").mock(return_value=answer("comment_add"))
    assert await b24.add_comment("8017", "Клиент ждёт ответа") == "3141"
    assert sent(route) == {"TASKID": 8017, "FIELDS": {"POST_MESSAGE": "Клиент ждёт ответа"}}
    with pytest.raises(PermanentError, match="needs some text"):
        await b24.add_comment("8017", "  ")


def form(**fields: str) -> dict[str, str]:
    """A body as Bitrix24 posts it (form-encoded, bracketed keys), parsed back."""
    return dict(parse_qsl(urlencode(fields)))


def event_form(event: str, token: str | None = APP_TOKEN, **data: str) -> dict[str, str]:
    fields = {"event": event, "event_handler_id": "7", "ts": "1466439714"}
    fields |= {f"data[FIELDS_AFTER][{key}]": value for key, value in data.items()}
    fields |= {"auth[domain]": "acme.bitrix24.test", "auth[member_id]": "a223c6b3"}
    if token is not None:
        fields["auth[application_token]"] = token
    return form(**fields)


def test_parse_event_task_update_and_both_kinds_of_comment() -> None:
    update = parse_event(event_form("ONTASKUPDATE", ID="8017"), app_token=APP_TOKEN)
    assert update == Bitrix24Event("ONTASKUPDATE", "8017")
    assert update.comment_ref is None
    old = parse_event(event_form("ONTASKCOMMENTADD", ID="123", TASK_ID="555"), app_token=APP_TOKEN)
    assert old == Bitrix24Event("ONTASKCOMMENTADD", "555", comment_id="123")
    assert old.comment_ref == "123"
    body = event_form("ONTASKCOMMENTADD", ID="0", TASK_ID="555", MESSAGE_ID="1458")
    new = parse_event(body, app_token=APP_TOKEN)  # the new card: ID 0 and a chat message
    assert new == Bitrix24Event("ONTASKCOMMENTADD", "555", message_id="1458")
    assert new.comment_ref == "msg-1458"


@pytest.mark.parametrize(
    ("token", "configured"),
    [("wrong-token", APP_TOKEN), (None, APP_TOKEN), ("", APP_TOKEN), (APP_TOKEN, "")],
)
def test_parse_event_refuses_a_bad_token_first(token: str | None, configured: str) -> None:
    body = event_form("ONTASKBOGUS", token=token)  # the token is checked before the event
    with pytest.raises(PayloadError) as caught:
        parse_event(body, app_token=configured)
    assert caught.value.field == "auth[application_token]"
    assert APP_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (event_form("ONTASKADD", ID="1"), "event"),
        (event_form("ONTASKUPDATE"), "data[FIELDS_AFTER][ID]"),
        (event_form("ONTASKCOMMENTADD", ID="5"), "data[FIELDS_AFTER][TASK_ID]"),
        (event_form("ONTASKCOMMENTADD", ID="0", TASK_ID="5"), "data[FIELDS_AFTER][ID]"),
    ],
)
def test_parse_event_names_the_bad_field(body: dict[str, str], field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_event(body, app_token=APP_TOKEN)
    assert caught.value.field == field


async def test_query_limit_exceeded_and_5xx_are_retried_with_growing_back_off(
    api: respx.MockRouter, b24: Bitrix24Connector, fake: FakeTime
) -> None:
    route = api.post("tasks.task.get")
    busy, gateway = answer("query_limit_exceeded"), httpx.Response(502, text="<html>")
    route.side_effect = [busy, gateway, busy, answer("task_get")]
    assert (await b24.get_task("8017")).external_id == "8017"
    assert fake.sleeps == [1.0, 2.0, 4.0]
    route.side_effect = None
    route.mock(return_value=busy)
    with pytest.raises(TransientError, match="QUERY_LIMIT_EXCEEDED") as caught:
        await b24.get_task("8017")  # until the attempts run out
    assert not isinstance(caught.value, RateLimitedError)
    assert route.call_count == 8


async def test_operation_time_limit_blocks_only_that_method_until_reset(
    api: respx.MockRouter, b24: Bitrix24Connector, fake: FakeTime
) -> None:
    reset_at = fake.now + 300
    ok_body = copy.deepcopy(ANSWERS["task_get"]["body"])
    ok_body["time"]["operating_reset_at"] = reset_at
    get = api.post("tasks.task.get")
    get.side_effect = [httpx.Response(200, json=ok_body), answer("operation_time_limit")]
    add = api.post("task.commentitem.add").mock(return_value=answer("comment_add"))
    await b24.get_task("8017")
    with pytest.raises(RateLimitedError, match="OPERATION_TIME_LIMIT") as caught:
        await b24.get_task("8017")
    assert get.call_count == 2  # not retried in-process
    assert caught.value.retry_after == pytest.approx(reset_at - fake.now)
    with pytest.raises(RateLimitedError, match="blocked"):
        await b24.get_task("8017")
    assert get.call_count == 2  # refused without a request
    assert await b24.add_comment("8017", "still works") == "3141"  # other methods are free
    assert add.call_count == 1
    fake.now = reset_at + 1
    get.side_effect = [answer("task_get")]
    assert (await b24.get_task("8017")).external_id == "8017"


async def test_operation_time_limit_without_a_reset_time_waits_the_whole_window(
    api: respx.MockRouter, b24: Bitrix24Connector
) -> None:
    api.post("tasks.task.get").mock(return_value=answer("operation_time_limit"))
    with pytest.raises(RateLimitedError) as caught:
        await b24.get_task("8017")
    assert caught.value.retry_after == 600.0


async def test_burst_holds_two_requests_per_second(api: respx.MockRouter, fake: FakeTime) -> None:
    stamps: list[float] = []

    def record(request: httpx.Request) -> httpx.Response:
        stamps.append(fake.now)
        return answer("task_get")

    api.post("tasks.task.get").mock(side_effect=record)
    limiter = PortalRateLimiter(clock=fake.clock, sleep=fake.sleep)
    # Two connectors on one portal share the limiter (one bucket per portal and IP).
    first, second = make(fake, limiter=limiter), make(fake, limiter=limiter)
    try:
        await asyncio.gather(*(c.get_task("8017") for _ in range(6) for c in (first, second)))
    finally:
        await first.aclose()
        await second.aclose()
    assert len(stamps) == 12
    assert stamps == sorted(stamps)
    for earlier, later in zip(stamps, stamps[2:], strict=False):
        assert later - earlier >= 1.0  # never 3 requests within one second
    assert stamps[-1] - stamps[0] == pytest.approx(5.5)


async def test_secrets_never_logged_nor_in_errors(api: respx.MockRouter, fake: FakeTime) -> None:
    connector = make(fake, retry_attempts=2)
    route = api.post("tasks.task.get")
    unreachable = httpx.ConnectError(f"cannot reach {ROOT}tasks.task.get")
    route.side_effect = [answer("no_auth_found"), unreachable, unreachable]
    errors, logs = await failures_and_logs(connector, [lambda: connector.get_task("8017")] * 2)
    assert len(errors) == 2
    assert "NO_AUTH_FOUND" in errors[0]
    assert logs
    assert all(entry["event"] == "bitrix24.request_failed" for entry in logs)
    dumped = repr(logs) + " ".join(errors)
    assert CODE not in dumped
    with pytest.raises(ValueError, match="must look like") as bad:
        Bitrix24Connector(webhook_url=f"http://acme.bitrix24.test/rest/7/{CODE}/")
    assert CODE not in str(bad.value)
    assert CODE not in repr(Bitrix24Settings(bitrix24_webhook_url=ROOT))


async def test_registry_builds_bitrix24_and_names_missing_settings() -> None:
    registry = default_registry()
    assert registry.slugs(TRACKER) == ["bitrix24", "redmine"]
    options = {
        "bitrix24_webhook_url": ROOT,
        "routing": {"tracker": {"bitrix24_done_statuses": frozenset({4, 5})}},
    }
    connector = registry.create(TRACKER, "bitrix24", options)
    await connector.aclose()
    assert isinstance(connector, Bitrix24Connector)
    assert connector._done == frozenset({4, 5})
    with pytest.raises(ValueError, match="BITRIX24_WEBHOOK_URL"):
        registry.create(TRACKER, "bitrix24", {})
    nine = {"tracker": {"bitrix24_done_statuses": frozenset({9})}}
    with pytest.raises(ValueError, match="done_statuses"):
        registry.create(TRACKER, "bitrix24", {"bitrix24_webhook_url": ROOT, "routing": nine})
    with pytest.raises(ValueError, match="unknown tracker 'jira'"):
        registry.create(TRACKER, "jira", options)
