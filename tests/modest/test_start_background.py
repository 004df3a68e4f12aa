"""What a start leaves for later: /healthz and webhooks do not wait for it.

``ModestService.start`` serves HTTP first; building aiogram's models and setting the
command menus happen in the background afterwards (``modest.warming``), and what the
first request does not need is not imported by ``modest run`` at all.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

import modest.app
from config.routing import RoutingConfig
from tests.support.harness import running_modest, ticket_body
from tests.support.processes import ModestProcess, service_env, write_routing
from tests.support.telegram_emulator import TelegramEmulator

DISPATCH = -1001234567890


async def test_healthz_and_webhooks_do_not_wait_for_the_warming(
    tg: TelegramEmulator,
    routing: RoutingConfig,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = asyncio.Event()
    real = modest.app.warm_in_background

    async def held(pinned: list[object], *, webhook: bool) -> float:
        await gate.wait()  # the warming is still going on until the test says so
        return await real(pinned, webhook=webhook)

    monkeypatch.setattr(modest.app, "warm_in_background", held)
    async with running_modest(tg, routing, sqlite_url, wait_settled=False) as h:
        settled = asyncio.ensure_future(h.service.settled())
        health = await h.http.get("/healthz")
        assert (health.status_code, health.json()["status"]) == (200, "ok")
        answer = await h.post_generic(ticket_body("41"))
        assert answer.status_code == 200
        card = await h.card()
        assert card.text.startswith("#A-41 ")
        assert not settled.done()
        assert not [call for call in tg.calls if call.method == "setMyCommands"]
        gate.set()
        await asyncio.wait_for(settled, timeout=30)
        # Then the models are built and kept, and the menus are set.
        assert h.service.pinned_types
        assert [call for call in tg.calls if call.method == "setMyCommands"]


async def test_a_warming_that_fails_costs_nothing_but_the_warming(
    tg: TelegramEmulator,
    routing: RoutingConfig,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(pinned: list[object], *, webhook: bool) -> float:
        raise RuntimeError("pydantic changed")

    monkeypatch.setattr(modest.app, "warm_in_background", broken)
    async with running_modest(tg, routing, sqlite_url) as h:  # settles all the same
        assert [call for call in tg.calls if call.method == "setMyCommands"]
        await h.post_generic(ticket_body("42"))
        assert (await h.card()).text.startswith("#A-42 ")
    # stop() went through as well (the harness stopped the service without an error)


async def test_a_real_start_builds_the_models_after_it_is_up(
    tg: TelegramEmulator, tmp_path: Path
) -> None:
    routing = write_routing(tmp_path / "routing.yaml", tg)
    env = service_env(tg, f"sqlite+aiosqlite:///{tmp_path / 'modest.db'}", routing)
    modest_run = ModestProcess("modest", tmp_path / "run", env)
    try:
        await modest_run.start()  # returns once /healthz answers 200
        for _ in range(300):
            if modest_run.events("modest.warmed"):
                break
            await asyncio.sleep(0.1)
        events = [
            json.loads(line).get("event")
            for line in modest_run.log_path.read_text().splitlines()
            if line.startswith("{")
        ]
    finally:
        await modest_run.stop()
        await modest_run.aclose()
    assert "modest.warmed" in events, modest_run.log_tail()
    assert events.index("modest.started") < events.index("modest.warmed")
    assert modest_run.events("modest.warmed")[0]["seconds"] > 0


LEFT_OUT = (
    "asyncpg",  # PostgreSQL only
    "sqlalchemy.dialects.postgresql",
    "jinja2",  # the client cabinet, only when it is on
    "argon2",
    "cabinet.app",
    "storage.portal_models",
    "modest.config_check",  # check-config, report, history, stats
    "aiogram.webhook",  # a Telegram webhook, not long polling
    "alembic",  # only when a migration runs
    "matplotlib",  # the first chart
    "reportlab",  # the first PDF
)
PROBE = f"""
import json, sys
import modest.commands, modest.startup, modest.app, modest.warming
print(json.dumps(sorted(name for name in {LEFT_OUT!r} if name in sys.modules)))
"""


def test_what_a_service_on_sqlite_does_not_import() -> None:
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []
