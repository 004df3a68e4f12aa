"""The bad inputs the property tests found, kept as plain tests (one per defect fixed).

Before the fixes each of these raised an unhandled exception (a 500 for a
webhook; a crashed fetch, poll or reply otherwise), or, for text only PostgreSQL
cannot store, was taken on SQLite and refused on PostgreSQL with a 500.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
import respx
from sqlmodel import select

from connectors.base import PermanentError
from connectors.bitrix24_parse import parse_bitrix_datetime, parse_event
from connectors.generic import parse_generic_webhook
from connectors.helpdeskeddy import HelpDeskEddyConnector
from connectors.helpdeskeddy_parse import (
    TicketContext,
    html_to_text,
    parse_datetime,
    ticket_from_hde,
)
from connectors.payload import PayloadError
from connectors.rt import RequestTrackerConnector, parse_rt_datetime
from connectors.types import TicketEventKind
from dispatch.durations import DurationError, parse_minutes
from storage.db import Database
from storage.models import TicketRow
from tests.support.webhook_app import (
    FORM,
    HELPDESKEDDY,
    JSON,
    REDMINE_SECRET,
    SECRET,
    TRACKER_ROUTING,
    WebhookApp,
    as_json,
)

HOOK = {"X-Webhook-Secret": SECRET}


def ticket(**fields: Any) -> dict[str, Any]:
    return {"event": "ticket.created", "ticket": {"id": "1", "subject": "s", **fields}}


# --- typed durations -----------------------------------------------------------------


@pytest.mark.parametrize("text", ["9" * 400, "9" * 400 + "h", "1" + "0" * 308 + " ч"])
def test_a_number_of_hundreds_of_digits_is_too_long_not_a_crash(text: str) -> None:
    with pytest.raises(DurationError, match="too long"):
        parse_minutes(text)


# --- dates at the ends of the calendar -------------------------------------------------


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01000+0001"]
)
def test_a_date_without_a_utc_moment_is_unreadable(value: str) -> None:
    assert parse_rt_datetime(value) is None
    assert parse_bitrix_datetime(value) is None
    assert parse_datetime(value) is None


@pytest.mark.parametrize("stamp", [9.223372036854776e18, 6.77680361916768e16, 253402300800.0])
def test_a_helpdeskeddy_timestamp_past_the_calendar_is_unreadable(stamp: float) -> None:
    assert parse_datetime(stamp) is None


def test_a_generic_created_at_without_a_utc_moment_is_refused_by_name() -> None:
    with pytest.raises(PayloadError) as refused:
        parse_generic_webhook(ticket(created_at="0001-01-01T00:00:00+01:00"))
    assert refused.value.field == "ticket.created_at"


def test_a_bitrix24_token_that_is_not_utf8_is_refused_by_name() -> None:
    with pytest.raises(PayloadError) as refused:
        parse_event({"auth[application_token]": "\ud800"}, app_token="tok")
    assert refused.value.field == "auth[application_token]"


# --- HTML that CPython's parser asserts on -----------------------------------------------


@pytest.mark.parametrize("html", ["<![0 <b>x</b>", "<![A[ y ]]> <b>x</b>", "<b>x</b><!["])
def test_a_bogus_marked_section_is_skipped(html: str) -> None:
    assert "x" in html_to_text(html)


# --- an answer about another ticket ------------------------------------------------------


async def test_helpdeskeddy_answer_about_another_ticket_is_permanent() -> None:
    hde = HelpDeskEddyConnector(
        base_url="https://h.test", email="a@h.test", api_key="k", retry_attempts=1
    )
    with respx.mock(base_url="https://h.test/api/v2/") as router:
        router.get("tickets/7/").respond(json={"data": {"id": 1, "title": "not 7"}})
        with pytest.raises(PermanentError, match="another"):
            await hde.fetch_ticket("7")
    await hde.aclose()


async def test_rt_answer_about_another_ticket_is_permanent() -> None:
    rt = RequestTrackerConnector(base_url="http://rt.test", token="1-2-t", retry_attempts=1)
    with respx.mock(base_url="http://rt.test/REST/2.0/") as router:
        router.get("tickets").respond(json={"items": [{"id": "1", "Subject": "not 7"}]})
        router.get("ticket/7").respond(json={"id": "1", "Subject": "not 7"})
        with pytest.raises(PermanentError, match="another"):
            await rt.fetch_ticket("7")
    await rt.aclose()


# --- webhooks through the app, on both databases -----------------------------------------


def test_refusals_not_about_the_body_name_the_header(sqlite_url: str) -> None:
    with WebhookApp(sqlite_url) as app:
        wrong = app.check(
            "/webhooks/generic", as_json(ticket()), JSON, **{"X-Webhook-Secret": "x"}
        )
        assert (wrong.status, wrong.body["field"]) == (401, "X-Webhook-Secret")
        form = app.check("/webhooks/generic", b"", FORM, **HOOK)
        assert (form.status, form.body["field"]) == (415, "Content-Type")


@pytest.mark.parametrize("path", ["/webhooks/generic", "/webhooks/redmine"])
def test_a_secret_header_that_is_not_utf8_is_refused(sqlite_url: str, path: str) -> None:
    header = b"X-Webhook-Secret" if path.endswith("generic") else b"X-Redmine-Signature-256"
    request = (
        f"POST {path} HTTP/1.1\r\nHost: modest\r\nContent-Type: application/json\r\n".encode()
        + header
        + b": sha256=\xff\xfe\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    with WebhookApp(sqlite_url, routing=TRACKER_ROUTING) as app:
        assert app.send_raw(request).startswith(b"HTTP/1.1 401 ")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"[" * 5000 + b"]" * 5000, "$"),  # RecursionError in json.loads
        (as_json(ticket(client={"company": "\x00"})), "ticket.client.company"),  # PostgreSQL
        (as_json(ticket(number="n" * 65)), "ticket.number"),  # varchar(64) on PostgreSQL
        (as_json({**ticket(), "delivery_id": "\x00"}), "delivery_id"),
    ],
)
def test_generic_bodies_the_database_cannot_store_are_refused(
    db_url: str, body: bytes, field: str
) -> None:
    with WebhookApp(db_url) as app:
        answer = app.check("/webhooks/generic", body, JSON, **HOOK)
        assert (answer.status, answer.body["field"]) == (400, field)


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        (b"\x80", FORM, "$"),  # UnicodeDecodeError in aiohttp's form parser
        (b"ticket_id=1&event=created&delivery_id=%00", FORM, "delivery_id"),
        (
            as_json({"ticket_id": "1", "event": "created", "delivery_id": "\ud800"}),
            JSON,
            "delivery_id",
        ),
        (
            as_json({"ticket_id": "1", "event": "created", "delivery_id": "\x00"}),
            JSON,
            "delivery_id",
        ),
        (b'{"": {"\\u0000": null}}', JSON, "$"),  # a bad key was named by an empty path
    ],
)
def test_helpdeskeddy_bodies_the_database_cannot_store_are_refused(
    db_url: str, body: bytes, content_type: str, field: str
) -> None:
    with WebhookApp(db_url, **HELPDESKEDDY) as app:
        answer = app.check("/webhooks/helpdeskeddy", body, content_type, **HOOK)
        assert (answer.status, answer.body["field"]) == (400, field)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        (b"", "multipart/form-data", 415, "Content-Type"),  # no boundary: ValueError
        (b"\x80", FORM, 400, "$"),
        (b"event=ONTASKUPDATE", FORM, 401, "auth[application_token]"),
    ],
)
def test_bitrix24_events_that_crashed_are_refused(
    sqlite_url: str, body: bytes, content_type: str, status: int, field: str
) -> None:
    with WebhookApp(sqlite_url, routing=TRACKER_ROUTING) as app:
        answer = app.check("/webhooks/bitrix24", body, content_type)
        assert (answer.status, answer.body["field"]) == (status, field)


@pytest.mark.parametrize(
    "body", [b"[" * 5000 + b"]" * 5000, b'{"data": {"issue": {"id": 1e400}}}']
)
def test_signed_redmine_bodies_that_crashed_are_refused(sqlite_url: str, body: bytes) -> None:
    digest = hmac.new(REDMINE_SECRET.encode(), body, hashlib.sha256).hexdigest()
    with WebhookApp(sqlite_url, routing=TRACKER_ROUTING) as app:
        answer = app.check(
            "/webhooks/redmine", body, JSON, **{"X-Redmine-Signature-256": f"sha256={digest}"}
        )
        assert (answer.status, answer.body["field"]) == (400, "data.issue.id")
        unsigned = app.check("/webhooks/redmine", body, JSON)
        assert (unsigned.status, unsigned.body["field"]) == (401, "X-Redmine-Signature-256")


def test_a_good_date_still_parses() -> None:
    _kind, parsed, _ = parse_generic_webhook(ticket(created_at="2026-11-22T10:00:00+03:00"))
    assert parsed.created_at == datetime(2026, 11, 22, 7, tzinfo=UTC)


def test_a_card_for_a_ticket_created_on_the_calendars_last_evening(sqlite_url: str) -> None:
    # 23:30 UTC on 31 December 9999 has no Moscow time: rendering the card overflowed.
    body = as_json(ticket(created_at="9999-12-31T23:30:00+00:00"))
    with WebhookApp(sqlite_url) as app:
        answer = app.check("/webhooks/generic", body, JSON, **HOOK)
        assert answer.status == 200


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"id": 1, "title": "a\x00b", "status_id": "s" * 80}, ("ab", "s" * 64)),
        ({"id": 2, "title": "\ud800", "status_id": "open"}, ("?", "open")),
    ],
)
def test_a_fetched_ticket_with_text_a_database_cannot_hold_is_stored_cleaned(
    db_url: str, raw: dict[str, Any], expected: tuple[str, str]
) -> None:
    data = ticket_from_hde(raw, TicketContext())
    with WebhookApp(db_url, **HELPDESKEDDY) as app:
        app.run(
            lambda service: service.domain.intake.apply_fetched(
                source="helpdeskeddy", kind=TicketEventKind.UPDATED, data=data
            )
        )
        rows = app.run(lambda service: _tickets(service.database))
    assert [(row.subject, row.status) for row in rows] == [expected]


async def _tickets(database: Database) -> list[TicketRow]:
    async with database.unit_of_work() as uow:
        return list((await uow.session.execute(select(TicketRow))).scalars().all())
