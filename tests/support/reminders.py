"""Domain services wired with a controllable clock, for reminder tests without waiting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import RoutingConfig, load_routing_text
from dispatch.assignment import AssignmentService
from dispatch.cards import CardPublisher
from dispatch.events import TicketLog
from dispatch.intake import IntakeService
from dispatch.models import HelpdeskEvent, TicketData, TicketEventKind
from dispatch.reminders import ReminderService
from dispatch.subscriptions import subscribe_features
from dispatch.time_followup import TimeFollowUp
from dispatch.time_tracking import TimeTracker
from storage.db import Database
from storage.models import OutboxRow, OutboxStatus, TelegramMessageRow
from tests.support.routing import ROUTING_YAML


@dataclass
class Clock:
    """Time that moves only when a test moves it."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@dataclass
class Services:
    """Intake, assignment and reminders sharing one clock and database."""

    db: Database
    routing: RoutingConfig
    clock: Clock
    intake: IntakeService
    assignment: AssignmentService
    reminders: ReminderService
    time: TimeTracker
    followup: TimeFollowUp

    async def new_ticket(self, external_id: str, **fields: Any) -> int:
        """A ticket arrives by webhook; returns its id."""
        data = TicketData(
            external_id=external_id, number=f"N-{external_id}", subject="s", **fields
        )
        await self.intake.accept_event(
            HelpdeskEvent("generic", TicketEventKind.CREATED, f"d-{external_id}", data)
        )
        async with self.db.unit_of_work() as uow:
            ticket = await uow.tickets.get_by_external(source="generic", external_id=external_id)
        assert ticket is not None
        assert ticket.id is not None
        return ticket.id

    async def outbox(self, kind: str | None = None) -> list[tuple[OutboxRow, TelegramMessageRow]]:
        """Outbox rows (oldest first) with the message they send, edit or delete."""
        stmt = (
            select(OutboxRow, TelegramMessageRow)
            .join(TelegramMessageRow, col(TelegramMessageRow.id) == col(OutboxRow.target_id))
            .order_by(col(OutboxRow.id))
        )
        if kind:
            stmt = stmt.where(col(TelegramMessageRow.kind) == kind)
        async with self.db.unit_of_work() as uow:
            return list((await uow.session.execute(stmt)).tuples().all())

    async def live_sends(self, kind: str) -> list[OutboxRow]:
        """Sends of that kind still to be delivered or delivered (not dropped)."""
        rows = await self.outbox(kind)
        return [
            row for row, _ in rows if row.op == "send" and row.status != OutboxStatus.SUPERSEDED
        ]


def routing_with(extra: str = "", **dispatch: str) -> RoutingConfig:
    """The test routing file plus dispatch settings, a lead, and extra top-level YAML."""
    text = ROUTING_YAML.replace(
        "dispatch:\n  chat_id: -1001234567890\n",
        "dispatch:\n  chat_id: -1001234567890\n"
        + "".join(f"  {key}: {value}\n" for key, value in dispatch.items())
        + extra,
    )
    text += "  - key: lena\n    name: Lena Lead\n    telegram_id: 1009\n    roles: [lead]\n"
    return load_routing_text(text, "routing.yaml")


def services(db: Database, routing: RoutingConfig, clock: Clock) -> Services:
    """Fresh services over the same database (a restart is just another call)."""
    renderer = TelegramRenderer(Texts("en"), routing.tz)
    cards = CardPublisher(routing, renderer)
    events = TicketLog(clock=clock)
    time = TimeTracker(db, routing, renderer, events, notes=None, clock=clock)
    subscribe_features(events, routing, cards, time_tracker=time, writes_back=False, clock=clock)
    intake = IntakeService(db, routing, events, clock=clock)
    assignment = AssignmentService(db, routing, cards, events, writes_back=False, clock=clock)
    reminders = ReminderService(db, routing, cards, renderer, events, clock=clock)
    followup = TimeFollowUp(db, routing, renderer, time, clock=clock)
    return Services(db, routing, clock, intake, assignment, reminders, time, followup)
