"""A real ``modest run`` killed with SIGKILL in the middle of a burst of webhooks.

What a helpdesk relies on: a webhook answered 200 is never lost, and a delivery that got
no answer can simply be sent again (helpdesks retry until they get a 200). What the
dispatchers rely on: each ticket has one card, with at most one duplicate per crash (the
message Telegram posted while the process died, before it could record it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlmodel import select

from storage.db import Database
from storage.models import TicketRow
from tests.support.harness import ticket_body
from tests.support.processes import (
    ModestProcess,
    cards_by_ticket,
    modest_processes,
    service_env,
    write_routing,
)
from tests.support.telegram_emulator import RecordedCall, TelegramEmulator

DISPATCH = -1001234567890
TICKETS = 12
#: Webhooks start this far apart, overlapping; the burst lasts about 4.5 s.
SPACING = 0.4
#: The process dies while Telegram is posting this card (the 3rd one).
KILL_AT_CARD = 3


async def stored_tickets(url: str) -> list[str]:
    """External ids of every ticket in the database."""
    database = Database(url)
    try:
        async with database.unit_of_work() as uow:
            rows = (await uow.session.execute(select(TicketRow))).scalars().all()
            return [row.external_id for row in rows]
    finally:
        await database.dispose()


async def deliver(modest: ModestProcess, body: dict[str, object], delay: float) -> str | None:
    """Post one webhook after ``delay``; its ``status``, or None without an answer."""
    await asyncio.sleep(delay)
    try:
        answer = await modest.post_generic(body)
    except httpx.TransportError:
        return None
    return str(answer.json()["status"]) if answer.status_code == 200 else None


def kill_while_posting_card(tg: TelegramEmulator, modest: ModestProcess) -> asyncio.Event:
    """SIGKILL the process while Telegram receives its ``KILL_AT_CARD``-th card."""
    killed = asyncio.Event()
    cards = 0

    async def on_request(call: RecordedCall) -> None:
        nonlocal cards
        if call.method != "sendMessage" or int(call.params.get("chat_id", 0)) != DISPATCH:
            return
        cards += 1
        if cards == KILL_AT_CARD:
            modest.kill()
            await modest.wait()
            killed.set()
        # The emulator goes on and posts the message: Telegram got the request, the
        # answer found nobody.

    tg.on_request = on_request
    return killed


async def outbox_drained(modest: ModestProcess, timeout: float) -> None:
    """Wait until the process has nothing left to send."""
    async with httpx.AsyncClient(base_url=modest.url, timeout=5) as http:
        async with asyncio.timeout(timeout):
            while True:
                if not (await http.get("/healthz")).json()["outbox_backlog"]:
                    return
                await asyncio.sleep(0.2)


async def test_sigkill_mid_burst_loses_no_accepted_webhook_and_cards_each_ticket_once(
    tg: TelegramEmulator, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'modest.db'}"
    env = service_env(tg, url, write_routing(tmp_path / "routing.yaml", tg))
    bodies = [ticket_body(str(n)) for n in range(1, TICKETS + 1)]
    async with modest_processes(tmp_path, env, "modest") as (modest,):
        await modest.start()
        killed = kill_while_posting_card(tg, modest)
        answers = await asyncio.gather(
            *(deliver(modest, body, n * SPACING) for n, body in enumerate(bodies))
        )
        assert killed.is_set(), "the process was to die during the burst"
        assert modest.process is not None
        assert modest.process.returncode == -9
        accepted = {str(n) for n, status in enumerate(answers, 1) if status == "accepted"}
        assert len(accepted) >= KILL_AT_CARD, answers
        assert None in answers, f"some webhooks must have found the process dead: {answers}"

        tg.on_request = None
        await modest.start()
        stored = await stored_tickets(url)
        assert accepted <= set(stored), "a webhook answered 200 was lost"
        assert len(stored) == len(set(stored))

        # The helpdesk retries what got no 200; an operator re-delivers everything.
        again = await asyncio.gather(*(deliver(modest, body, 0) for body in bodies))
        for n, status in enumerate(again, 1):
            assert status in {"accepted", "duplicate"}, (n, again)
            if str(n) in accepted:
                assert status == "duplicate", (n, again)

        await tg.wait_for(lambda: len(cards_by_ticket(tg, DISPATCH)) == TICKETS, timeout=40)
        await outbox_drained(modest, timeout=10)
        cards = cards_by_ticket(tg, DISPATCH)
        assert sorted(cards) == sorted(f"A-{n}" for n in range(1, TICKETS + 1))
        duplicates = sum(count - 1 for count in cards.values())
        assert duplicates <= 1, f"at most one duplicate per crash: {cards}"
        assert sorted(await stored_tickets(url)) == sorted(str(n) for n in range(1, TICKETS + 1))
        assert await modest.stop() == 0
