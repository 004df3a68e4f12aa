"""SLA services on a controllable clock, and a routing file with policies, stages and lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import RoutingConfig, load_routing_text
from dispatch.assignment import AssignmentService
from dispatch.cards import CardPublisher
from dispatch.events import TicketLog
from dispatch.intake import IntakeService
from dispatch.lines.service import LineService
from dispatch.lists import TicketLists
from dispatch.models import (
    Client,
    HelpdeskEvent,
    Reply,
    ReplyAuthor,
    TicketData,
    TicketEventKind,
)
from dispatch.reports import ReportService
from dispatch.sla.scan import SlaService
from dispatch.subscriptions import subscribe_features
from storage.db import Database
from storage.models import OutboxRow, SlaClockRow, TicketEventRow, TicketRow
from tests.support.reminders import Clock
from tests.support.routing import ROUTING_YAML

#: Monday 23 November 2026, 10:00 in Moscow.
MONDAY_10 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)

SLA_YAML = """\
working_hours:
  mon-fri: "09:00-18:00"
  holidays: [2026-12-31]
statuses:
  waiting_client: [waiting]
  internal: [developer]
  feedback: [answered]
sla:
  warn_at: 80%
  policies:
    - name: critical
      priorities: [urgent]
      first_response: 15m
      resolution: 4h
      calendar: 24x7
    - name: incidents
      types: [incident]
      first_response: 30m
      resolution: 8h
    - name: vip
      clients: [beta]
      first_response: 20m
      resolution: 6h
    - name: escalated
      statuses: [escalated]
      first_response: 10m
      resolution: 2h
    - name: standard
      first_response: 1h
      resolution: 16h
clients:
  - key: acme
    name: Acme
    match: {companies: [Acme]}
    unlimited: true
    sla: {resolution: 8h}
  - key: beta
    name: Beta
    match: {companies: [Beta]}
    unlimited: true
"""
ESCALATED_STATUS = "  classification: [escalated]\n"
#: Two more departments, on lines 2 and 3.
LINES = """\
  - key: experts
    name: Experts
    line: 2
    members: [anna]
  - key: platform
    name: Platform team
    line: 3
    members: [petr]
"""
LEADS = "  - key: lena\n    name: Lena Lead\n    telegram_id: 1009\n    roles: [lead]\n"


def sla_routing(extra: str = "", *, departments: str = "") -> RoutingConfig:
    """The test routing file with SLA policies, a lead, and more departments or YAML."""
    text = ROUTING_YAML.replace("people:\n", departments + "people:\n", 1)
    text += LEADS + SLA_YAML.replace("statuses:\n", "statuses:\n" + ESCALATED_STATUS) + extra
    return load_routing_text(text, "routing.yaml")


@dataclass
class SlaServices:
    """Intake, assignment, SLA and lines sharing one clock and database."""

    db: Database
    routing: RoutingConfig
    clock: Clock
    intake: IntakeService
    assignment: AssignmentService
    sla: SlaService
    lines: LineService
    lists: TicketLists
    reports: ReportService
    _deliveries: list[int] = field(default_factory=lambda: [0])
    #: Each ticket's fields as last sent: the helpdesk always sends the whole ticket.
    _fields: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def send(self, external_id: str, kind: TicketEventKind, **changed: Any) -> int:
        """A helpdesk event with the whole ticket; returns the ticket's id."""
        self._deliveries[0] += 1
        fields = {**self._fields.get(external_id, {}), **changed}
        fields.pop("replies", None)
        self._fields[external_id] = dict(fields)
        company = fields.pop("company", "")
        if "replies" in changed:
            fields["replies"] = changed["replies"]
        fields.setdefault("subject", "s")
        data = TicketData(
            external_id=external_id,
            number=f"N-{external_id}",
            client=Client(company=company),
            **fields,
        )
        event = HelpdeskEvent("generic", kind, f"d-{self._deliveries[0]}", data)
        await self.intake.accept_event(event)
        async with self.db.unit_of_work() as uow:
            ticket = await uow.tickets.get_by_external(source="generic", external_id=external_id)
        assert ticket is not None
        assert ticket.id is not None
        return ticket.id

    async def new_ticket(self, external_id: str, **fields: Any) -> int:
        """A ticket arrives now."""
        return await self.send(external_id, TicketEventKind.CREATED, **fields)

    async def staff_reply(self, external_id: str, reply_id: str, **fields: Any) -> None:
        """The helpdesk tells of a staff reply, now."""
        reply = Reply(reply_id, ReplyAuthor.STAFF, at=self.clock.now)
        await self.send(external_id, TicketEventKind.UPDATED, replies=(reply,), **fields)

    async def clocks(self, ticket_id: int) -> dict[str, SlaClockRow]:
        """The ticket's clocks by target."""
        async with self.db.unit_of_work() as uow:
            rows = await uow.sla.clocks(ticket_id=ticket_id)
        return {row.target: row for row in rows}

    async def ticket(self, ticket_id: int) -> TicketRow:
        async with self.db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=ticket_id)
        assert ticket is not None
        return ticket

    async def sends(self, chat_id: int | None = None) -> list[OutboxRow]:
        """Every send queued (to ``chat_id``), oldest first."""
        stmt = select(OutboxRow).where(col(OutboxRow.op) == "send").order_by(col(OutboxRow.id))
        if chat_id is not None:
            stmt = stmt.where(col(OutboxRow.chat_id) == chat_id)
        async with self.db.unit_of_work() as uow:
            return list((await uow.session.execute(stmt)).scalars().all())

    async def texts(self, chat_id: int) -> list[str]:
        """The texts of the sends to a chat."""
        return [str(row.payload.get("text", "")) for row in await self.sends(chat_id)]

    async def events(self, ticket_id: int, *kinds: str) -> list[TicketEventRow]:
        async with self.db.unit_of_work() as uow:
            rows = await uow.events.for_ticket(ticket_id=ticket_id, kinds=kinds or None)
        return list(rows)


def sla_services(
    db: Database, routing: RoutingConfig, clock: Clock, *, tells_replies: bool = True
) -> SlaServices:
    """Fresh services over the same database (a restart is just another call)."""
    renderer = TelegramRenderer(Texts("en"), routing.tz)
    cards = CardPublisher(routing, renderer, clock=clock)
    events = TicketLog(clock=clock)
    subscribe_features(
        events,
        routing,
        cards,
        time_tracker=None,
        writes_back=False,
        tells_replies=tells_replies,
        clock=clock,
    )
    return SlaServices(
        db,
        routing,
        clock,
        IntakeService(db, routing, events, clock=clock),
        AssignmentService(db, routing, cards, events, writes_back=False, clock=clock),
        SlaService(db, routing, cards, renderer, events, clock=clock),
        LineService(db, routing, renderer, events, notes=None, clock=clock),
        TicketLists(db, routing, renderer, clock=clock),
        ReportService(db, routing, clock=clock),
    )
