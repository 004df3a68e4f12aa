"""Start-up time and idle memory of ``modest run``: ``python -m bench.startup``.

Side by side, in the same run, alternating so that both see the same machine:

* **the stack**: ``python -c`` importing the fixed stack (``STACK``: aiohttp, aiogram,
  SQLAlchemy with aiosqlite and SQLModel, APScheduler, httpx, tenacity, structlog, pydantic
  with pydantic-settings, PyYAML) and nothing of Modest. aiogram is imported the way Modest
  imports it (its models built on first use, ``modest.lazy_aiogram``): the reference the
  goals are measured against. The same with a plain ``import aiogram`` is printed too.
  Time = spawn until the child has printed that its imports are done; its RSS then is the
  floor.
* **the service**: ``python -m modest run`` in a subprocess, as ``tests.support.processes``
  starts it, against the Bot API emulator (in this process) with the generic helpdesk on a
  SQLite file migrated beforehand by ``modest migrate`` (a restart on a current schema, the
  common case). Time = spawn until ``GET /healthz`` first answers 200 (polled every 10 ms).
  Then it stays idle (``--idle`` seconds, and at least until it logged ``modest.warmed``:
  the models it builds once up, in the background),
  its ``VmRSS`` is read from ``/proc/<pid>/status``, and it gets SIGTERM.

One round of each is run first and not counted (files in the page cache, byte code
compiled); then ``--runs`` rounds. Medians are printed, with every run's figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.processes import free_port, service_env, write_routing
from tests.support.telegram_emulator import TelegramEmulator

STACK = (
    "aiohttp.web",
    "aiogram",
    "sqlalchemy.ext.asyncio",
    "sqlmodel",
    "aiosqlite",
    "apscheduler.schedulers.asyncio",
    "httpx",
    "tenacity",
    "structlog",
    "pydantic",
    "pydantic_settings",
    "yaml",
)
#: What the child runs: the imports, then one JSON line with its memory.
_PROBE = """
import importlib, json, os, pathlib, sys
{defer}
for name in {stack!r}:
    importlib.import_module(name)
status = pathlib.Path("/proc/self/status").read_text().splitlines()
kb = {{line.split(":")[0]: int(line.split()[1]) for line in status if line.endswith(" kB")}}
cpu = sum(os.times()[:2])
print(json.dumps({{"rss_mb": kb["VmRSS"] / 1024, "cpu_s": cpu, "deferred": {check}}}), flush=True)
"""
DEFERRED = _PROBE.format(
    defer="from modest.lazy_aiogram import import_aiogram; deferred = import_aiogram()",
    stack=STACK,
    check="deferred",
)
EAGER = _PROBE.format(defer="", stack=STACK, check="False")

GOAL_TIME_RATIO = 1.5
GOAL_RSS_ABOVE_FLOOR_MB = 15.0
HEALTH_POLL_S = 0.01
START_TIMEOUT_S = 60.0


@dataclass
class Run:
    """One process: seconds until ready (imported, or healthy), CPU seconds it had used by
    then, and its RSS (the stack: then; the service: once idle)."""

    seconds: float
    cpu_s: float
    rss_mb: float
    #: The service only: seconds from spawn to ``modest.warmed``, and the peak RSS.
    warmed_s: float | None = None
    hwm_mb: float | None = None


@dataclass
class Series:
    """The runs of one variant."""

    name: str
    runs: list[Run] = field(default_factory=list)

    def median(self, attr: str) -> float:
        values = [getattr(run, attr) for run in self.runs if getattr(run, attr) is not None]
        return statistics.median(values) if values else float("nan")

    def each(self, attr: str, fmt: str = "{:.2f}") -> str:
        return " ".join(fmt.format(getattr(run, attr) or float("nan")) for run in self.runs)


async def stack_import(code: str) -> Run:
    """Spawn ``python -c code``; time until it reports its imports done."""
    started = time.monotonic()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE, cwd=_repo()
    )
    assert child.stdout is not None
    line = await child.stdout.readline()
    seconds = time.monotonic() - started
    await child.wait()
    if child.returncode != 0 or not line:
        raise RuntimeError(f"the stack probe failed ({child.returncode})")
    report = json.loads(line)
    return Run(seconds, report["cpu_s"], report["rss_mb"])


async def service_start(env: dict[str, str], workdir: Path, idle: float) -> Run:
    """Spawn ``modest run``; time until ``/healthz`` is 200; RSS once idle and warmed."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    warmed = asyncio.get_running_loop().create_future()
    async with httpx.AsyncClient(timeout=5) as http:
        started = time.monotonic()
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "modest",
            "run",
            cwd=workdir,
            # Unbuffered, so that each log line arrives when it is written.
            env={**env, "HTTP_PORT": str(port), "PYTHONUNBUFFERED": "1"},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        reader = asyncio.create_task(_read_log(child, started, warmed))
        try:
            seconds = await _healthy(http, url, child, started) - started
            cpu = _cpu_seconds(child.pid)
            await asyncio.sleep(idle)
            warmed_s = await asyncio.wait_for(warmed, START_TIMEOUT_S)
            status = _proc_status(child.pid)
            return Run(seconds, cpu, status["VmRSS"], warmed_s, status["VmHWM"])
        finally:
            await _stop(child)
            reader.cancel()


async def _read_log(
    child: asyncio.subprocess.Process, started: float, warmed: asyncio.Future[float]
) -> None:
    """Resolve ``warmed`` with the seconds from spawn to the ``modest.warmed`` line."""
    assert child.stdout is not None
    async for line in child.stdout:
        with contextlib.suppress(json.JSONDecodeError, UnicodeDecodeError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("event") == "modest.warmed":
                warmed.set_result(time.monotonic() - started)
    if not warmed.done():
        warmed.set_exception(RuntimeError(f"modest run ended ({child.returncode}) unwarmed"))


async def _healthy(
    http: httpx.AsyncClient, url: str, child: asyncio.subprocess.Process, started: float
) -> float:
    while time.monotonic() - started < START_TIMEOUT_S:
        if child.returncode is not None:
            raise RuntimeError(f"modest run exited with {child.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if (await http.get(url)).status_code == 200:
                return time.monotonic()
        await asyncio.sleep(HEALTH_POLL_S)
    raise RuntimeError(f"modest run not healthy in {START_TIMEOUT_S:g} s")


async def _stop(child: asyncio.subprocess.Process) -> None:
    if child.returncode is None:
        child.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(child.wait(), 20)
    except TimeoutError:
        child.kill()
        await child.wait()


def _proc_status(pid: int) -> dict[str, float]:
    """The ``kB`` fields of /proc/<pid>/status, in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        name, _, value = line.partition(":")
        if value.strip().endswith(" kB"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (all its threads) so far."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _repo() -> Path:
    return Path(__file__).resolve().parent.parent


async def migrate(env: dict[str, str], workdir: Path) -> None:
    """``modest migrate`` once, as a deployment runs it before the service."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "modest",
        "migrate",
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
    )
    if await child.wait() != 0:
        raise RuntimeError("modest migrate failed")


async def measure(runs: int, idle: float) -> tuple[Series, Series, Series]:
    """Warm-up round, then ``runs`` rounds of: deferred stack, eager stack, the service."""
    deferred, eager, service = Series("deferred"), Series("eager"), Series("service")
    with tempfile.TemporaryDirectory(prefix="modest-startup-") as tmp:
        workdir = Path(tmp)
        async with TelegramEmulator() as tg:
            routing = write_routing(workdir / "routing.yaml", tg)
            db_url = f"sqlite+aiosqlite:///{workdir / 'modest.db'}"
            env = service_env(tg, db_url, routing)
            await migrate(env, workdir)
            for round_no in range(runs + 1):
                results = (
                    await stack_import(DEFERRED),
                    await stack_import(EAGER),
                    await service_start(env, workdir, idle),
                )
                if round_no == 0:
                    continue  # the warm-up round
                for series, result in zip((deferred, eager, service), results, strict=True):
                    series.runs.append(result)
    return deferred, eager, service


def _row(metric: str, value: str, goal: str, passed: bool | None) -> str:
    verdict = "" if passed is None else ("PASS" if passed else "FAIL")
    return f"| {metric:<46} | {value:>10} | {goal:>12} | {verdict:<6} |"


def report_lines(
    args: argparse.Namespace, deferred: Series, eager: Series, service: Series
) -> list[str]:
    """The table of medians, then every run's figures."""
    header = f"| {'metric (median of ' + str(args.runs) + ' runs)':<46} | {'measured':>10} |"
    return [
        f"bench.startup  runs={args.runs} (+1 warm-up)  idle={args.idle:g} s  "
        f"python {sys.version.split()[0]}  cpus={os.cpu_count()}",
        "",
        header + f" {'goal':>12} | {'':<6} |",
        "|" + "-" * 48 + "|" + "-" * 12 + "|" + "-" * 14 + "|" + "-" * 8 + "|",
        *_time_rows(deferred, eager, service),
        *_memory_rows(args, deferred, eager, service),
        "",
        "Every run:",
        f"* stack import (s):          {deferred.each('seconds')}",
        f"* stack, plain aiogram (s):  {eager.each('seconds')}",
        f"* start -> healthy (s):      {service.each('seconds')}",
        f"* start -> warmed (s):       {service.each('warmed_s')}",
        f"* CPU, stack import (s):     {deferred.each('cpu_s')}",
        f"* CPU, start -> healthy (s): {service.each('cpu_s')}",
        f"* floor RSS (MiB):           {deferred.each('rss_mb', '{:.1f}')}",
        f"* idle RSS (MiB):            {service.each('rss_mb', '{:.1f}')}",
    ]


def _time_rows(deferred: Series, eager: Series, service: Series) -> list[str]:
    start, stack = service.median("seconds"), deferred.median("seconds")
    fastest = min(run.seconds for run in service.runs)
    fastest_stack = min(run.seconds for run in deferred.runs)
    cpu, stack_cpu = service.median("cpu_s"), deferred.median("cpu_s")
    return [
        _row("python -c: import the stack (s)", f"{stack:.2f}", "", None),
        _row("  the same, plain import aiogram (s)", f"{eager.median('seconds'):.2f}", "", None),
        _row("modest run -> /healthz ok (s)", f"{start:.2f}", "", None),
        _row(
            "ratio start / stack import",
            f"{start / stack:.2f}",
            f"<= {GOAL_TIME_RATIO:g}",
            start / stack <= GOAL_TIME_RATIO,
        ),
        _row("  fastest runs: stack / start (s)", f"{fastest_stack:.2f}/{fastest:.2f}", "", None),
        _row("  ratio of the fastest runs", f"{fastest / fastest_stack:.2f}", "", None),
        _row("modest run -> modest.warmed (s)", f"{service.median('warmed_s'):.2f}", "", None),
        _row("CPU: importing the stack (s)", f"{stack_cpu:.2f}", "", None),
        _row("CPU: modest run until /healthz ok (s)", f"{cpu:.2f}", "", None),
        _row("ratio of the CPU times", f"{cpu / stack_cpu:.2f}", "", None),
    ]


def _memory_rows(
    args: argparse.Namespace, deferred: Series, eager: Series, service: Series
) -> list[str]:
    rss, floor = service.median("rss_mb"), deferred.median("rss_mb")
    return [
        _row("floor: RSS after importing the stack (MiB)", f"{floor:.1f}", "", None),
        _row("  the same, plain import aiogram (MiB)", f"{eager.median('rss_mb'):.1f}", "", None),
        _row(f"modest run, idle RSS after {args.idle:g} s (MiB)", f"{rss:.1f}", "", None),
        _row(
            "idle RSS - floor (MiB)",
            f"{rss - floor:.1f}",
            f"<= {GOAL_RSS_ABOVE_FLOOR_MB:g}",
            rss - floor <= GOAL_RSS_ABOVE_FLOOR_MB,
        ),
        _row("modest run, peak RSS (VmHWM, MiB)", f"{service.median('hwm_mb'):.1f}", "", None),
    ]


def main() -> None:
    """Parse the options, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="counted rounds (default 5)")
    parser.add_argument("--idle", type=float, default=5.0, help="idle seconds before the RSS")
    args = parser.parse_args()
    started = time.monotonic()
    deferred, eager, service = asyncio.run(measure(args.runs, args.idle))
    lines = report_lines(args, deferred, eager, service)
    lines.append(f"* the whole benchmark took {time.monotonic() - started:.0f} s.")
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    lines.append(f"* load average at the end: {load} ({os.cpu_count()} CPUs).")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
