"""The client cabinet under test: a routing file with clients, a browser-like client."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from argon2 import PasswordHasher

from config.routing import RoutingConfig, load_routing_text
from connectors.base import HelpdeskConnector
from dispatch.events import Actor, Source
from dispatch.portal.models import Invitation
from modest.portal import portal_accounts
from tests.support.harness import Harness, running_modest
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator

BASE_URL = "http://portal.test"
DMITRY = 1005
PASSWORD = "correct horse battery"
#: Argon2id at its cheapest: the tests check behaviour, not the cost.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

CLIENTS_YAML = """\
  - key: dmitry
    name: Dmitry Volkov
    telegram_id: 1005
    roles: [manager]
    contact: d.volkov@support.example
clients:
  - key: acme
    name: Acme Ltd
    match: {companies: [Acme], email_domains: [acme.example]}
    hours_per_month: 20
    hour_rate: 2500
    overage_rate: 3500
    contract: "No. 12/2026"
    start_date: 2026-01-01
    manager: dmitry
    support_type: Website support
    portal_url: https://acme.example
    portal_type: 1C-Bitrix
    tariff: Standard
    monthly_fee: 50000
    bonus_hours: 2
  - key: beta
    name: Beta Group
    match: {email_domains: [beta.example]}
    unlimited: true
    hour_rate: 2000
"""


#: The status model: the generic helpdesk's "waiting" is waiting for the client.
STATUSES_YAML = "statuses:\n  waiting_client: [waiting]\n"


def portal_routing(language: str = "en") -> RoutingConfig:
    """The tests' routing file with a manager and two clients, acme and beta."""
    text = ROUTING_YAML.replace("language: en", f"language: {language}")
    return load_routing_text(text + CLIENTS_YAML + STATUSES_YAML, "routing.yaml")


@asynccontextmanager
async def running_portal(
    tg: TelegramEmulator,
    db_url: str,
    *,
    routing: RoutingConfig | None = None,
    helpdesk: HelpdeskConnector | None = None,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """Modest with the cabinet on, as ``modest run`` starts it."""
    async with running_modest(
        tg,
        routing or portal_routing(),
        db_url,
        helpdesk=helpdesk,
        portal_hasher=CHEAP_HASHER,
        portal_base_url=BASE_URL,
        **settings,
    ) as h:
        yield h


async def invite(h: Harness, client: str, email: str, name: str = "Boris Orlov") -> Invitation:
    """An invitation made as ``modest portal invite`` makes it."""
    accounts = portal_accounts(
        h.service.database, h.service.routing, BASE_URL, hasher=CHEAP_HASHER
    )
    return await accounts.invite(
        client_key=client, email=email, name=name, actor=Actor.system(Source.CLI)
    )


def csrf_of(page: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


class Browser:
    """A cookie-keeping HTTP client that fills the cabinet's forms."""

    def __init__(self, h: Harness) -> None:
        self.http = httpx.AsyncClient(base_url=str(h.http.base_url), timeout=10)

    async def aclose(self) -> None:
        """Close the connections."""
        await self.http.aclose()

    async def get(self, path: str) -> httpx.Response:
        """A GET, redirects not followed."""
        return await self.http.get(path)

    async def form(
        self, path: str, data: dict[str, str], *, page: str | None = None
    ) -> httpx.Response:
        """POST a form with the CSRF token of ``page`` (default: the same path)."""
        shown = await self.http.get(page or path)
        return await self.http.post(path, data={"csrf": csrf_of(shown.text), **data})

    async def accept(self, invitation: Invitation, password: str = PASSWORD) -> httpx.Response:
        """Set the password through the invitation link."""
        path = invitation.link.removeprefix(BASE_URL)
        return await self.form(path, {"password": password, "password2": password})

    async def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        """Sign in through the login form."""
        return await self.form("/portal/login", {"email": email, "password": password})


@asynccontextmanager
async def browser(h: Harness) -> AsyncIterator[Browser]:
    """A fresh browser without cookies."""
    client = Browser(h)
    try:
        yield client
    finally:
        await client.aclose()


async def signed_in(h: Harness, client: str, email: str) -> Browser:
    """A browser signed in as a newly invited user (close it with ``aclose``)."""
    user = Browser(h)
    answer = await user.accept(await invite(h, client, email))
    assert answer.status_code == 303, answer.text
    return user


def client_of(email: str, company: str = "") -> dict[str, str]:
    """The generic webhook's client block."""
    return {"name": email.split("@")[0].title(), "email": email, "company": company}


async def seed_tickets(h: Harness) -> None:
    """Acme's A-1 (open) and A-2 (closed), Beta's B-1."""
    from tests.support.harness import ticket_body

    bodies = [
        ticket_body("1", client=client_of("boss@acme.example"), delivery_id="s1"),
        ticket_body(
            "2",
            subject="Invoice question",
            client=client_of("anna@elsewhere.example", "Acme"),
            delivery_id="s2",
        ),
        ticket_body(
            "2",
            event="ticket.closed",
            subject="Invoice question",
            client=client_of("anna@elsewhere.example", "Acme"),
            delivery_id="s3",
        ),
        ticket_body("3", number="B-1", subject="Beta's own", client=client_of("v@beta.example")),
    ]
    for body in bodies:
        answer = await h.post_generic(body)
        assert answer.status_code == 200, answer.text


async def new_request(
    user: Browser,
    *,
    subject: str = "Export is broken",
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    csrf: str | None = None,
) -> httpx.Response:
    """Submit the new-request form (multipart) with the page's CSRF token first."""
    page = await user.get("/portal/requests/new")
    data = {
        "csrf": csrf if csrf is not None else csrf_of(page.text),
        "subject": subject,
        "description": "The nightly export stops at 3 a.m.",
        "priority": "high",
    }
    return await user.http.post(
        "/portal/requests/new",
        data=data,
        files=files or [("files", ("", b"", "application/octet-stream"))],
    )
