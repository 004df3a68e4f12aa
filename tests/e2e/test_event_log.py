"""The ticket event log end to end: every step of a ticket's life, who did it, and how."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config.routing import RoutingConfig, load_routing_text
from connectors.fake import FakeHelpdesk
from connectors.fake_tracker import FakeTracker
from storage.models import TicketEventRow
from tests.support.buttons import press_labelled, wait_message
from tests.support.harness import Harness, running_modest, ticket_body
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator

IVAN, OLGA, PETR = 1001, 1002, 1003
MOSCOW = ZoneInfo("Europe/Moscow")
TRACKER = "tracker:\n  kind: redmine\n  project: dev\n"


def routing() -> RoutingConfig:
    text = ROUTING_YAML.replace(
        "    helpdesk_id: 13\n    roles: [developer]",
        "    helpdesk_id: 13\n    redmine_id: 5\n    roles: [developer]",
    )
    return load_routing_text(text + TRACKER, "routing.yaml")


async def events(h: Harness) -> list[TicketEventRow]:
    async with h.service.database.unit_of_work() as uow:
        return list(await uow.events.for_ticket(ticket_id=1))


async def wait_events(h: Harness, count: int) -> list[TicketEventRow]:
    for _ in range(100):
        rows = await events(h)
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.05)
    return await events(h)


def summary(rows: list[TicketEventRow]) -> list[tuple[str, str, str | None, str]]:
    return [(r.kind, r.actor_kind, r.actor, r.source) for r in rows]


async def dispatch_to_olga(h: Harness, tg: TelegramEmulator) -> None:
    await h.post_generic(ticket_body("1", delivery_id="c1", channel="email"))
    card = await h.card()
    press_labelled(tg, h.chat_id, card, "Support", user=IVAN)
    await tg.wait_for(lambda: any(b[0] == "Olga Sidorova · 0" for b in tg.buttons(h.chat_id, 1)))
    press_labelled(tg, h.chat_id, tg.message(h.chat_id, 1), "Olga Sidorova · 0", user=IVAN)


async def hand_to_petr(tg: TelegramEmulator, tracker: FakeTracker) -> str:
    handed = await wait_message(tg, OLGA, "A ticket for you")
    press_labelled(tg, OLGA, handed, "Developer task")
    question = await wait_message(tg, OLGA, "What should the developer do?")
    tg.send_text(OLGA, OLGA, "Fix the driver", reply_to_message_id=question.message_id)
    press_labelled(tg, OLGA, await wait_message(tg, OLGA, "Who should do it?"), "Petr Ivanov")
    await tg.wait_for(lambda: bool(tracker.tasks), timeout=8)
    return next(iter(tracker.tasks))


async def close_and_record(h: Harness, tg: TelegramEmulator, delivery: str, label: str) -> None:
    asked = sum("How much time" in m.text for m in tg.messages(OLGA))
    closed = ticket_body("1", event="ticket.closed", assignee="12", delivery_id=delivery)
    await h.post_generic(closed)
    await tg.wait_for(
        lambda: sum("How much time" in m.text for m in tg.messages(OLGA)) > asked, timeout=8
    )
    prompt = [m for m in tg.messages(OLGA) if "How much time" in m.text][-1]
    press_labelled(tg, OLGA, prompt, label)
    await tg.wait_for(lambda: "Recorded" in tg.message(OLGA, prompt.message_id).text, timeout=8)


EXPECTED = [
    ("created", "helpdesk", None, "webhook"),
    ("department_chosen", "person", "ivan", "bot"),
    ("assigned", "person", "ivan", "bot"),
    ("writeback_done", "system", None, "scheduler"),
    ("dev_task_created", "person", "olga", "bot"),
    ("dev_task_commented", "tracker", "dev-1", "tracker"),
    ("closed", "helpdesk", None, "webhook"),
    ("time_recorded", "person", "olga", "bot"),
    ("reopened", "helpdesk", None, "webhook"),
    ("closed", "helpdesk", None, "webhook"),
    ("time_recorded", "person", "olga", "bot"),
]


async def test_a_ticket_s_whole_life_is_in_its_event_log_and_its_history(
    tg: TelegramEmulator, sqlite_url: str, tmp_path: Path
) -> None:
    helpdesk, tracker = FakeHelpdesk(), FakeTracker()
    async with running_modest(tg, routing(), sqlite_url, helpdesk=helpdesk, tracker=tracker) as h:
        await dispatch_to_olga(h, tg)
        await tg.wait_for(lambda: helpdesk.assignments == [("1", "1", "12")], timeout=8)
        task_id = await hand_to_petr(tg, tracker)
        tracker.add_developer_comment(task_id, "Driver updated", author_name="Petr")
        await h.service.domain.dev_sync.sync_open()
        await close_and_record(h, tg, "close-1", "30m")
        reopened = ticket_body("1", event="ticket.reopened", assignee="12", delivery_id="r1")
        await h.post_generic(reopened)
        await close_and_record(h, tg, "close-2", "1h")
        rows = await wait_events(h, len(EXPECTED))
        assert summary(rows) == EXPECTED

        by_kind = {row.kind: row for row in rows}
        assert rows[0].detail == {
            "state": "unassigned",
            "status": "",
            "priority": "high",
            "channel": "email",
        }
        assert by_kind["department_chosen"].detail == {"department": "support"}
        assert by_kind["assigned"].changes == {
            "assignee": [None, "olga"],
            "department": [None, "support"],
        }
        assert by_kind["assigned"].detail == {"how": "button"}
        assert by_kind["dev_task_created"].detail["developer"] == "petr"
        assert rows[6].changes == {"state": ["assigned", "closed"]}
        assert rows[7].detail == {"minutes": 30, "billable": True, "round": 1}
        assert rows[8].changes == {"state": ["closed", "assigned"]}
        assert rows[10].detail == {"minutes": 60, "billable": True, "round": 2}

        tg.send_text(h.chat_id, IVAN, "/history A-1")
        shown = await wait_message(tg, h.chat_id, "History of #A-1")
        assert shown.text.count("\n") == len(EXPECTED)
        assert "assignee: — → Olga Sidorova" in shown.text

    lines = history_cli(sqlite_url, tmp_path, "A-1")
    assert len(lines) == len(EXPECTED)
    assert [line.split("  ")[1] for line in lines] == [kind for kind, *_ in EXPECTED]
    assert lines[2].split("  ")[2] == "Ivan Petrov"
    assert "assignee: — → Olga Sidorova; department: — → support; how=button; via bot" in lines[2]
    assert lines[0][:16].count("-") == 2
    assert lines[0][10] == " "
    assert history_cli(sqlite_url, tmp_path, "1") == lines, "by helpdesk id too"


def history_cli(db_url: str, tmp_path: Path, ticket: str) -> list[str]:
    config = tmp_path / "routing.yaml"
    config.write_text(ROUTING_YAML + TRACKER, encoding="utf-8")
    env: dict[str, Any] = {**os.environ, "MODEST_CONFIG": str(config), "DATABASE_URL": db_url}
    done = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "modest", "history", ticket],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


async def test_the_history_in_the_times_and_words_of_the_routing_file(
    tg: TelegramEmulator, sqlite_url: str, tmp_path: Path
) -> None:
    ru = load_routing_text(ROUTING_YAML.replace("language: en", "language: ru"), "routing.yaml")
    async with running_modest(tg, ru, sqlite_url) as h:
        await h.post_generic(ticket_body("7", assignee="12"))
        await wait_message(tg, OLGA, "#A-7")
        tg.send_text(OLGA, OLGA, "/history A-7")
        shown = await wait_message(tg, OLGA, "История #A-7")
        assert "создана" in shown.text
        assert "назначена" in shown.text
        tg.send_text(PETR, PETR, "/history A-7")  # neither the assignee nor a dispatcher
        refused = await wait_message(tg, PETR, "Это видят только")
        assert "создана" not in refused.text
        tg.send_text(h.chat_id, IVAN, "/history 999")
        await wait_message(tg, h.chat_id, "Заявки #999 нет.")
    lines = history_cli(sqlite_url, tmp_path, "#A-7")
    # The log holds when Modest saw each change; the CLI shows it in the routing time zone.
    shown_at = datetime.strptime(lines[0][:16], "%Y-%m-%d %H:%M").replace(tzinfo=MOSCOW)
    assert abs(datetime.now(UTC) - shown_at) < timedelta(minutes=2)
    assert [line.split("  ")[1] for line in lines] == ["created", "assigned"]


async def test_replies_are_recorded_once_and_the_first_staff_reply_is_marked(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    plain = load_routing_text(ROUTING_YAML, "routing.yaml")
    async with running_modest(tg, plain, sqlite_url) as h:
        await h.post_generic(ticket_body("1", assignee="12"))

        def replied(reply_id: str, author: str, **extra: Any) -> dict[str, Any]:
            body = ticket_body("1", event="ticket.replied", assignee="12")
            return {
                **body,
                "delivery_id": f"re-{reply_id}",
                "reply": {"id": reply_id, "author": author, **extra},
            }

        await h.post_generic(replied("r1", "client", at="2026-11-22T08:00:00+00:00"))
        await h.post_generic(replied("r2", "staff", author_id="12", at="2026-11-22T08:10:00Z"))
        await h.post_generic(replied("r3", "staff", author_id="11"))
        again = replied("r2", "staff", author_id="12")
        await h.post_generic({**again, "delivery_id": "re-r2-again"})
        rows = await wait_events(h, 5)
        replies = [(r.kind, r.actor_kind, r.actor) for r in rows if "repl" in r.kind]
        assert replies == [
            ("client_replied", "helpdesk", None),
            ("first_staff_reply", "person", "olga"),
            ("staff_replied", "person", "ivan"),
        ]
        first = next(r for r in rows if r.kind == "first_staff_reply")
        assert first.at.isoformat() == "2026-11-22T08:10:00+00:00"
        missing = await h.post_generic({**replied("r4", "staff"), "reply": None})
        assert missing.status_code == 400
        assert missing.json()["field"] == "reply"
