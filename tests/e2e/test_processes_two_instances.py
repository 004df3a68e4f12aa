"""Two real ``modest run`` processes on one PostgreSQL database.

Both take webhooks (a load balancer spreads them, a helpdesk may deliver one to both),
both send from the shared outbox and run the reminder passes; one polls Telegram under
the polling lease. When that one is killed, the other takes over polling and taps work.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import defaultdict
from pathlib import Path

import asyncpg
import pytest

from tests.support.harness import ticket_body
from tests.support.processes import (
    ModestProcess,
    cards_by_ticket,
    modest_processes,
    run_command,
    service_env,
    write_routing,
)
from tests.support.telegram_emulator import TelegramEmulator

pytestmark = pytest.mark.postgres

DISPATCH = -1001234567890
IVAN = 1001
TICKETS = 3
NAG_SECONDS = 6
#: TELEGRAM_POLLING_LEASE_SECONDS for these processes: a standby takes over within 8 s.
LEASE_SECONDS = 6
_REMINDER = re.compile(r"Reminder (\d+): not assigned.*?#(A-\d+)\b", re.DOTALL)


def reminders_by_ticket(tg: TelegramEmulator) -> dict[str, list[tuple[int, float]]]:
    """(reminder number, when Telegram got it) per ticket number, in order."""
    seen: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for call in tg.calls:
        if call.method == "sendMessage" and call.status == 200:
            match = _REMINDER.search(str(call.params.get("text", "")))
            if match:
                seen[match.group(2)].append((int(match.group(1)), call.time))
    return seen


def poller(processes: list[ModestProcess]) -> list[ModestProcess]:
    """The processes that took the polling lease, by their logs."""
    return [p for p in processes if p.events("telegram.polling_lease_taken")]


def button(tg: TelegramEmulator, message_id: int, label: str) -> str:
    """The callback data of the button labelled ``label``."""
    for text, data, _url in tg.buttons(DISPATCH, message_id):
        if text == label and data:
            return data
    raise AssertionError(f"no button {label!r} in {tg.buttons(DISPATCH, message_id)}")


def card_of(tg: TelegramEmulator, number: str) -> int:
    """The message id of a ticket's card."""
    return next(m.message_id for m in tg.messages(DISPATCH) if m.text.startswith(f"#{number} "))


async def deliver_to_both(processes: list[ModestProcess], body: dict[str, object]) -> None:
    """The helpdesk delivers a webhook to both, at the same moment: one takes it."""
    answers = await asyncio.gather(*(p.post_generic(body) for p in processes))
    statuses = sorted(answer.json()["status"] for answer in answers)
    assert statuses == ["accepted", "duplicate"], statuses


async def test_two_processes_share_webhooks_reminders_and_hand_polling_over(
    tg: TelegramEmulator, pg_url: str, tmp_path: Path
) -> None:
    routing = write_routing(tmp_path / "routing.yaml", tg, nag_interval=f"{NAG_SECONDS}s")
    env = service_env(tg, pg_url, routing, TELEGRAM_POLLING_LEASE_SECONDS=str(LEASE_SECONDS))
    async with modest_processes(tmp_path, env, "first", "second") as processes:
        # Started together, as an orchestrator starts replicas: both migrate at once.
        await asyncio.gather(*(p.start() for p in processes))
        await tg.wait_for(lambda: len(poller(processes)) == 1, timeout=10)

        posted: dict[str, float] = {}
        for n in range(1, TICKETS + 1):
            posted[f"A-{n}"] = time.monotonic()
            await deliver_to_both(processes if n % 2 else processes[::-1], ticket_body(str(n)))
        await tg.wait_for(lambda: len(cards_by_ticket(tg, DISPATCH)) == TICKETS, timeout=10)
        # All but the first are assigned in the helpdesk: only A-1 is reminded, which
        # keeps the chat within Telegram's 20 messages a minute.
        for n in range(2, TICKETS + 1):
            await deliver_to_both(processes, ticket_body(str(n), assignee="12"))

        await tg.wait_for(lambda: len(reminders_by_ticket(tg)["A-1"]) >= 2, timeout=20)
        conflicts = [c for c in tg.calls if c.method == "getUpdates" and c.status == 409]
        assert conflicts == [], "only one process polls Telegram"

        # The polling process dies; a dispatcher taps the card right then.
        (polling,) = poller(processes)
        (standby,) = [p for p in processes if p is not polling]
        polling.kill()
        killed_at = time.monotonic()
        card = card_of(tg, "A-1")
        query = tg.press(DISPATCH, card, IVAN, button(tg, card, "Support"))
        await tg.wait_for(lambda: query in tg.callback_answers, timeout=30)
        handover = time.monotonic() - killed_at
        # The lease runs out within LEASE_SECONDS, the standby tries every third of it.
        assert handover <= LEASE_SECONDS * 4 / 3 + 4, f"took {handover:.1f} s to answer a tap"
        assert standby.events("telegram.polling_lease_taken")

        # A message the killed process was sending holds the chat for up to 20 s.
        olga = f"Olga Sidorova · {TICKETS - 1}"  # with her open tickets (issue 17.11)
        await tg.wait_for(
            lambda: any(b[0] == olga for b in tg.buttons(DISPATCH, card)), timeout=30
        )
        query = tg.press(DISPATCH, card, IVAN, button(tg, card, olga))
        await tg.wait_for(lambda: query in tg.callback_answers, timeout=10)
        await tg.wait_for(
            lambda: "Assigned to Olga" in tg.message(DISPATCH, card).text, timeout=20
        )

        cards = cards_by_ticket(tg, DISPATCH)
        assert sorted(cards) == sorted(posted), "a card for every ticket"
        repeated = sum(count - 1 for count in cards.values())
        reminders = reminders_by_ticket(tg)
        assert list(reminders) == ["A-1"], "assigned tickets are not reminded"
        counts = [count for count, _ in reminders["A-1"]]
        # Each reminder once, in order, none skipped; the only repeat allowed is the
        # message the killed process was sending (it never learned that it went out).
        assert counts == sorted(counts), counts
        assert sorted(set(counts)) == list(range(1, counts[-1] + 1)), counts
        repeated += len(counts) - len(set(counts))
        assert repeated <= 1, f"one message twice at most: {cards}, {counts}"
        for count, at in reminders["A-1"]:
            # Reminder k is due k intervals after the ticket came in, never earlier.
            assert at >= posted["A-1"] + count * NAG_SECONDS - 0.5, reminders
        assert await standby.stop() == 0


async def waiting_on_locks(conn: asyncpg.Connection, database: str) -> int:
    """How many sessions of that database wait for a lock right now."""
    count = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
        database,
    )
    return int(count)


async def test_processes_started_together_migrate_one_database(
    tg: TelegramEmulator, pg_url: str, tmp_path: Path
) -> None:
    routing = write_routing(tmp_path / "routing.yaml", tg)
    env = service_env(tg, pg_url, routing)
    dsn = pg_url.replace("postgresql+asyncpg://", "postgresql://")
    database = dsn.rsplit("/", 1)[1]
    blocker, monitor = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        # Hold both at the first table they create, then let them go at the same moment:
        # what two replicas started together do on an empty database.
        held = blocker.transaction()
        await held.start()
        await blocker.execute("CREATE TABLE alembic_version (version_num varchar(32))")
        runs = [asyncio.create_task(run_command(tmp_path, env, "migrate")) for _ in range(2)]
        async with asyncio.timeout(30):
            while True:
                if await waiting_on_locks(monitor, database) == 2:
                    break
                await asyncio.sleep(0.05)
        await held.rollback()
        results = await asyncio.gather(*runs)
    finally:
        await blocker.close()
        await monitor.close()
    for code, output in results:
        assert code == 0, output[-2000:]
