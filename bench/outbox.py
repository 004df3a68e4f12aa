"""Outbox drain benchmark under Telegram's limits: ``python -m bench.outbox [--backlog N]``.

1,000 messages are queued in one transaction (``enqueue_plain``) across 50 chats, 20 per
chat, 5 of the chats groups (negative ids). The real ``OutboxSender`` with the default
``TelegramRateLimiter`` and ``AiogramTransport`` over a real aiogram ``Bot`` delivers them to
the emulator, which enforces Telegram's limits (1/s per chat, 20/min per group, 30/s in all).

Reported: the time from the first to the last delivered call (emulator clock), the legal
minimum for the same calls (``allowed_rate_floor_seconds``), their ratio, the 429s, and whether
every message arrived exactly once and in order in its chat.

With ``--backlog N`` the cost of one sender pass is measured first, with an empty outbox and
then with ``N`` messages held in 50 other chats (``bench.outbox_backlog``), and the drain
runs with that backlog still in the table (``--no-drain``: the pass costs only). ``--db
postgres`` runs on a database of its own on the local PostgreSQL, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from bench import outbox_backlog
from bench.idle_service import production_logging
from bot.delivery.limits import TelegramRateLimiter
from bot.delivery.sender import OutboxSender
from bot.transport import AiogramTransport
from storage.db import Database
from storage.migrate import upgrade
from tests.support.telegram_emulator import TelegramEmulator, allowed_rate_floor_seconds

PRIVATE_CHATS = 45
GROUP_CHATS = 5
PER_CHAT = 20
GOAL_RATIO = 0.9
TIMEOUT_S = 120.0
PASS_GOAL = 2.0
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def chat_ids() -> list[int]:
    """45 private chats (positive ids) and 5 groups (negative ids)."""
    private = [2_000_000 + n for n in range(PRIVATE_CHATS)]
    groups = [-1_002_000_000_000 - n for n in range(GROUP_CHATS)]
    return private + groups


def text_of(chat_id: int, index: int) -> str:
    """The text of the ``index``-th message to ``chat_id`` (unique across the run)."""
    return f"chat {chat_id} message {index:02d}"


async def enqueue_all(database: Database, chats: list[int]) -> None:
    """Queue every message in one transaction, interleaved across chats."""
    async with database.unit_of_work() as uow:
        for index in range(PER_CHAT):
            for chat_id in chats:
                uow.outbox.enqueue_plain(
                    chat_id=chat_id, payload={"text": text_of(chat_id, index)}
                )
        await uow.commit()


def build_bot(tg: TelegramEmulator) -> Bot:
    """An aiogram Bot pointed at the emulator, configured as ``modest.app.build_bot`` does."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))
    return Bot(tg.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


@dataclass
class Drain:
    """What the emulator saw while the sender drained the outbox."""

    elapsed: float
    wall: float
    floor: float
    count_429: int
    delivered: int
    in_order: bool
    duplicates: int


def check_delivery(tg: TelegramEmulator, chats: list[int]) -> tuple[int, bool, int]:
    """Messages delivered, whether every chat got exactly its texts in order, duplicates."""
    delivered, in_order, duplicates = 0, True, 0
    for chat_id in chats:
        texts = [m.text for m in tg.messages(chat_id)]
        delivered += len(texts)
        duplicates += sum(n - 1 for n in Counter(texts).values() if n > 1)
        in_order &= texts == [text_of(chat_id, i) for i in range(PER_CHAT)]
    return delivered, in_order, duplicates


async def drain(tg: TelegramEmulator, database: Database, chats: list[int]) -> Drain:
    """Run the sender until every message is in the emulator, then measure."""
    bot = build_bot(tg)
    sender = OutboxSender(database, AiogramTransport(bot), TelegramRateLimiter())
    total = len(chats) * PER_CHAT
    started = time.monotonic()
    task = asyncio.create_task(sender.run())
    try:
        await tg.wait_for(lambda: sum(len(tg.messages(c)) for c in chats) >= total, TIMEOUT_S)
    finally:
        wall = time.monotonic() - started
        sender.stop()
        await task
        await bot.session.close()
    sends = [c for c in tg.calls if c.method == "sendMessage" and c.status == 200]
    delivered, in_order, duplicates = check_delivery(tg, chats)
    return Drain(
        elapsed=sends[-1].time - sends[0].time,
        wall=wall,
        floor=allowed_rate_floor_seconds(Counter(int(c.params["chat_id"]) for c in sends)),
        count_429=tg.count_429,
        delivered=delivered,
        in_order=in_order,
        duplicates=duplicates,
    )


@contextlib.asynccontextmanager
async def database_url(db: str) -> AsyncIterator[str]:
    """A temporary SQLite file, or a PostgreSQL database of its own, dropped afterwards."""
    if db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="modest-outbox-") as tmp:
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


async def run(
    db: str, backlog: int, *, drain_too: bool = True
) -> tuple[outbox_backlog.PassCost | None, Drain | None]:
    """A migrated database, the pass costs (with a backlog), the queued messages, the drain."""
    chats = chat_ids()
    async with database_url(db) as url:
        database = Database(url)
        try:
            await upgrade(database)
            passes = await pass_costs(db, database, backlog) if backlog else None
            if not drain_too:
                return passes, None
            await enqueue_all(database, chats)
            async with TelegramEmulator(enforce_rate_limits=True) as tg:
                for chat_id in chats:
                    tg.add_chat(chat_id)
                return passes, await drain(tg, database, chats)
        finally:
            await database.dispose()


async def pass_costs(db: str, behind: Database, backlog: int) -> outbox_backlog.PassCost:
    """Passes on an empty outbox and on the heads alone (two more databases) and ``behind``."""
    async with database_url(db) as empty_url, database_url(db) as heads_url:
        empty, heads = Database(empty_url), Database(heads_url)
        try:
            await upgrade(empty)
            await upgrade(heads)
            return await outbox_backlog.measure(empty, heads, behind, backlog)
        finally:
            await empty.dispose()
            await heads.dispose()


def _row(metric: str, value: str, goal: str, passed: bool | None) -> str:
    verdict = "" if passed is None else ("PASS" if passed else "FAIL")
    return f"| {metric:<42} | {value:>12} | {goal:>12} | {verdict:<6} |"


def pass_lines(cost: outbox_backlog.PassCost) -> list[str]:
    """The rows of the pass costs."""
    chats = outbox_backlog.HELD_CHATS

    def ms(figures: tuple[float, float]) -> str:
        return f"{figures[0]:.2f} / {figures[1]:.2f}"

    return [
        _row("one pass, empty outbox: wall / cpu (ms)", ms(cost.empty), "", None),
        _row(f"one pass, {chats} held heads alone (ms)", ms(cost.heads), "", None),
        _row(f"one pass, {cost.backlog:,} held in {chats} chats (ms)", ms(cost.behind), "",
             None),
        _row("pass: backlog / empty, wall", f"{cost.ratio(0):.2f}x", f"<= {PASS_GOAL:.0f}x",
             cost.ratio(0) <= PASS_GOAL),
        _row("pass: backlog / empty, cpu", f"{cost.ratio(1):.2f}x", f"<= {PASS_GOAL:.0f}x",
             cost.ratio(1) <= PASS_GOAL),
        _row("pass: backlog / heads alone, wall", f"{cost.behind[0] / cost.heads[0]:.2f}x",
             "", None),
    ]  # fmt: skip


def report_lines(
    result: Drain | None, passes: outbox_backlog.PassCost | None = None, db: str = "sqlite"
) -> list[str]:
    """The results table."""
    total = (PRIVATE_CHATS + GROUP_CHATS) * PER_CHAT
    behind = f"; {passes.backlog:,} held messages in the table" if passes else ""
    return [
        f"bench.outbox ({db})  {total} messages, {PRIVATE_CHATS} private chats + "
        f"{GROUP_CHATS} groups x {PER_CHAT}{behind}; emulator enforces Telegram's limits; "
        "default TelegramRateLimiter",
        "",
        f"| {'metric':<42} | {'measured':>12} | {'goal':>12} | {'':<6} |",
        "|" + "-" * 44 + "|" + "-" * 14 + "|" + "-" * 14 + "|" + "-" * 8 + "|",
        *(pass_lines(passes) if passes else []),
        *(drain_lines(result) if result else []),
    ]


def drain_lines(result: Drain) -> list[str]:
    """The rows of the drain."""
    total = (PRIVATE_CHATS + GROUP_CHATS) * PER_CHAT
    ratio = result.floor / result.elapsed if result.elapsed else 0.0
    exact = result.delivered == total and result.duplicates == 0 and result.in_order
    return [
        _row("first -> last delivered call (s)", f"{result.elapsed:.2f}", "", None),
        _row("legal minimum, allowed_rate_floor_seconds", f"{result.floor:.2f}", "", None),
        _row("share of the allowed rate (floor/elapsed)", f"{ratio:.1%}", ">= 90%",
             ratio >= GOAL_RATIO),
        _row("429 Too Many Requests", str(result.count_429), "0", result.count_429 == 0),
        _row("delivered exactly once, in order per chat",
             f"{result.delivered}/{total}", "all", exact),
        "",
        f"* sender start -> all delivered (wall): {result.wall:.2f} s; "
        f"duplicates: {result.duplicates}; order kept in every chat: {result.in_order}.",
    ]  # fmt: skip


def main() -> None:
    """Run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backlog",
        type=int,
        default=0,
        metavar="N",
        help="measure a pass behind N held messages, and drain with them",
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--no-drain", action="store_true", help="only the pass costs")
    args = parser.parse_args()
    production_logging()
    passes, result = asyncio.run(run(args.db, args.backlog, drain_too=not args.no_drain))
    print("\n".join(report_lines(result, passes, args.db)))


if __name__ == "__main__":
    main()
