"""Replies from a real Request Tracker 5: its Correspond transactions become reply events.

A ticket gets an answer by a routing-file person (agent1, Ivan, through REST2), an
internal comment, the requestor's answer by mail (RT's mail gateway, as ``rt-mailgate``
hands it over) and an answer by root, privileged in RT but in no routing file. Polling
(the connector built from ``RT_URL``/``RT_TOKEN`` and the routing file, as the service
builds it) records the first staff reply, the client's reply and root's staff reply,
once each, never the comment; the quality check of staff replies reads them as it reads
any helpdesk's. RT is shared: the ticket has a subject of its own and is resolved at
the end.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from bot.i18n import Texts
from bot.stats_renderers import TelegramStatsRenderer
from config.routing import RoutingConfig, load_routing_text
from config.settings import load_settings
from connectors.base import HelpdeskConnector
from connectors.registry import default_registry
from dispatch.events import EventKind, Source, TicketLog
from dispatch.intake import IntakeService
from dispatch.reconcile import HelpdeskPoller
from dispatch.stats.quality import QualityCheck
from modest.wiring import bind_references, build_helpdesk
from storage.db import Database
from storage.models import OutboxRow, TicketEventRow
from tests.support.rt import RtServer, mail_to_rt, rt_admin

LEAD = 1005
ROUTING = """\
timezone: Europe/Moscow
language: en
helpdesk:
  kind: rt
dispatch:
  chat_id: -1001234567890
departments:
  - key: support
    name: Support
    rt_queue: Support
    members: [ivan]
people:
  - key: ivan
    name: Ivan Petrov
    telegram_id: 1001
    rt_user: agent1
    roles: [dispatcher, specialist]
  - key: lena
    name: Lena Lead
    telegram_id: 1005
    roles: [lead]
quality:
  forbidden_words: [блин]
"""
REPLY_KINDS = (
    EventKind.FIRST_STAFF_REPLY,
    EventKind.STAFF_REPLIED,
    EventKind.CLIENT_REPLIED,
    EventKind.FORBIDDEN_WORD,
)


def routing() -> RoutingConfig:
    loaded = load_routing_text(ROUTING, "routing.yaml")
    return bind_references(loaded, default_registry(), helpdesk="rt", tracker=None)


def connector(rt: RtServer, monkeypatch: pytest.MonkeyPatch) -> HelpdeskConnector:
    """The RT connector exactly as the service builds it from the settings and routing."""
    for name in ("RT_URL", "RT_TOKEN", "RT_USER", "RT_PASSWORD", "RT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(
        env_file=None, telegram_bot_token="1:x", rt_url=rt.url, rt_token=rt.token
    )
    return build_helpdesk(settings, routing())


async def poll_once(database: Database, helpdesk: HelpdeskConnector) -> None:
    """One polling pass through fresh services (a restart is just another call)."""
    config = routing()
    events = TicketLog()
    QualityCheck(config, TelegramStatsRenderer(Texts("en"))).subscribe(events)
    intake = IntakeService(database, config, events)
    await HelpdeskPoller(database, helpdesk, intake, via=Source.POLL).run_once()


class Rt:
    """REST2 calls people make in RT: root by token, agent1 by password."""

    def __init__(self, server: RtServer) -> None:
        api = f"{server.url}/REST/2.0/"
        token = {"Authorization": f"token {server.token}"}
        self.root = httpx.AsyncClient(base_url=api, headers=token, timeout=30)
        self.agent1 = httpx.AsyncClient(base_url=api, auth=("agent1", server.password), timeout=30)
        self.created: list[str] = []

    async def post(self, client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
        answer = await client.post(path, json=body)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    async def transactions(self, ticket_id: str) -> list[tuple[str, str]]:
        """(id, type) of the ticket's Correspond and Comment transactions, oldest first."""
        query = '[{"field":"Type","operator":"IN","value":["Correspond","Comment"]}]'
        params = {"query": query, "fields": "Type", "per_page": 100}
        answer = await self.root.get(f"ticket/{ticket_id}/history", params=params)
        return [(item["id"], item["Type"]) for item in answer.json()["items"]]


@pytest.fixture
async def rt(rt_server: RtServer) -> AsyncIterator[Rt]:
    rt_admin("requestors-reply", "Support", password=rt_server.password)
    people = Rt(rt_server)
    yield people
    for ticket_id in people.created:
        await people.root.put(f"ticket/{ticket_id}", json={"Status": "resolved"})
    await people.root.aclose()
    await people.agent1.aclose()


async def reply_events(database: Database, ticket_id: str) -> list[TicketEventRow]:
    async with database.unit_of_work() as uow:
        ticket = await uow.tickets.get_by_external(source="rt", external_id=ticket_id)
        assert ticket is not None
        assert ticket.id is not None
        return list(await uow.events.for_ticket(ticket_id=ticket.id, kinds=REPLY_KINDS))


async def lead_messages(database: Database) -> list[str]:
    async with database.unit_of_work() as uow:
        stmt = select(OutboxRow).where(col(OutboxRow.chat_id) == LEAD)
        rows = (await uow.session.execute(stmt)).scalars().all()
    return [str(row.payload.get("text", "")) for row in rows]


async def test_rt_correspondence_is_recorded_once_per_reply_and_a_comment_never(
    database: Database, rt_server: RtServer, rt: Rt, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with database.unit_of_work() as uow:  # poll from now, as a running service would
        await uow.sync_state.put(key="poll.rt.watermark", value=datetime.now(UTC).isoformat())
        await uow.commit()
    subject = f"Printer prints blank pages [{uuid.uuid4().hex[:8]}]"
    requestor = f"maria-{uuid.uuid4().hex[:8]}@acme.test"
    created = await rt.post(
        rt.root,
        "ticket",
        {
            "Queue": "Support",
            "Subject": subject,
            "Requestor": f"Maria Ivanova <{requestor}>",
            "Content": "Every page comes out blank.",
            "ContentType": "text/plain",
        },
    )
    ticket_id = str(created["id"])
    rt.created.append(ticket_id)
    plain = {"ContentType": "text/plain"}
    await rt.post(
        rt.agent1,
        f"ticket/{ticket_id}/correspond",
        {"Content": "Ну блин, check the toner first.", **plain},
    )
    await rt.post(
        rt.agent1,
        f"ticket/{ticket_id}/comment",
        {"Content": "Internal: блин, the client never reads the manual", **plain},
    )
    await mail_to_rt(
        rt_server,
        queue="Support",
        ticket_id=ticket_id,
        sender=f"Maria Ivanova <{requestor}>",
        subject=subject,
        text="Toner is new. Всё ещё пусто.",
    )
    await rt.post(
        rt.root,
        f"ticket/{ticket_id}/correspond",
        {"Content": "<p>Replaced the <b>fuser</b>; fixed.</p>", "ContentType": "text/html"},
    )
    transactions = await rt.transactions(ticket_id)
    correspond = [tid for tid, kind in transactions if kind == "Correspond"]
    (comment,) = [tid for tid, kind in transactions if kind == "Comment"]
    assert len(correspond) == 3

    helpdesk = connector(rt_server, monkeypatch)
    try:
        await poll_once(database, helpdesk)
        first = await reply_events(database, ticket_id)
        await poll_once(database, helpdesk)  # the window's overlap lists the ticket again
    finally:
        await helpdesk.aclose()
    restarted = connector(rt_server, monkeypatch)  # nothing cached: everything read again
    try:
        await poll_once(database, restarted)
    finally:
        await restarted.aclose()
    events = await reply_events(database, ticket_id)

    assert [e.id for e in events] == [e.id for e in first], "no reply is recorded twice"
    assert [(e.kind, e.actor_kind, e.actor, e.detail.get("reply")) for e in events] == [
        ("first_staff_reply", "person", "ivan", correspond[0]),
        ("forbidden_word", "person", "ivan", correspond[0]),
        ("client_replied", "helpdesk", None, correspond[1]),
        ("staff_replied", "helpdesk", "root", correspond[2]),
    ]
    assert events[0].detail["text"] == "Ну блин, check the toner first."
    assert events[1].detail["words"] == ["блин"]
    assert events[2].detail["author"] == "Maria Ivanova"
    assert "text" not in events[2].detail, "a client's words are not kept"
    assert events[3].detail["text"] == "Replaced the fuser; fixed."
    assert all(comment != e.detail.get("reply") for e in events)
    assert not any("manual" in str(e.detail) for e in events), "a comment is internal"
    # One message to the lead about this ticket (the window may hold other tests' tickets).
    (alert,) = [text for text in await lead_messages(database) if subject in text]
    assert "Forbidden words in a staff reply" in alert
    assert "Ivan Petrov" in alert
