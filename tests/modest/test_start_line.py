"""The start line says what this instance is wired to; migrations say one line, not twenty."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest

from tests.support.startup import DISPATCH, clean_env, configure
from tests.support.telegram_emulator import TelegramEmulator

__all__ = ["clean_env"]  # the fixture shared with the start-up tests


async def _lines_until(stream: asyncio.StreamReader, event: str) -> list[dict[str, object]]:
    lines: list[dict[str, object]] = []
    while True:
        raw = await asyncio.wait_for(stream.readline(), timeout=60)
        assert raw, f"the output ended before {event}: {lines}"
        lines.append(json.loads(raw))
        if lines[-1]["event"] == event:
            return lines


async def test_the_start_line_names_bot_chat_routing_helpdesk_database_and_updates(
    tg: TelegramEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tg.add_chat(DISPATCH, title="Support dispatch")
    routing = configure(monkeypatch, tmp_path, tg, LOG_LEVEL="INFO")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "modest",
        "run",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        lines = await _lines_until(process.stdout, "modest.started")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err
    started = lines[-1]
    assert started["bot"] == "@modest_test_bot"
    assert started["dispatch_chat"] == f"{DISPATCH} (Support dispatch)"
    assert started["routing"] == str(routing)
    assert started["helpdesk"] == "generic"
    assert started["database"] == "sqlite"
    assert started["updates"] == "long polling"
    assert not [line for line in lines if str(line.get("logger", "")).startswith("alembic")]
    migrated = [line for line in lines if line["event"] == "storage.migrated"]
    assert migrated == [migrated[0]]
    assert migrated[0]["from_revision"] is None
    assert migrated[0]["level"] == "info"
