"""The ticket page with SLA: when each target falls due, how it went; "waiting for you"
follows the status model."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from config.routing import RoutingConfig, load_routing_text
from storage.models import SlaClockRow
from storage.types import utcnow
from tests.support.harness import Harness, ticket_body
from tests.support.portal import CLIENTS_YAML, client_of, running_portal, signed_in
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator

SLA_YAML = """\
statuses:
  waiting_client: [on_hold]
sla:
  policies:
    - name: standard
      first_response: 1h
      resolution: 8h
      calendar: 24x7
"""


def sla_portal_routing(language: str = "en", *, sla: bool = True) -> RoutingConfig:
    text = ROUTING_YAML.replace("language: en", f"language: {language}") + CLIENTS_YAML
    text += SLA_YAML if sla else "statuses:\n  waiting_client: [on_hold]\n"
    return load_routing_text(text, "routing.yaml")


def sla_rows(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<dt>SLA: ([^<]+)</dt><dd class="sla sla-[a-z]+">([^<]+)</dd>', page)


def history(page: str) -> list[str]:
    return [entry for _, entry in re.findall(r"<li><time>([^<]+)</time>([^<]+)</li>", page)]


def moscow(at: datetime) -> str:
    return (at + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M")


async def clocks(h: Harness) -> dict[str, SlaClockRow]:
    async with h.service.database.unit_of_work() as uow:
        rows = (await uow.session.execute(select(SlaClockRow))).scalars().all()
    return {row.target: row for row in rows}


async def post(h: Harness, event: str, **ticket: object) -> None:
    body = ticket_body("1", event=event, client=client_of("boss@acme.example"), **ticket)
    body["delivery_id"] = f"{event}-{ticket.get('status', '')}-{ticket.get('updated_at', '')}"
    answer = await h.post_generic(body)
    assert answer.status_code == 200, answer.text


async def test_the_ticket_page_shows_each_target_due_paused_and_met(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    created = utcnow().replace(microsecond=0) - timedelta(minutes=10)
    async with running_portal(tg, sqlite_url, routing=sla_portal_routing()) as h:
        await post(h, "ticket.created", status="open", created_at=created.isoformat())
        user = await signed_in(h, "acme", "boss@acme.example")

        started = await clocks(h)
        assert {target: row.due_at for target, row in started.items()} == {
            "first_response": created + timedelta(hours=1),
            "resolution": created + timedelta(hours=8),
        }
        page = (await user.get("/portal/tickets/A-1")).text
        assert sla_rows(page) == [
            ("First response", f"by {moscow(created + timedelta(hours=1))}"),
            ("Resolution", f"by {moscow(created + timedelta(hours=8))}"),
        ]

        await post(h, "ticket.updated", status="on_hold", updated_at=utcnow().isoformat())
        page = (await user.get("/portal/tickets/A-1")).text
        assert '<span class="stage stage-waiting">Waiting for you</span>' in page
        assert history(page)[-1] == "Waiting for your reply"
        assert sla_rows(page) == [
            ("First response", "paused while we wait for your reply"),
            ("Resolution", "paused while we wait for your reply"),
        ]
        assert (await user.get("/portal/tickets?status=waiting")).text.count("A-1</a>") == 1

        await post(h, "ticket.closed", status="closed", updated_at=utcnow().isoformat())
        page = (await user.get("/portal/tickets/A-1")).text
        assert sla_rows(page) == [
            ("First response", "met the agreed time"),
            ("Resolution", "met the agreed time"),
        ]
        await user.aclose()


async def test_overdue_and_missed_targets_in_russian(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url, routing=sla_portal_routing("ru")) as h:
        await post(h, "ticket.created", status="open", created_at=utcnow().isoformat())
        due = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
        async with h.service.database.unit_of_work() as uow:
            stmt = select(SlaClockRow).where(col(SlaClockRow.target) == "first_response")
            first = (await uow.session.execute(stmt)).scalars().one()
            first.used_s, first.since, first.done_at = 7200, None, utcnow()
            stmt = select(SlaClockRow).where(col(SlaClockRow.target) == "resolution")
            resolution = (await uow.session.execute(stmt)).scalars().one()
            resolution.since, resolution.due_at = due - timedelta(hours=8), due
            await uow.commit()
        user = await signed_in(h, "acme", "boss@acme.example")
        page = (await user.get("/portal/tickets/A-1")).text
        assert sla_rows(page) == [
            ("Решение", "просрочено, срок был 22.11.2026 12:00"),
            ("Первый ответ", "позже установленного срока"),
        ]
        await user.aclose()


async def test_waiting_for_you_is_the_status_model_s_stage_not_a_built_in_list(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    routing = sla_portal_routing(sla=False)
    async with running_portal(tg, sqlite_url, routing=routing) as h:
        await post(h, "ticket.created", status="open")
        await post(h, "ticket.updated", status="pending", updated_at="2026-11-22T08:00:00+00:00")
        user = await signed_in(h, "acme", "boss@acme.example")
        page = (await user.get("/portal/tickets/A-1")).text
        # "pending" is mapped to no stage here: the ticket is not waiting for the client.
        assert "Waiting for you" not in page
        assert "Waiting for your reply" not in history(page)
        assert sla_rows(page) == [], "no SLA without policies"
        await post(h, "ticket.updated", status="on_hold", updated_at="2026-11-22T09:00:00+00:00")
        page = (await user.get("/portal/tickets/A-1")).text
        assert "Waiting for you" in page
        assert history(page)[-1] == "Waiting for your reply"
        await user.aclose()
