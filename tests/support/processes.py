"""Real ``modest run`` processes for crash and multi-instance tests.

Each process runs ``python -m modest run`` from the test's virtualenv in a directory of
its own (so no ``.env`` is read), configured by environment variables only, and writes
its JSON log lines to a file there. The Bot API emulator runs in the test process; the
subprocesses reach it on loopback through ``TELEGRAM_API_BASE``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from config.routing import load_routing_text
from config.settings import Settings
from tests.support.harness import SECRET
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator

#: How long a process may take from spawn to a healthy ``/healthz``.
START_TIMEOUT = 30.0
#: A card's text starts with its ticket number (a reminder's with "⏰ Reminder").
_CARD = re.compile(r"#(\S+) ")


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(
    tg: TelegramEmulator, database_url: str, routing: Path, **extra: str
) -> dict[str, str]:
    """The environment of a ``modest run`` against the emulator, without any inherited
    Modest setting (the test runner's own environment must not leak in)."""
    ours = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in ours}
    env.update(
        TELEGRAM_BOT_TOKEN=tg.token,
        TELEGRAM_API_BASE=tg.base_url,
        DATABASE_URL=database_url,
        MODEST_CONFIG=str(routing),
        HTTP_HOST="127.0.0.1",
        HELPDESK_WEBHOOK_SECRET=SECRET,
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


class ModestProcess:
    """One ``modest run`` subprocess: start, webhooks, SIGKILL or SIGTERM, its log."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.workdir = workdir
        self.env = env
        self.port = free_port()
        self.log_path = workdir / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None
        self._http = httpx.AsyncClient(timeout=10)

    @property
    def pid(self) -> int:
        """The operating system's id of the running process."""
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    @property
    def url(self) -> str:
        """Where its HTTP server listens."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Spawn ``modest run`` and wait until ``/healthz`` answers 200."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**self.env, "HTTP_PORT": str(self.port)}
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "modest",
                "run",
                cwd=self.workdir,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        await self._wait_healthy()

    async def _wait_healthy(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while loop.time() < deadline:
            assert self.process is not None
            if self.process.returncode is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            with contextlib.suppress(httpx.TransportError):
                if (await self._http.get(f"{self.url}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} not healthy in {START_TIMEOUT} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash or an OOM kill."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def wait(self, timeout: float = 20.0) -> int:
        """Wait for the process to end; its exit code (negative: the signal)."""
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait for a clean stop (SIGKILL if it does not come)."""
        if self.process is None:
            return 0
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await self.wait(timeout)
        except TimeoutError:
            self.kill()
            await self.wait()
            raise AssertionError(f"{self.name} ignored SIGTERM:\n{self.log_tail()}") from None

    async def aclose(self) -> None:
        """Make sure nothing is left running (test teardown)."""
        self.kill()
        if self.process is not None:
            await self.wait()
        await self._http.aclose()

    async def post_generic(self, body: dict[str, Any]) -> httpx.Response:
        """POST a generic helpdesk webhook with the right secret."""
        return await self._http.post(
            f"{self.url}/webhooks/generic", json=body, headers={"X-Webhook-Secret": SECRET}
        )

    def events(self, name: str) -> list[dict[str, Any]]:
        """Its log lines with event ``name``, parsed."""
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    entry = json.loads(line)
                    if entry.get("event") == name:
                        found.append(entry)
        return found

    def log_tail(self, lines: int = 40) -> str:
        """The last lines it logged (for failure messages)."""
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@asynccontextmanager
async def modest_processes(
    workdir: Path, env: dict[str, str], *names: str
) -> AsyncIterator[list[ModestProcess]]:
    """Processes (not started yet) sharing one environment; all killed on exit."""
    processes = [ModestProcess(name, workdir / name, env) for name in names]
    try:
        yield processes
    finally:
        for process in processes:
            await process.aclose()


def write_routing(path: Path, tg: TelegramEmulator, **dispatch: str) -> Path:
    """Write the tests' routing file (plus ``dispatch`` settings) and make its chat and
    people known to the emulator."""
    text = ROUTING_YAML.replace(
        "dispatch:\n  chat_id: -1001234567890\n",
        "dispatch:\n  chat_id: -1001234567890\n"
        + "".join(f"  {key}: {value}\n" for key, value in dispatch.items()),
    )
    routing = load_routing_text(text, str(path))
    for person in routing.people:
        if person.telegram_id:
            tg.add_user(person.telegram_id, first_name=person.name)
    tg.add_chat(routing.dispatch.chat_id, title="Dispatch")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def cards_by_ticket(tg: TelegramEmulator, chat_id: int) -> dict[str, int]:
    """How many card messages each ticket number has in the chat (deleted ones too)."""
    counts: dict[str, int] = {}
    for message in tg.messages(chat_id):
        match = _CARD.match(message.text)
        if match and message.from_id == tg.bot_id:
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


async def run_command(workdir: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run a short ``python -m modest ...`` command in ``workdir``; its exit code and output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "modest",
        *args,
        cwd=workdir,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")
