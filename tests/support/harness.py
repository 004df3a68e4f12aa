"""Runs a real Modest service (HTTP, polling, outbox, jobs) against the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from argon2 import PasswordHasher
from sqlmodel import select

from bot.delivery.limits import TelegramRateLimiter
from config.routing import RoutingConfig
from config.settings import load_settings
from connectors.base import HelpdeskConnector
from connectors.crm import CrmConnector
from connectors.registry import ConnectorRegistry
from connectors.trackers import TrackerConnector
from modest.app import ModestService, build_service
from storage.db import Database
from storage.migrate import upgrade
from storage.models import TicketRow, TimeEntryRow
from tests.support.telegram_emulator import EmulatedMessage, TelegramEmulator

SECRET = "hook-secret-1"


@dataclass
class Harness:
    """A started service, an HTTP client for its webhooks, and the emulator."""

    service: ModestService
    http: httpx.AsyncClient
    tg: TelegramEmulator
    chat_id: int

    async def post_generic(self, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
        """POST a generic webhook with the right secret."""
        headers = {"X-Webhook-Secret": SECRET, **kwargs.pop("headers", {})}
        return await self.http.post("/webhooks/generic", json=body, headers=headers, **kwargs)

    async def card(self, index: int = 0, timeout: float = 5.0) -> EmulatedMessage:
        """Wait for the dispatch chat's ``index``-th message and return it."""
        await self.tg.wait_for(lambda: len(self.tg.messages(self.chat_id)) > index, timeout)
        return self.tg.messages(self.chat_id)[index]

    async def tickets(self) -> list[TicketRow]:
        """Every stored ticket."""
        async with self.service.database.unit_of_work() as uow:
            return list((await uow.session.execute(select(TicketRow))).scalars().all())


def ticket_body(
    external_id: str = "101", *, event: str = "ticket.created", **ticket: Any
) -> dict[str, Any]:
    """A generic webhook body for one ticket."""
    data: dict[str, Any] = {
        "id": external_id,
        "number": f"A-{external_id}",
        "subject": "Printer on fire",
        "body": "Flames everywhere.",
        "priority": "high",
        "type": "incident",
        "client": {"name": "Maria", "email": "m@acme.test", "company": "Acme"},
        "url": f"https://help.example/tickets/{external_id}",
        "created_at": "2026-11-22T07:30:00+00:00",
    }
    data.update(ticket)
    return {"event": event, "ticket": data}


async def migrate(db_url: str) -> None:
    """Apply the migrations (what ``modest run`` does at start)."""
    database = Database(db_url)
    await upgrade(database)
    await database.dispose()


@asynccontextmanager
async def running_modest(
    tg: TelegramEmulator,
    routing: RoutingConfig,
    db_url: str,
    *,
    helpdesk: HelpdeskConnector | None = None,
    limiter: TelegramRateLimiter | None = None,
    job_retry_delay: float = 0.2,
    polling_lease_ttl: float = 30.0,
    tracker: TrackerConnector | None = None,
    connectors: ConnectorRegistry | None = None,
    crm: CrmConnector | None = None,
    portal_hasher: PasswordHasher | None = None,
    wait_settled: bool = True,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """Start Modest like ``modest run`` does, on a free port; stop it on exit.

    Unless ``wait_settled`` is false, the test begins once the service has done its
    start's background work (models built, menus set: ``ModestService.settled``), as a
    service some seconds old has.
    """
    for person in routing.people:
        if person.telegram_id:
            tg.add_user(person.telegram_id, first_name=person.name)
    tg.add_chat(routing.dispatch.chat_id, title="Dispatch")
    await migrate(db_url)
    config = load_settings(
        env_file=None,
        telegram_bot_token=tg.token,
        telegram_api_base=tg.base_url,
        database_url=db_url,
        helpdesk_webhook_secret=SECRET,
        **settings,
    ).model_copy(update={"http_port": 0})
    service = build_service(
        config,
        routing,
        helpdesk=helpdesk,
        limiter=limiter,
        job_retry_delay=job_retry_delay,
        tracker=tracker,
        connectors=connectors,
        crm=crm,
        portal_hasher=portal_hasher,
    )
    service.polling_lease_ttl = polling_lease_ttl
    await service.start()
    if wait_settled:
        await service.settled()
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.http_port}", timeout=10)
    try:
        yield Harness(service, http, tg, routing.dispatch.chat_id)
    finally:
        await http.aclose()
        await service.stop()


async def post_hde(
    h: Harness, fields: dict[str, Any], *, form: bool = False, secret: str | None = SECRET
) -> httpx.Response:
    """Deliver a HelpDeskEddy webhook the way its Dispatcher rule does: secret in the URL."""
    params = {"secret": secret} if secret is not None else {}
    if form:
        data = {key: str(value) for key, value in fields.items()}
        return await h.http.post("/webhooks/helpdeskeddy", params=params, data=data)
    return await h.http.post("/webhooks/helpdeskeddy", params=params, json=fields)


async def close_assigned(h: Harness, external_id: str) -> None:
    """A ticket assigned to Olga in the helpdesk, then closed there."""
    await h.post_generic(ticket_body(external_id, assignee="12"))
    await h.post_generic(ticket_body(external_id, event="ticket.closed", assignee="12"))


async def entries(h: Harness) -> list[TimeEntryRow]:
    async with h.service.database.unit_of_work() as uow:
        return list((await uow.session.execute(select(TimeEntryRow))).scalars().all())
