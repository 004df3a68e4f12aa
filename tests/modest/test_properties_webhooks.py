"""Webhook bodies by machine, through the real aiohttp app, on SQLite and PostgreSQL.

The app is the one ``modest run`` serves (``build_service``), with nothing started
but the HTTP routes, so the database changes only through the request in hand.
Property: whatever the body, the answer is a 2xx, or a 4xx whose JSON names the
field at fault; never a 5xx. A refused body stores nothing, in any table.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from connectors.base import PermanentError
from connectors.helpdeskeddy_parse import TicketContext, ticket_from_hde
from connectors.rt import ticket_from_rt
from connectors.types import TicketEventKind
from tests.support.properties import (
    bitrix24_forms,
    examples,
    generic_bodies,
    helpdeskeddy_fields,
    helpdeskeddy_tickets,
    json_values,
    redmine_bodies,
    rt_tickets,
    texts,
)
from tests.support.webhook_app import (
    FORM,
    HELPDESKEDDY,
    JSON,
    REDMINE_SECRET,
    RT,
    SECRET,
    TRACKER_ROUTING,
    WebhookApp,
    as_form,
    as_json,
)

_nesting = st.integers(min_value=1, max_value=30_000).map(lambda n: ("[" * n + "]" * n).encode())
_raw = st.one_of(st.binary(max_size=200), _nesting, st.just(b'{"a": 1e400}'))
_content_types = st.sampled_from([JSON, JSON, FORM, "text/plain", "", "multipart/form-data"])


@st.composite
def _bodies(draw: st.DrawFn, shaped: st.SearchStrategy[Any]) -> tuple[bytes, str]:
    """A body and its content type: JSON or a form of the shaped value, or raw bytes."""
    how = draw(st.sampled_from(["json", "json", "form", "raw"]))
    value = draw(shaped)
    if how == "json":
        return as_json(value), JSON
    if how == "form":
        return as_form(value), FORM
    return draw(_raw), draw(_content_types)


def test_generic_bodies_json_or_not(db_url: str) -> None:
    with WebhookApp(db_url) as app:

        @examples(150)
        @given(_bodies(generic_bodies))
        def post(body: tuple[bytes, str]) -> None:
            app.check("/webhooks/generic", *body, **{"X-Webhook-Secret": SECRET})

        post()


def test_a_wrong_secret_or_type_is_refused_naming_it(db_url: str) -> None:
    with WebhookApp(db_url) as app:

        @examples(20)
        @given(texts, _content_types)
        def post(secret: str, content_type: str) -> None:
            body = as_json({"event": "ticket.created", "ticket": {"id": "1", "subject": "s"}})
            headers = {"X-Webhook-Secret": secret} if secret.isprintable() else {}
            answer = app.check("/webhooks/generic", body, content_type, **headers)
            assert answer.status in {401, 415}, answer

        post()


def test_helpdeskeddy_bodies_json_and_form(db_url: str) -> None:
    with WebhookApp(db_url, **HELPDESKEDDY) as app:

        @examples(120)
        @given(_bodies(helpdeskeddy_fields))
        def post(body: tuple[bytes, str]) -> None:
            app.check("/webhooks/helpdeskeddy", *body, **{"X-Webhook-Secret": SECRET})

        post()


def test_rt_scrip_bodies_json_and_form(db_url: str) -> None:
    with WebhookApp(db_url, routing="helpdesk:\n  kind: rt\n", **RT) as app:

        @examples(60)
        @given(_bodies(helpdeskeddy_fields))
        def post(body: tuple[bytes, str]) -> None:
            app.check("/webhooks/rt", *body, **{"X-Webhook-Secret": SECRET})

        post()


def test_bitrix24_events(db_url: str) -> None:
    with WebhookApp(db_url, routing=TRACKER_ROUTING) as app:

        @examples(80)
        @given(_bodies(bitrix24_forms))
        def post(body: tuple[bytes, str]) -> None:
            app.check("/webhooks/bitrix24", *body)

        post()


def test_redmine_webhooks_signed_or_not(db_url: str) -> None:
    with WebhookApp(db_url, routing=TRACKER_ROUTING) as app:

        @examples(80)
        @given(_bodies(st.one_of(redmine_bodies, json_values)), st.booleans())
        def post(body: tuple[bytes, str], signed: bool) -> None:
            digest = hmac.new(REDMINE_SECRET.encode(), body[0], hashlib.sha256).hexdigest()
            headers = {"X-Redmine-Signature-256": f"sha256={digest}"} if signed else {}
            app.check("/webhooks/redmine", *body, **headers)

        post()


def test_fetched_tickets_of_any_shape_are_stored(db_url: str) -> None:
    context = TicketContext(portal_tz=ZoneInfo("Europe/Moscow"))
    with WebhookApp(db_url, **HELPDESKEDDY) as app:

        @examples(100)
        @given(st.one_of(helpdeskeddy_tickets, rt_tickets))
        def apply(raw: dict[str, Any]) -> None:
            raw = json.loads(as_json(raw))  # as it comes over HTTP
            try:
                data = (
                    ticket_from_rt(raw, url_template="https://rt.test/{id}")
                    if "Subject" in raw
                    else ticket_from_hde(raw, context)
                )
            except PermanentError:
                return
            kind = TicketEventKind.CLOSED if data.closed else TicketEventKind.UPDATED
            app.run(
                lambda service: service.domain.intake.apply_fetched(
                    source="helpdeskeddy", kind=kind, data=data
                )
            )

        apply()
