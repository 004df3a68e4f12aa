"""Running the ``modest`` command as an operator does: settings, a routing file, its output.

Fixtures here (``clean_env``, ``hde``) are imported by the start-up, doctor and start-line tests.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from config.settings import Settings
from tests.support.helpdeskeddy_fake import HelpDeskEddyFake
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator

DISPATCH = -1001234567890


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout


@pytest.fixture
async def hde() -> AsyncIterator[HelpDeskEddyFake]:
    async with HelpDeskEddyFake() as fake:
        yield fake


def configure(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    tg: TelegramEmulator,
    *,
    routing: str = ROUTING_YAML,
    **variables: str,
) -> Path:
    """Settings and a routing file as an operator writes them; returns the routing file."""
    path = tmp_path / "routing.yaml"
    path.write_text(routing, encoding="utf-8")
    defaults = {
        "TELEGRAM_BOT_TOKEN": tg.token,
        "TELEGRAM_API_BASE": tg.base_url,
        "MODEST_CONFIG": str(path),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'modest.db'}",
        "HTTP_PORT": str(free_port()),
        "HELPDESK_WEBHOOK_SECRET": "hook-secret",
        "LOG_FORMAT": "json",
    }
    for name, value in {**defaults, **variables}.items():
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def modest(*args: str) -> tuple[int, str, str]:
    """Run the ``modest`` command as an operator does: exit code, stderr, stdout."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "modest",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode is not None
    return process.returncode, err.decode(), out.decode()


async def run_fails(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """``modest run`` must stop by itself with exit 1; its stderr and stdout."""
    code, err, out = await modest("run")
    assert code == 1, (err, out)
    assert "Traceback" not in err + out
    return err, out
