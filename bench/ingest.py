"""Webhook intake benchmark: ``python -m bench.ingest [--duration S] [--db sqlite|postgres]``.

Processes (2-core machine):

* this process runs the real Modest service (``running_modest``: aiohttp, polling, outbox
  sender, job runner, scheduler) and the Telegram emulator, or the bare aiohttp baseline;
* a child process (multiprocessing, spawn) is the load generator: an aiohttp client with a
  connection pool and many concurrent workers posting ``/webhooks/generic`` over loopback;
* a second child (``bench.idle_service``) measures the idle RSS before the load starts.

Telegram's limits are OFF in the load phases (an emulator with ``enforce_rate_limits=False``
and a ``TelegramRateLimiter`` with no per-chat, group or global limit): one dispatch chat can
take 1 card/s legally, so with the limits on these figures would measure Telegram, not
Modest. ``bench.outbox`` measures the limits separately.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp
import asyncpg  # type: ignore[import-untyped]
from aiohttp import web
from sqlalchemy import func, select
from sqlmodel import col

from bench.idle_service import bench_routing, production_logging
from bot.delivery.limits import TelegramRateLimiter
from storage.models import TicketRow
from tests.support.harness import SECRET, Harness, running_modest, ticket_body
from tests.support.telegram_emulator import TelegramEmulator

PATH = "/webhooks/generic"
CONCURRENCY = 64
WARMUP_S = 2.0
LATENCY_RATE = 50.0
LATENCY_S = 10.0
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
CARD_NUMBER = re.compile(r"#A-([A-Z]\d+)")

GOAL_THROUGHPUT = 1000.0
GOAL_RATIO = 0.3
GOAL_P99_MS = 20.0
GOAL_RSS_MB = 80.0


# --------------------------------------------------------------------------- load generator


@dataclass(frozen=True)
class Saturate:
    """Closed loop: ``concurrency`` workers post back to back; count 200s after warm-up."""

    url: str
    prefix: str
    warmup: float
    duration: float
    concurrency: int = CONCURRENCY


@dataclass(frozen=True)
class OpenLoop:
    """Open loop: post at fixed times ``t0 + i / rate``, never waiting for answers."""

    url: str
    prefix: str
    rate: float
    duration: float


@dataclass
class CpuUse:
    """CPU used while a load command ran, in cores (1.0 = one core busy all the time)."""

    server: float = 0.0
    client: float = 0.0
    other: float = 0.0

    def __str__(self) -> str:
        return (
            f"service {self.server:.2f}, load generator {self.client:.2f}, other {self.other:.2f}"
        )


@dataclass
class SaturateResult:
    """Answers inside the measured window (and over the whole run, warm-up included)."""

    ok: int
    errors: int
    window: float
    total_ok: int
    client_cpu_s: float = 0.0
    cpu: CpuUse = field(default_factory=CpuUse)


@dataclass
class Sample:
    """One open-loop webhook: its ticket id, monotonic start and end, HTTP status."""

    ticket: str
    started: float
    ended: float
    status: int


@dataclass
class OpenLoopResult:
    """Every sample and the worst lag of a start behind its schedule."""

    samples: list[Sample] = field(default_factory=list)
    max_lag: float = 0.0
    client_cpu_s: float = 0.0
    cpu: CpuUse = field(default_factory=CpuUse)


def _body(ticket: str) -> bytes:
    return json.dumps(ticket_body(ticket)).encode()


async def _post(session: aiohttp.ClientSession, url: str, ticket: str) -> int:
    headers = {"X-Webhook-Secret": SECRET, "Content-Type": "application/json"}
    async with session.post(url, data=_body(ticket), headers=headers) as resp:
        await resp.read()
        return resp.status


def _session(limit: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=limit, force_close=False)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))


async def saturate(cmd: Saturate) -> SaturateResult:
    """Run the closed-loop load."""
    start = time.monotonic()
    window_start, end = start + cmd.warmup, start + cmd.warmup + cmd.duration
    counts = {"ok": 0, "errors": 0, "total_ok": 0}
    next_id = iter(range(10**9))

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < end:
            try:
                status = await _post(session, cmd.url, f"{cmd.prefix}{next(next_id)}")
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            done = time.monotonic()
            counts["total_ok"] += status == 200
            if window_start <= done <= end:
                counts["ok" if status == 200 else "errors"] += 1

    async with _session(cmd.concurrency) as session:
        await asyncio.gather(*(worker(session) for _ in range(cmd.concurrency)))
    return SaturateResult(counts["ok"], counts["errors"], cmd.duration, counts["total_ok"])


async def open_loop(cmd: OpenLoop) -> OpenLoopResult:
    """Run the open-loop load; each request is its own task, started on schedule."""
    result = OpenLoopResult()

    async def one(session: aiohttp.ClientSession, ticket: str) -> None:
        started = time.monotonic()
        try:
            status = await _post(session, cmd.url, ticket)
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        result.samples.append(Sample(ticket, started, time.monotonic(), status))

    tasks: list[asyncio.Task[None]] = []
    async with _session(256) as session:
        t0 = time.monotonic() + 0.05
        for i in range(int(cmd.rate * cmd.duration)):
            due = t0 + i / cmd.rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            result.max_lag = max(result.max_lag, time.monotonic() - due)
            tasks.append(asyncio.create_task(one(session, f"{cmd.prefix}{i:06d}")))
        await asyncio.gather(*tasks)
    return result


async def _serve_commands(conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    while (cmd := await loop.run_in_executor(None, conn.recv)) is not None:
        cpu = time.process_time()
        result = await (saturate(cmd) if isinstance(cmd, Saturate) else open_loop(cmd))
        result.client_cpu_s = time.process_time() - cpu
        conn.send(result)


def loadgen_main(conn: Connection) -> None:
    """Entry point of the load-generator child process."""
    asyncio.run(_serve_commands(conn))


class LoadGenerator:
    """The parent's handle on the child process."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=loadgen_main, args=(child,), daemon=True)
        self._proc.start()

    async def run(self, cmd: Saturate | OpenLoop) -> SaturateResult | OpenLoopResult:
        """Send a command, wait (without blocking the service's loop) for its result.

        ``result.cpu`` says who used the CPU meanwhile: this process (service, emulator,
        SQLite thread), the load generator, and every other process on the machine.
        """
        cpu, busy, wall = time.process_time(), machine_busy_seconds(), time.monotonic()
        self._conn.send(cmd)
        result = await asyncio.get_running_loop().run_in_executor(None, self._conn.recv)
        assert isinstance(result, SaturateResult | OpenLoopResult)
        elapsed = time.monotonic() - wall
        server = (time.process_time() - cpu) / elapsed
        client = result.client_cpu_s / elapsed
        other = (machine_busy_seconds() - busy) / elapsed - server - client
        result.cpu = CpuUse(server, client, max(other, 0.0))
        return result

    async def saturate(self, cmd: Saturate) -> SaturateResult:
        """Closed-loop load, see ``Saturate``."""
        result = await self.run(cmd)
        assert isinstance(result, SaturateResult)
        return result

    async def open_loop(self, cmd: OpenLoop) -> OpenLoopResult:
        """Open-loop load, see ``OpenLoop``."""
        result = await self.run(cmd)
        assert isinstance(result, OpenLoopResult)
        return result

    def close(self) -> None:
        """Ask the child to exit and reap it."""
        self._conn.send(None)
        self._proc.join(timeout=10)


# --------------------------------------------------------------------------- measurements


def machine_busy_seconds() -> float:
    """CPU seconds all processes used since boot (/proc/stat: everything but idle, iowait)."""
    fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def unlimited() -> TelegramRateLimiter:
    """A limiter that never waits: Telegram's limits are off for these phases."""
    return TelegramRateLimiter(
        per_chat_interval=0, group_per_minute=10**9, global_per_second=10**9, margin=0
    )


@dataclass
class LatencyReport:
    """Webhook → sendMessage received by the emulator, and the webhook's own answer time."""

    card_ms: list[float]
    answer_ms: list[float]
    cpu: CpuUse
    warm_ok: int
    sent: int
    missing: int
    max_lag_ms: float
    #: This process's CPU (service and emulator) from the first measured webhook until
    #: the last of their cards was received, per webhook: the whole cost of a ticket.
    ticket_cpu_ms: float
    rate: float


def card_times(tg: TelegramEmulator) -> dict[str, float]:
    """When the emulator received the first successful sendMessage of each ticket."""
    seen: dict[str, float] = {}
    for call in tg.calls:
        if call.method != "sendMessage" or call.status != 200:
            continue
        match = CARD_NUMBER.search(str(call.params.get("text", "")))
        if match and match.group(1) not in seen:
            seen[match.group(1)] = call.time
    return seen


async def latency_phase(
    gen: LoadGenerator, h: Harness, url: str, rate: float = LATENCY_RATE
) -> LatencyReport:
    """Warm up at the same rate, then measure at a steady ``rate`` webhooks/s."""
    warm = await gen.open_loop(OpenLoop(url, "W", rate, 1.0))
    cpu = time.process_time()
    result = await gen.open_loop(OpenLoop(url, "L", rate, LATENCY_S))
    wanted = {s.ticket for s in result.samples if s.status == 200}
    with contextlib.suppress(AssertionError):  # a card still missing is reported below
        await h.tg.wait_for(lambda: wanted <= card_times(h.tg).keys(), timeout=30)
    ticket_cpu_ms = (time.process_time() - cpu) / max(len(result.samples), 1) * 1000
    cards = card_times(h.tg)
    return LatencyReport(
        card_ms=[
            (cards[s.ticket] - s.started) * 1000 for s in result.samples if s.ticket in cards
        ],
        answer_ms=[(s.ended - s.started) * 1000 for s in result.samples],
        cpu=result.cpu,
        warm_ok=sum(s.status == 200 for s in warm.samples),
        sent=len(result.samples),
        missing=len(wanted - cards.keys()) + len(result.samples) - len(wanted),
        max_lag_ms=result.max_lag * 1000,
        ticket_cpu_ms=ticket_cpu_ms,
        rate=rate,
    )


async def ticket_count(h: Harness) -> int:
    """How many tickets the service stored."""
    async with h.service.database.unit_of_work() as uow:
        stmt = select(func.count(col(TicketRow.id)))
        return int((await uow.session.execute(stmt)).scalar_one())


@dataclass
class ModestReport:
    """Everything measured against the real service."""

    latency: LatencyReport
    saturation: SaturateResult
    tickets: int
    expected_tickets: int
    cards_in_saturation: int


async def bench_modest(
    gen: LoadGenerator, db_url: str, duration: float, rate: float = LATENCY_RATE
) -> ModestReport:
    """Latency first (an empty outbox), then saturation, on one running service."""
    async with (
        TelegramEmulator(enforce_rate_limits=False) as tg,
        running_modest(tg, bench_routing(), db_url, limiter=unlimited()) as h,
    ):
        url = f"http://127.0.0.1:{h.service.http_port}{PATH}"
        latency = await latency_phase(gen, h, url, rate)
        cards_before = len(card_times(tg))
        sat = await gen.saturate(Saturate(url, "S", WARMUP_S, duration))
        cards = len(card_times(tg)) - cards_before
        tickets = await ticket_count(h)
    expected = latency.warm_ok + latency.sent - latency.missing + sat.total_ok
    return ModestReport(latency, sat, tickets, expected, cards)


async def bench_bare(gen: LoadGenerator, duration: float) -> SaturateResult:
    """The same saturation load against an aiohttp handler that reads the body, answers 200."""

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"status": "accepted"})

    app = web.Application()
    app.router.add_post(PATH, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        return await gen.saturate(
            Saturate(f"http://127.0.0.1:{port}{PATH}", "B", WARMUP_S, duration)
        )
    finally:
        await runner.cleanup()


def idle_rss() -> dict[str, float]:
    """Run ``bench.idle_service`` in a subprocess and read its JSON line."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.idle_service"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.idle_service failed:\n{done.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


# --------------------------------------------------------------------------- databases


@asynccontextmanager
async def database_url(kind: str) -> AsyncIterator[str]:
    """A fresh SQLite file, or a PostgreSQL database created here and dropped after."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="modest-bench-") as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'modest.db'}"
        return
    name = f"modest_bench_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        yield f"{base}/{name}"
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# --------------------------------------------------------------------------- report


def _row(metric: str, value: str, goal: str, passed: bool | None) -> str:
    verdict = "" if passed is None else ("PASS" if passed else "FAIL")
    return f"| {metric:<44} | {value:>14} | {goal:>10} | {verdict:<6} |"


def report_lines(
    args: argparse.Namespace, rss: dict[str, float], bare: SaturateResult, modest: ModestReport
) -> list[str]:
    """The results table and the notes that go with it."""
    modest_rps = modest.saturation.ok / modest.saturation.window
    bare_rps = bare.ok / bare.window
    ratio = modest_rps / bare_rps if bare_rps else 0.0
    card, answer = modest.latency.card_ms, modest.latency.answer_ms
    p50 = percentile(card, 50) if card else math.inf
    p99 = percentile(card, 99) if card else math.inf
    return [
        f"bench.ingest  db={args.db}  saturation window={args.duration:g} s after "
        f"{WARMUP_S:g} s warm-up, {CONCURRENCY} workers",
        "",
        f"| {'metric':<44} | {'measured':>14} | {'goal':>10} | {'':<6} |",
        "|" + "-" * 46 + "|" + "-" * 16 + "|" + "-" * 12 + "|" + "-" * 8 + "|",
        _row(
            "Modest throughput at saturation (200/s)",
            f"{modest_rps:,.0f}",
            ">= 1,000",
            modest_rps >= GOAL_THROUGHPUT,
        ),
        _row("bare aiohttp handler, same load (200/s)", f"{bare_rps:,.0f}", "", None),
        _row("ratio Modest / bare", f"{ratio:.2f}", ">= 0.3", ratio >= GOAL_RATIO),
        _row(f"webhook -> sendMessage p50 @ {args.rate:g}/s (ms)", f"{p50:.1f}", "", None),
        _row(
            f"webhook -> sendMessage p99 @ {args.rate:g}/s (ms)",
            f"{p99:.1f}",
            "<= 20",
            p99 <= GOAL_P99_MS,
        ),
        _row(
            "webhook answer p50 / p99 (ms)",
            f"{percentile(answer, 50):.1f} / {percentile(answer, 99):.1f}",
            "",
            None,
        ),
        _row(
            "idle RSS, service in a subprocess (MiB)",
            f"{rss['rss_mb']:.1f}",
            "<= 80",
            rss["rss_mb"] <= GOAL_RSS_MB,
        ),
        "",
        *_notes(modest, bare),
    ]


def _per_webhook_ms(sat: SaturateResult) -> float:
    """The service's CPU per answered webhook in the saturation window, in ms."""
    rate = sat.ok / sat.window if sat.window else 0.0
    return sat.cpu.server / rate * 1000 if rate else math.nan


def _notes(modest: ModestReport, bare: SaturateResult) -> list[str]:
    lat, sat = modest.latency, modest.saturation
    return [
        "Notes:",
        "* Telegram's limits are OFF here (emulator enforce_rate_limits=False, limiter with no "
        "per-chat/group/global limit): this is Modest's own pipeline, not Telegram's 1 msg/s.",
        "* 2-core machine: the load generator runs in a child process and competes for the "
        "CPU; the emulator shares the service's process and event loop.",
        f"* latency: {lat.sent} webhooks open-loop, {len(lat.card_ms)} cards matched, "
        f"{lat.missing} missing; worst start lag behind schedule {lat.max_lag_ms:.1f} ms.",
        f"* saturation errors (non-200 or failed) Modest/bare: {sat.errors}/{bare.errors}; "
        f"tickets stored {modest.tickets} (expected {modest.expected_tickets}).",
        "* CPU used, in cores (2 in all; 'other' = processes outside this benchmark):",
        f"  latency phase: {lat.cpu}",
        f"  Modest saturation: {sat.cpu}",
        f"  bare saturation: {bare.cpu}",
        "* service CPU per ticket (emulator included): webhook + card at "
        f"{lat.rate:g}/s {lat.cpu.server / lat.rate * 1000:.1f} ms while they come, "
        f"{lat.ticket_cpu_ms:.1f} ms until the last card is out; "
        f"per webhook at saturation {_per_webhook_ms(sat):.1f} ms.",
        f"* cards sent during the saturation phase ({WARMUP_S + sat.window:g} s): "
        f"{modest.cards_in_saturation} for {sat.total_ok} webhooks accepted.",
    ]


# --------------------------------------------------------------------------- main


async def run(args: argparse.Namespace) -> list[str]:
    """Every phase, one after the other so they do not compete."""
    rss = await asyncio.to_thread(idle_rss)
    gen = LoadGenerator()
    try:
        bare = await bench_bare(gen, args.duration)
        async with database_url(args.db) as db_url:
            modest = await bench_modest(gen, db_url, args.duration, args.rate)
    finally:
        gen.close()
    return report_lines(args, rss, bare, modest)


def main() -> None:
    """Parse the options, run, print the table."""
    parser = argparse.ArgumentParser(description="Modest webhook intake benchmark")
    parser.add_argument("--duration", type=float, default=10.0, help="saturation window, s")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--rate", type=float, default=LATENCY_RATE, help="webhooks/s of the latency phase"
    )
    args = parser.parse_args()
    production_logging()
    started = time.monotonic()
    lines = asyncio.run(run(args))
    lines.append(f"* the whole benchmark took {time.monotonic() - started:.0f} s.")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
