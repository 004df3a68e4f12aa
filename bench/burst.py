"""A burst of new tickets under Telegram's limits: ``python -m bench.burst [--db ...]``.

The real service (``tests.support.harness.running_modest``: HTTP, long polling, outbox
sender with the default ``TelegramRateLimiter``, job runner, scheduler) against the Bot
API emulator with Telegram's limits on (1/s per chat, 20/min per group, 30/s in all).
120 new tickets are posted by the generic webhook, evenly over 5 s (an open loop: each
request starts on time whether or not the earlier ones were answered).

Reported: the time from the first webhook to the moment every ticket can be dispatched
from the dispatch chat (its card's department buttons, or its button in a burst
digest), the 429s, how many cards and digests it took, whether any ticket was lost, and
for comparison the legal minimum for one card per ticket (``allowed_rate_floor_seconds``).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.idle_service import production_logging
from config.routing import load_routing_text
from tests.support.bursts import card_tickets, digest_buttons, dispatchable, post_burst
from tests.support.harness import running_modest
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator, allowed_rate_floor_seconds

TICKETS = 120
SPREAD_S = 5.0
GOAL_S = 60.0
TIMEOUT_S = 180.0
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Burst:
    """What one burst took."""

    posted_s: float
    dispatchable_s: float
    count_429: int
    cards: int
    digests: int
    tickets: int
    listed: int


@asynccontextmanager
async def database_url(kind: str) -> AsyncIterator[str]:
    """A fresh SQLite file, or a PostgreSQL database of its own dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="modest-burst-") as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'modest.db'}"
        return
    name = f"modest_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(kind: str) -> Burst:
    """Start the service, post the burst, wait until every ticket is dispatchable."""
    routing = load_routing_text(ROUTING_YAML, "routing.yaml")
    chat = routing.dispatch.chat_id
    async with (
        database_url(kind) as url,
        TelegramEmulator(enforce_rate_limits=True) as tg,
        running_modest(tg, routing, url) as h,
    ):
        started = time.monotonic()
        statuses = await post_burst(h, TICKETS, seconds=SPREAD_S)
        posted = time.monotonic() - started
        assert statuses == [200] * TICKETS, statuses
        wanted = {ticket.id for ticket in await h.tickets() if ticket.id is not None}
        await tg.wait_for(lambda: wanted <= dispatchable(tg, chat), timeout=TIMEOUT_S)
        ready = time.monotonic() - started
        cards, listed = card_tickets(tg, chat), digest_buttons(tg, chat)
        return Burst(
            posted_s=posted,
            dispatchable_s=ready,
            count_429=tg.count_429,
            cards=len(cards),
            digests=len({message for message, _ in listed.values()}),
            tickets=len(wanted),
            listed=len(set(cards) | set(listed)),
        )


def _row(metric: str, value: str, goal: str, passed: bool | None) -> str:
    verdict = "" if passed is None else ("PASS" if passed else "FAIL")
    return f"| {metric:<46} | {value:>10} | {goal:>8} | {verdict:<6} |"


def report_lines(result: Burst, kind: str) -> list[str]:
    """The results table."""
    one_card_each = allowed_rate_floor_seconds({-1: TICKETS})
    return [
        f"bench.burst  {TICKETS} new tickets over {SPREAD_S:.0f} s, generic webhook, {kind}; "
        "emulator enforces Telegram's limits; default TelegramRateLimiter",
        "",
        f"| {'metric':<46} | {'measured':>10} | {'goal':>8} | {'':<6} |",
        "|" + "-" * 48 + "|" + "-" * 12 + "|" + "-" * 10 + "|" + "-" * 8 + "|",
        _row("webhooks posted in (s)", f"{result.posted_s:.2f}", "", None),
        _row("first webhook -> all dispatchable (s)", f"{result.dispatchable_s:.2f}",
             f"<= {GOAL_S:.0f}", result.dispatchable_s <= GOAL_S),
        _row("429 Too Many Requests", str(result.count_429), "0", result.count_429 == 0),
        _row("tickets with a card or a digest button", f"{result.listed}/{TICKETS}", "all",
             result.listed == result.tickets == TICKETS),
        _row("cards posted", str(result.cards), "", None),
        _row("burst digests posted", str(result.digests), "", None),
        _row("one card per ticket, legal minimum (s)", f"{one_card_each:.0f}", "", None),
    ]  # fmt: skip


def main() -> None:
    """Run and print the table."""
    parser = argparse.ArgumentParser(description="Modest burst-of-tickets benchmark")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    production_logging()
    print("\n".join(report_lines(asyncio.run(run(args.db)), args.db)))


if __name__ == "__main__":
    main()
