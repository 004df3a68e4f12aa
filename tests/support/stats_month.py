"""November 2026, built by hand: a few tickets whose every figure is known.

Times are UTC; the routing file's zone is Moscow (UTC+3), so 21:00 UTC is the
next local day. The period is 1–30 November local, 31 Oct 21:00 – 30 Nov 21:00 UTC.

=====  ==========================  =======  ========  ========  ==================
no.    arrival (local)             channel  type      priority  what happens
=====  ==========================  =======  ========  ========  ==================
T1     Mon 02.11 10:00             email    incident  high      olga after 4 min,
                                                                replies 30 min, closed 2 h
T2     Mon 02.11 10:30             web      incident  normal    2 reminders, escalated,
                                                                ivan after 20 min, reply 40 min
T3     Tue 03.11 15:00             email    question  normal    olga after 10 min, reply
                                                                20 min (forbidden word), closed,
                                                                reopened, closed after 2 days;
                                                                a developer task done in 22 h
T4     Sat 21.11 00:30             phone    question  high      1 reminder, never assigned
T5     Tue 01.12 00:30             email    incident  normal    December: not in the period
T6     Sat 31.10 23:30             email    incident  normal    October; anna on 01.11 09:00
T7     Tue 10.11 12:00             email    incident  high      ivan after 2 min, closed 1 h
T0     05.10                       email    incident  normal    October, closed in October
=====  ==========================  =======  ========  ========  ==================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from config.routing import RoutingConfig, load_routing_text
from storage.db import Database
from storage.models import DevTaskRow, TicketEventRow, TicketRow, TimeEntryRow
from tests.support.routing import ROUTING_YAML

STATS_ROUTING = (
    ROUTING_YAML
    + """\
  - key: lena
    name: Lena Lead
    telegram_id: 1005
    roles: [lead]
  - key: max
    name: Max Manager
    telegram_id: 1006
    roles: [manager]
  - key: adam
    name: Adam Admin
    telegram_id: 1007
    roles: [admin]
clients:
  - key: acme
    name: ООО «Акме»
    match: {companies: [Acme]}
    hours_per_month: 10
quality:
  forbidden_words: [блин]
"""
)

#: When the figures are computed: after the period, so it is complete.
NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


def stats_routing(language: str = "en") -> RoutingConfig:
    """The routing file of the month: a lead, a manager, an admin, a client, a forbidden word."""
    text = STATS_ROUTING.replace("language: en", f"language: {language}")
    return load_routing_text(text, "routing.yaml")


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of 2026 in UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class _Ticket:
    number: str
    arrival: datetime
    channel: str
    type: str
    priority: str
    status: str
    company: str = ""
    email: str = ""
    events: list[tuple[datetime, str, dict[str, Any]]] = field(default_factory=list)
    state: str = "unassigned"
    assignee: str | None = None
    department: str | None = None
    assigned_at: datetime | None = None
    closed_at: datetime | None = None

    def assign(self, at: datetime, person: str, department: str | None, **extra: Any) -> None:
        changes = {"assignee": [None, person], "department": [None, department]}
        self.events.append((at, "assigned", {"changes": changes, **extra}))
        self.state, self.assignee, self.department, self.assigned_at = (
            "assigned",
            person,
            department,
            at,
        )

    def event(self, at: datetime, kind: str, **fields: Any) -> None:
        self.events.append((at, kind, fields))
        if kind == "closed":
            self.state, self.closed_at = "closed", at
        elif kind == "reopened":
            self.state = "assigned"


def _tickets() -> list[_Ticket]:
    t1 = _Ticket("T1", utc(11, 2, 7), "email", "incident", "high", "closed", company="Acme")
    t1.assign(utc(11, 2, 7, 4), "olga", "support", actor="ivan")
    t1.event(utc(11, 2, 7, 30), "first_staff_reply", actor="olga")
    t1.event(utc(11, 2, 8), "staff_replied", actor="olga")
    t1.event(utc(11, 2, 9), "closed")
    t2 = _Ticket("T2", utc(11, 2, 7, 30), "web", "incident", "normal", "open", company="Beta LLC")
    t2.event(utc(11, 2, 7, 35), "reminded")
    t2.event(utc(11, 2, 7, 40), "reminded")
    t2.event(utc(11, 2, 7, 40), "escalated")
    t2.assign(utc(11, 2, 7, 50), "ivan", "support", actor="olga")
    t2.event(utc(11, 2, 8, 10), "first_staff_reply", actor="ivan")
    t3 = _Ticket(
        "T3", utc(11, 3, 12), "email", "question", "normal", "closed", email="a@gamma.test"
    )
    t3.assign(utc(11, 3, 12, 10), "olga", "support")
    t3.event(utc(11, 3, 12, 20), "first_staff_reply", actor="olga")
    t3.event(utc(11, 3, 12, 20), "forbidden_word", actor="olga", words=["блин"])
    t3.event(utc(11, 3, 13), "dev_task_created", task="77")
    t3.event(utc(11, 4, 11), "dev_task_done", task="77")
    t3.event(utc(11, 4, 12), "closed")
    t3.event(utc(11, 5, 9), "reopened")
    t3.event(utc(11, 5, 12), "closed")
    t4 = _Ticket("T4", utc(11, 20, 21, 30), "phone", "question", "high", "new")
    t4.event(utc(11, 20, 21, 35), "reminded")
    t5 = _Ticket("T5", utc(11, 30, 21, 30), "email", "incident", "normal", "new")
    t5.event(utc(11, 30, 21, 35), "reminded")
    t6 = _Ticket("T6", utc(10, 31, 20, 30), "email", "incident", "normal", "open")
    t6.assign(utc(11, 1, 6), "anna", None, actor="ivan")
    t7 = _Ticket("T7", utc(11, 10, 9), "email", "incident", "high", "closed", company="Acme")
    t7.assign(utc(11, 10, 9, 2), "ivan", "support")
    t7.event(utc(11, 10, 10), "closed")
    t0 = _Ticket("T0", utc(10, 5, 9), "email", "incident", "normal", "closed")
    t0.assign(utc(10, 5, 9, 5), "ivan", "support")
    t0.event(utc(10, 6, 9), "closed")
    return [t1, t2, t3, t4, t5, t6, t7, t0]


#: Time entries: (ticket, round, person, minutes, billable, closed on, local).
ENTRIES = [
    ("T1", 1, "olga", 60, True, date(2026, 11, 2)),
    ("T3", 1, "olga", 30, True, date(2026, 11, 4)),
    ("T3", 2, "olga", 15, False, date(2026, 11, 5)),
    ("T7", 1, "ivan", 45, True, date(2026, 11, 10)),
    ("T0", 1, "ivan", 20, True, date(2026, 10, 6)),
]


async def build_month(database: Database) -> dict[str, int]:
    """Store the month's tickets, events, time entries and task; ticket ids by number."""
    ids: dict[str, int] = {}
    async with database.unit_of_work() as uow:
        for ticket in _tickets():
            row = await uow.tickets.create(_row(ticket))
            assert row.id is not None
            ids[ticket.number] = row.id
            rows = [(ticket.arrival, "created", {"actor_kind": "helpdesk"}), *ticket.events]
            for at, kind, fields in sorted(rows, key=lambda item: item[0]):
                uow.events.append(_event(row.id, at, kind, fields))
            await uow.session.flush()
        uow.session.add(
            DevTaskRow(
                ticket_id=ids["T3"],
                tracker="redmine",
                external_id="77",
                developer_key="petr",
                specialist_key="olga",
                closed=True,
                created_at=utc(11, 3, 13),
                updated_at=utc(11, 4, 11),
            )
        )
        for number, round_, person, minutes, billable, closed_on in ENTRIES:
            await uow.time.add_entry(
                TimeEntryRow(
                    ticket_id=ids[number],
                    round=round_,
                    person_key=person,
                    minutes=minutes,
                    billable=billable,
                    closed_on=closed_on,
                    month=f"{closed_on:%Y-%m}",
                )
            )
        await uow.commit()
    return ids


def _row(ticket: _Ticket) -> TicketRow:
    return TicketRow(
        source="generic",
        external_id=ticket.number,
        number=ticket.number,
        subject=f"Ticket {ticket.number}",
        status=ticket.status,
        priority=ticket.priority,
        type=ticket.type,
        channel=ticket.channel,
        client_company=ticket.company,
        client_email=ticket.email,
        created_at=ticket.arrival,
        received_at=ticket.arrival,
        state=ticket.state,
        assignee_key=ticket.assignee,
        department_key=ticket.department,
        assigned_at=ticket.assigned_at,
        closed_at=ticket.closed_at,
    )


def _event(ticket_id: int, at: datetime, kind: str, given: dict[str, Any]) -> TicketEventRow:
    fields = dict(given)
    actor = fields.pop("actor", None)
    changes = fields.pop("changes", {})
    actor_kind = fields.pop("actor_kind", "person" if actor else "system")
    return TicketEventRow(
        ticket_id=ticket_id,
        at=at,
        kind=kind,
        actor_kind=actor_kind,
        actor=actor,
        source="webhook",
        changes=changes,
        detail=dict(fields),
    )
