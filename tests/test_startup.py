"""Start-up errors are one clear line and exit 1; ``modest doctor`` and ``check-config`` agree.

``modest run`` runs in a thread (it owns its event loop) against the Telegram emulator
and the fake HelpDeskEddy portal of this test's loop.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from config.settings import Settings
from tests.conftest import ROUTING_YAML
from tests.support.helpdeskeddy_fake import HelpDeskEddyFake
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
        "HTTP_PORT": str(_free_port()),
        "HELPDESK_WEBHOOK_SECRET": "hook-secret",
        "LOG_FORMAT": "json",
    }
    for name, value in {**defaults, **variables}.items():
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    return path


def _free_port() -> int:
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


async def test_a_token_telegram_refuses_is_one_line(
    tg: TelegramEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(monkeypatch, tmp_path, tg, TELEGRAM_BOT_TOKEN="123456:REVOKED")
    err, _ = await run_fails(capsys)
    assert err == (
        "modest: TELEGRAM_BOT_TOKEN: Telegram refuses the token (mistyped or revoked);"
        " copy it again from @BotFather\n"
    )


async def test_telegram_out_of_reach_is_one_line(
    tg: TelegramEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(monkeypatch, tmp_path, tg, TELEGRAM_API_BASE=f"http://127.0.0.1:{_free_port()}")
    err, _ = await run_fails(capsys)
    assert err.startswith("modest: TELEGRAM_API_BASE: cannot reach Telegram: ")
    assert err.count("\n") == 1


async def test_a_dispatch_chat_without_the_bot_and_an_empty_webhook_secret(
    tg: TelegramEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(monkeypatch, tmp_path, tg, HELPDESK_WEBHOOK_SECRET="")
    err, out = await run_fails(capsys)
    assert err == (
        f"modest: dispatch.chat_id: {DISPATCH}: the bot is not a member of this chat;"
        " add @modest_test_bot to the group, or fix the id (send /whoami in the group,"
        " then `modest doctor` lists it)\n"
    )
    warnings = [json.loads(line) for line in out.splitlines() if '"modest.check"' in line]
    assert [(w["level"], w["check"]) for w in warnings] == [
        ("warning", "HELPDESK_WEBHOOK_SECRET"),
        ("warning", "admins"),
    ]
    assert "every helpdesk webhook will be refused" in warnings[0]["problem"]


async def test_a_port_in_use_is_one_line(
    tg: TelegramEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tg.add_chat(DISPATCH, title="Dispatch")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        configure(monkeypatch, tmp_path, tg, HTTP_PORT=str(port))
        err, _ = await run_fails(capsys)
    assert err == (
        f"modest: HTTP_PORT: 127.0.0.1:{port} is already in use (another Modest?);"
        " stop it or set HTTP_PORT\n"
    )


async def test_a_helpdesk_that_refuses_the_key_stops_the_start(
    tg: TelegramEmulator,
    hde: HelpDeskEddyFake,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tg.add_chat(DISPATCH, title="Dispatch")
    configure(
        monkeypatch,
        tmp_path,
        tg,
        HELPDESKEDDY_URL=hde.base_url,
        HELPDESKEDDY_EMAIL=hde.email,
        HELPDESKEDDY_API_KEY="wrong-key",
    )
    err, _ = await run_fails(capsys)
    assert err.startswith(
        "modest: helpdesk (helpdeskeddy): HelpDeskEddy refuses the credentials: "
        "HelpDeskEddy GET departments/: HTTP 401"
    )
    assert err.count("\n") == 1


@pytest.mark.postgres
async def test_a_postgresql_database_that_does_not_exist_is_one_line(
    tg: TelegramEmulator,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/modest_never_created"
    configure(monkeypatch, tmp_path, tg, DATABASE_URL=missing)
    err, _ = await run_fails(capsys)
    assert err == (
        'modest: DATABASE_URL: database "modest_never_created" does not exist;'
        " create it first (createdb modest_never_created)\n"
    )
