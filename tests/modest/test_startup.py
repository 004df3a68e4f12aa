"""Start-up errors are one clear line and exit 1; ``modest doctor`` and ``check-config`` agree.

``modest run`` runs in a thread (it owns its event loop) against the Telegram emulator
and the fake HelpDeskEddy portal of this test's loop.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.support.helpdeskeddy_fake import HelpDeskEddyFake
from tests.support.startup import DISPATCH, clean_env, configure, free_port, hde, run_fails
from tests.support.telegram_emulator import TelegramEmulator

__all__ = ["clean_env", "hde"]  # fixtures of tests.support.startup


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
    configure(monkeypatch, tmp_path, tg, TELEGRAM_API_BASE=f"http://127.0.0.1:{free_port()}")
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
