"""Every parser of outside input, by machine: an answer, or the parser's own error.

Helpdesk and tracker answers, webhook bodies and typed durations come from
outside, so whatever they hold must end in a value or in the error the caller
expects (PayloadError, PermanentError, ConnectorError, DurationError), never in
another exception that would fail a request, a job or a poll.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import respx
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import ConnectorError, PermanentError
from connectors.bitrix24_parse import (
    chat_comments,
    old_card_comments,
    parse_bitrix_datetime,
    parse_event,
    task_from_bitrix,
)
from connectors.generic import parse_generic_webhook
from connectors.helpdeskeddy import HelpDeskEddyConnector
from connectors.helpdeskeddy_parse import (
    TicketContext,
    company_of,
    data_items,
    earliest_post,
    error_summary,
    html_to_text,
    parse_datetime,
    parse_webhook,
    single_item,
    ticket_from_hde,
    total_pages,
)
from connectors.payload import PayloadError
from connectors.rt import RequestTrackerConnector, parse_rt_datetime, ticket_from_rt
from connectors.trackers import TrackerTask
from connectors.types import TicketData
from dispatch.durations import MAX_MINUTES, DurationError, parse_minutes
from tests.support.properties import (
    bitrix24_forms,
    dates,
    durations,
    examples,
    generic_bodies,
    helpdeskeddy_fields,
    helpdeskeddy_tickets,
    ids,
    json_values,
    near,
    rt_tickets,
    texts,
)

T = TypeVar("T")
MOSCOW = ZoneInfo("Europe/Moscow")


def refused_or(call: Callable[[], T]) -> T | PayloadError:
    """What ``call`` returns, or the PayloadError it raises."""
    try:
        return call()
    except PayloadError as exc:
        return exc


def _aware_utc_or_none(value: datetime | None) -> bool:
    return value is None or value.utcoffset() == UTC.utcoffset(None)


# --- typed durations (replies to the time question) ---------------------------------


@given(durations)
def test_a_typed_duration_is_minutes_within_a_day_or_refused(text: str) -> None:
    try:
        minutes = parse_minutes(text)
    except DurationError:
        return
    assert 1 <= minutes <= MAX_MINUTES


# --- webhook bodies ------------------------------------------------------------------


@given(generic_bodies)
def test_a_generic_body_is_a_ticket_or_a_named_field(body: Any) -> None:
    parsed = refused_or(lambda: parse_generic_webhook(body))
    if isinstance(parsed, PayloadError):
        assert parsed.field
        return
    _kind, ticket, delivery_id = parsed
    assert ticket.external_id
    assert _aware_utc_or_none(ticket.created_at)
    assert delivery_id is None or isinstance(delivery_id, str)


@given(helpdeskeddy_fields)
def test_a_helpdeskeddy_body_names_a_ticket_or_a_field(fields: Mapping[str, object]) -> None:
    parsed = refused_or(lambda: parse_webhook(fields))
    if isinstance(parsed, PayloadError):
        assert parsed.field
        return
    _kind, ticket_id, _delivery = parsed
    assert ticket_id.isdecimal()
    assert int(ticket_id) > 0


@given(bitrix24_forms)
def test_a_bitrix24_event_is_a_task_or_a_field(form: dict[str, str]) -> None:
    event = refused_or(lambda: parse_event(form, app_token="tok"))
    if isinstance(event, PayloadError):
        assert event.field
        return
    assert form["auth[application_token]"] == "tok"
    assert event.task_id.isdecimal()


# --- API answers ---------------------------------------------------------------------


@given(dates, st.sampled_from([None, UTC, MOSCOW]))
def test_a_helpdeskeddy_date_is_utc_or_none(value: object, zone: Any) -> None:
    assert _aware_utc_or_none(parse_datetime(value, zone))


@given(st.one_of(dates, json_values))
def test_rt_and_bitrix24_dates_are_utc_or_none(value: object) -> None:
    assert _aware_utc_or_none(parse_rt_datetime(value))
    assert _aware_utc_or_none(parse_bitrix_datetime(value))


_hde_ticket = helpdeskeddy_tickets


@given(_hde_ticket)
def test_a_helpdeskeddy_ticket_object_maps_or_is_permanent(raw: dict[str, object]) -> None:
    context = TicketContext(portal_tz=MOSCOW, url_template="https://h.example/t/{number}")
    try:
        ticket = ticket_from_hde(raw, context)
    except PermanentError:
        return
    assert isinstance(ticket, TicketData)
    assert _aware_utc_or_none(ticket.created_at)
    assert _aware_utc_or_none(ticket.updated_at)


@given(json_values)
def test_helpdeskeddy_envelopes_never_fail(value: Any) -> None:
    data_items(value)
    single_item(value)
    error_summary(value)
    if isinstance(value, dict):
        total_pages(value)
        company_of(value)
    if isinstance(value, list):
        earliest_post([item for item in value if isinstance(item, dict)])


_html = st.lists(
    st.one_of(
        texts,
        st.sampled_from(["<p>", "</p>", "<br>", "<![", "<!", "<!--", "-->", "<![CDATA[", "]]>"]),
        st.sampled_from(["<!DOCTYPE x>", "<?x?>", "<script>", "</script>", "<pre>", "&#xD800;"]),
        st.sampled_from(["&amp", "&#99999999;", "<a href='", "<", ">", "</", "<b", "\r\n"]),
    ),
    max_size=10,
).map("".join)


@given(_html)
def test_html_of_a_post_or_a_message_becomes_text(value: str) -> None:
    assert isinstance(html_to_text(value), str)


_rt_ticket = rt_tickets


@given(_rt_ticket)
def test_an_rt_ticket_maps_or_is_permanent(raw: dict[str, object]) -> None:
    try:
        ticket = ticket_from_rt(raw, url_template="https://rt.example/{id}")
    except PermanentError:
        return
    assert ticket.external_id.isdecimal()
    assert _aware_utc_or_none(ticket.created_at)
    assert _aware_utc_or_none(ticket.updated_at)


_bitrix_task = near(
    {
        "id": st.integers(min_value=1, max_value=10**6).map(str),
        "status": st.integers(min_value=1, max_value=7).map(str),
        "responsibleId": ids,
        "changedDate": dates,
    }
)


@given(_bitrix_task, json_values)
def test_bitrix24_tasks_and_comments_map_or_are_permanent(raw: dict[str, Any], other: Any) -> None:
    items = other if isinstance(other, list) else [other]
    comment = {
        "ID": raw.get("id"),
        "AUTHOR_ID": raw.get("status"),
        "POST_DATE": raw.get("changedDate"),
    }
    assert all(c.external_id for c in old_card_comments([*items, comment]))
    chat = {
        "messages": [*items, {"id": raw.get("id"), "author_id": 1, "date": raw.get("changedDate")}]
    }
    assert all(c.author_ref for c in chat_comments({**chat, "users": items}))
    try:
        task = task_from_bitrix(raw, done_statuses=frozenset({5}), url_template="https://b/{id}")
    except PermanentError:
        return
    assert isinstance(task, TrackerTask)
    assert _aware_utc_or_none(task.updated_at)


# --- connectors reading whole answers over HTTP ----------------------------------------

_answers = st.one_of(
    st.fixed_dictionaries({"items": st.lists(_rt_ticket | json_values, max_size=3)}),
    st.fixed_dictionaries({"data": st.one_of(_hde_ticket, st.lists(_hde_ticket, max_size=2))}),
    json_values,
)


def _read_with(
    connector: RequestTrackerConnector | HelpDeskEddyConnector,
    answer: Any,
    status: int,
    *,
    base: str,
) -> list[TicketData]:
    """Every call answers ``answer`` with ``status``: what fetch and list make of it."""

    async def run() -> list[TicketData]:
        with respx.mock(base_url=base, assert_all_called=False) as router:
            # As a server would send it: NaN, 1e400 and \ud800 escapes included.
            content = json.dumps(answer, allow_nan=True).encode()
            headers = {"Content-Type": "application/json"}
            router.route().mock(
                return_value=httpx.Response(status, content=content, headers=headers)
            )
            try:
                got = [await connector.fetch_ticket("7")]
                if isinstance(connector, RequestTrackerConnector):
                    got += [t async for t in connector.list_updated_since(datetime.now(UTC))]
                return got
            except ConnectorError:
                return []
            finally:
                await connector.aclose()

    return asyncio.run(run())


@examples(40)
@given(_answers, st.sampled_from([200, 200, 200, 201, 404]))
def test_rt_answers_are_tickets_or_connector_errors(answer: Any, status: int) -> None:
    rt = RequestTrackerConnector(base_url="http://rt.test", token="1-2-t", retry_attempts=1)
    for ticket in _read_with(rt, answer, status, base="http://rt.test/REST/2.0/"):
        assert ticket.external_id.isdecimal()


@examples(40)
@given(_answers, st.sampled_from([200, 200, 200, 400]))
def test_helpdeskeddy_answers_are_tickets_or_connector_errors(answer: Any, status: int) -> None:
    hde = HelpDeskEddyConnector(
        base_url="https://h.test",
        email="a@h.test",
        api_key="k",
        portal_tz=MOSCOW,
        retry_attempts=1,
    )
    for ticket in _read_with(hde, answer, status, base="https://h.test/api/v2/"):
        assert ticket.external_id == "7"
