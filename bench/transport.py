"""CPU of one outbox call, aiogram transport vs plain: ``python -m bench.transport [--calls N]``.

Both transports (``bot.transport.AiogramTransport``, ``bot.plain_transport.PlainTransport``)
share one aiogram ``Bot`` configured as ``modest.app.build_bot`` configures it, and send
the same card (HTML text, six buttons in three rows) to the Bot API emulator, then edit it
``--calls`` times each. The emulator runs in a child process, so ``time.process_time``
here is the transport's own CPU (building the request, aiohttp, reading the answer), not
the server's. Each transport first makes 20 calls not counted (aiogram builds its models
on first use); then the two alternate in ``--rounds`` rounds so that both see the same
machine. Printed: CPU and wall time per call, per transport and kind of call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from bot.delivery.sender import Outcome, TelegramTransport
from bot.plain_transport import PlainTransport
from bot.transport import AiogramTransport
from modest.app import TELEGRAM_CALL_TIMEOUT
from storage.models import OutboxOp

CHAT = 7001
WARM_CALLS = 20
#: The child: the emulator on a free port; its address on stdout; stops when stdin closes.
_SERVER = f"""
import asyncio, sys
from tests.support.telegram_emulator import TelegramEmulator

async def main() -> None:
    async with TelegramEmulator(enforce_rate_limits=False) as tg:
        tg.add_user({CHAT})
        print(tg.base_url, tg.token, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""


def card(n: int) -> dict[str, Any]:
    """A card's payload as the renderer makes it (the text differs per call)."""
    buttons = [
        [{"text": f"Отдел {row}{col}", "callback_data": f"dp:d:{n}:{row}{col}:"} for col in "ab"]
        for row in "123"
    ]
    text = (
        f"<b>#{n} Не работает почта</b>\n<i>ООО Ромашка</i> · Иван Петров\n"
        + "Письма уходят, но не приходят; с утра 12 жалоб. " * 6
    )
    return {"text": text, "reply_markup": {"inline_keyboard": buttons}}


@dataclass
class Tally:
    """CPU and wall seconds over some calls of one kind."""

    calls: int = 0
    cpu: float = 0.0
    wall: float = 0.0
    failures: list[str] = field(default_factory=list)

    def per_call_ms(self) -> tuple[float, float]:
        """CPU and wall milliseconds per call."""
        return 1000 * self.cpu / self.calls, 1000 * self.wall / self.calls


@asynccontextmanager
async def emulator() -> AsyncIterator[tuple[str, str]]:
    """The emulator in a child process: its base URL and token."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SERVER,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    base_url, token = (await child.stdout.readline()).decode().split()
    try:
        yield base_url, token
    finally:
        child.stdin.close()
        await child.wait()


async def run(transport: TelegramTransport, calls: int, sends: Tally, edits: Tally) -> None:
    """Send one card, then edit it ``calls`` times; each call's cost in its tally."""
    for n in range(calls):
        started, cpu = time.perf_counter(), time.process_time()
        sent = await transport.deliver(
            op=OutboxOp.SEND, chat_id=CHAT, message_id=None, payload=card(n)
        )
        _count(sends, sent.outcome, started, cpu)
        started, cpu = time.perf_counter(), time.process_time()
        edited = await transport.deliver(
            op=OutboxOp.EDIT, chat_id=CHAT, message_id=sent.message_id, payload=card(-n)
        )
        _count(edits, edited.outcome, started, cpu)


def _count(tally: Tally, outcome: Outcome, started: float, cpu: float) -> None:
    tally.cpu += time.process_time() - cpu
    tally.wall += time.perf_counter() - started
    tally.calls += 1
    if outcome != Outcome.DELIVERED:
        tally.failures.append(str(outcome))


async def measure(calls: int, rounds: int) -> dict[str, dict[str, Tally]]:
    """Both transports, alternating; tallies by transport and kind of call."""
    async with emulator() as (base_url, token):
        session = AiohttpSession(
            api=TelegramAPIServer.from_base(base_url), timeout=TELEGRAM_CALL_TIMEOUT
        )
        bot = Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
        transports: dict[str, TelegramTransport] = {
            "aiogram": AiogramTransport(bot),
            "plain": PlainTransport(bot),
        }
        tallies = {name: {"send": Tally(), "edit": Tally()} for name in transports}
        try:
            for transport in transports.values():
                await run(transport, WARM_CALLS, Tally(), Tally())
            for _ in range(rounds):
                for name, transport in transports.items():
                    await run(
                        transport, calls // rounds, tallies[name]["send"], tallies[name]["edit"]
                    )
        finally:
            await session.close()
    return tallies


def report(tallies: dict[str, dict[str, Tally]]) -> dict[str, Any]:
    """The figures, printed as a table and returned as JSON-able data."""
    figures: dict[str, Any] = {}
    print("| transport | call | calls | CPU ms/call | wall ms/call |")
    print("|---|---|---:|---:|---:|")
    for name, kinds in tallies.items():
        for kind, tally in kinds.items():
            cpu, wall = tally.per_call_ms()
            figures[f"{name}.{kind}"] = {"cpu_ms": round(cpu, 3), "wall_ms": round(wall, 3)}
            print(f"| {name} | {kind} | {tally.calls} | {cpu:.3f} | {wall:.3f} |")
            if tally.failures:
                print(f"  ! {len(tally.failures)} calls not delivered: {tally.failures[:3]}")
    for kind in ("send", "edit"):
        saved = figures[f"aiogram.{kind}"]["cpu_ms"] - figures[f"plain.{kind}"]["cpu_ms"]
        print(f"* {kind}: the plain transport saves {saved:.3f} ms of CPU per call")
    return figures


def main() -> None:
    """Parse the arguments, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--calls", type=int, default=500, help="cards per transport (each edited once)"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    figures = report(asyncio.run(measure(args.calls, args.rounds)))
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
