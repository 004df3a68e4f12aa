"""The statistics month (``stats_month``) with SLA clocks and a second support line.

The routing file puts ``dev`` on line 2 and has two SLA policies. On top of the
month's tickets comes T8, which line 1 passed to line 2:

=====  ======================  ==================================================
T8     Wed 11.11 09:00 local   olga (support) after 5 min, reply 15 min, passed to
                               line 2 at 1 h, anna (dev) at 1 h 30, closed at 4 h
=====  ======================  ==================================================

The clocks, as the SLA tracker would have left them (times UTC, targets in minutes;
"done" is when the clock stopped, "due" when a running one runs out):

=====  ==============  ========  ======  =====  ======================  =========
no.    target          policy    target  used   done / due              settles
=====  ==============  ========  ======  =====  ======================  =========
T1     first response  critical  15      30     done 02.11 07:30        missed
T1     resolution      critical  240     120    done 02.11 09:00        met
T2     first response  standard  60      40     done 02.11 08:10        met
T2     resolution      standard  960     300    running, due 20.11 12:00  missed
T3     first response  standard  60      20     done 03.11 12:20        met
T3     resolution      standard  960     1200   done 05.11 12:00        missed
T4     first response  critical  15      5      paused (waiting client)  —
T4     resolution      critical  240     5      running, due 05.12 09:00  —
T5     first response  standard  60      5      done 01.12 00:35        December
T6     first response  standard  60      600    done 01.11 06:00        missed
T7     first response  critical  15      2      done 10.11 09:02        met
T7     resolution      critical  240     60     done 10.11 10:00        met
T8     first response  standard  60      15     done 11.11 06:15        met
T8     resolution      standard  960     240    done 11.11 10:00        met
T0     resolution      standard  960     1440   done 06.10 09:00        October
=====  ==============  ========  ======  =====  ======================  =========

November: first response 4 of 6 met, resolution 3 of 5, together 7 of 11;
critical 3 of 4, standard 4 of 7.
"""

from __future__ import annotations

from datetime import datetime

from config.routing import RoutingConfig, load_routing_text
from storage.db import Database
from storage.models import SlaClockRow, TicketEventRow, TicketRow
from tests.support.stats_month import STATS_ROUTING, build_month, utc

SLA_STATS_ROUTING = (
    STATS_ROUTING.replace(
        "    helpdesk_id: 2\n    members: [petr]\n",
        "    helpdesk_id: 2\n    members: [petr]\n    line: 2\n",
    )
    + """\
sla:
  policies:
    - name: critical
      priorities: [high]
      first_response: 15m
      resolution: 4h
      calendar: 24x7
    - name: standard
      first_response: 1h
      resolution: 16h
"""
)

#: (ticket, target, policy, target minutes, used minutes, done, due) of the table above.
CLOCKS: list[tuple[str, str, str, int, int, datetime | None, datetime | None]] = [
    ("T1", "first_response", "critical", 15, 30, utc(11, 2, 7, 30), None),
    ("T1", "resolution", "critical", 240, 120, utc(11, 2, 9), None),
    ("T2", "first_response", "standard", 60, 40, utc(11, 2, 8, 10), None),
    ("T2", "resolution", "standard", 960, 300, None, utc(11, 20, 12)),
    ("T3", "first_response", "standard", 60, 20, utc(11, 3, 12, 20), None),
    ("T3", "resolution", "standard", 960, 1200, utc(11, 5, 12), None),
    ("T4", "first_response", "critical", 15, 5, None, None),
    ("T4", "resolution", "critical", 240, 5, None, utc(12, 5, 9)),
    ("T5", "first_response", "standard", 60, 5, utc(12, 1, 0, 35), None),
    ("T6", "first_response", "standard", 60, 600, utc(11, 1, 6), None),
    ("T7", "first_response", "critical", 15, 2, utc(11, 10, 9, 2), None),
    ("T7", "resolution", "critical", 240, 60, utc(11, 10, 10), None),
    ("T8", "first_response", "standard", 60, 15, utc(11, 11, 6, 15), None),
    ("T8", "resolution", "standard", 960, 240, utc(11, 11, 10), None),
    ("T0", "resolution", "standard", 960, 1440, utc(10, 6, 9), None),
]


def sla_stats_routing(language: str = "en") -> RoutingConfig:
    """The month's routing file with SLA policies and ``dev`` on line 2."""
    text = SLA_STATS_ROUTING.replace("language: en", f"language: {language}")
    return load_routing_text(text, "routing.yaml")


async def build_sla_month(database: Database) -> dict[str, int]:
    """The month, T8 and the clocks; ticket ids by number."""
    ids = await build_month(database)
    async with database.unit_of_work() as uow:
        t8 = await uow.tickets.create(_t8())
        assert t8.id is not None
        ids["T8"] = t8.id
        for at, kind, actor, changes in _t8_events():
            uow.events.append(
                TicketEventRow(
                    ticket_id=t8.id,
                    at=at,
                    kind=kind,
                    actor_kind="person" if actor else "helpdesk",
                    actor=actor,
                    source="webhook",
                    changes=changes,
                    detail={},
                )
            )
        for number, target, policy, target_min, used_min, done, due in CLOCKS:
            running = done is None and due is not None
            uow.sla.add(
                SlaClockRow(
                    ticket_id=ids[number],
                    target=target,
                    policy=policy,
                    calendar="24x7" if policy == "critical" else "working_hours",
                    target_s=target_min * 60,
                    used_s=used_min * 60,
                    since=utc(11, 20, 7) if running else None,
                    done_at=done,
                    breached=used_min > target_min,
                    started_at=utc(11, 1, 0),
                    due_at=due,
                )
            )
        await uow.commit()
    return ids


def _t8() -> TicketRow:
    return TicketRow(
        source="generic",
        external_id="T8",
        number="T8",
        subject="Ticket T8",
        status="closed",
        priority="normal",
        type="incident",
        channel="email",
        client_company="Acme",
        created_at=utc(11, 11, 6),
        received_at=utc(11, 11, 6),
        state="closed",
        assignee_key="anna",
        department_key="dev",
        line=2,
        assigned_at=utc(11, 11, 7, 30),
        closed_at=utc(11, 11, 10),
    )


def _t8_events() -> list[tuple[datetime, str, str | None, dict[str, object]]]:
    return [
        (utc(11, 11, 6), "created", None, {}),
        (
            utc(11, 11, 6, 5),
            "assigned",
            "ivan",
            {"assignee": [None, "olga"], "department": [None, "support"]},
        ),
        (utc(11, 11, 6, 15), "first_staff_reply", "olga", {}),
        (
            utc(11, 11, 7),
            "passed_to_line",
            "olga",
            {
                "line": [1, 2],
                "assignee": ["olga", None],
                "department": ["support", "dev"],
            },
        ),
        (
            utc(11, 11, 7, 30),
            "assigned",
            "ivan",
            {"assignee": [None, "anna"], "department": [None, "dev"]},
        ),
        (utc(11, 11, 10), "closed", None, {}),
    ]
