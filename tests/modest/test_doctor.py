"""``modest doctor`` lists every check with what to fix; ``check-config`` agrees with ``run``."""

from __future__ import annotations

from pathlib import Path

import pytest

from modest.cli import main
from tests.support.helpdeskeddy_fake import HelpDeskEddyFake
from tests.support.routing import ROUTING_YAML
from tests.support.startup import DISPATCH, clean_env, configure, hde, modest
from tests.support.telegram_emulator import TelegramEmulator

__all__ = ["clean_env", "hde"]  # fixtures shared with the start-up tests


async def test_doctor_lists_every_check_and_what_to_fix(
    tg: TelegramEmulator,
    hde: HelpDeskEddyFake,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tg.add_chat(DISPATCH, title="Dispatch")
    path = configure(
        monkeypatch,
        tmp_path,
        tg,
        routing=ROUTING_YAML.replace("roles: [specialist]\n", "roles: [specialist, admin]\n"),
        HELPDESKEDDY_URL=hde.base_url,
        HELPDESKEDDY_EMAIL=hde.email,
        HELPDESKEDDY_API_KEY=hde.api_key,
        HELPDESK_WEBHOOK_SECRET="",
    )
    code, _, out = await modest("doctor")
    lines = out.splitlines()
    assert code == 0, lines
    assert lines == [
        f"✓ routing file: {path}",
        "! HELPDESK_WEBHOOK_SECRET: not set: every helpdesk webhook will be refused (401);"
        " set it and give the helpdesk the same value",
        "✓ DATABASE_URL: SQLite, schema empty: migrations will run",
        lines[3],
        "✓ TELEGRAM_BOT_TOKEN: @modest_test_bot",
        f"✓ dispatch.chat_id: {DISPATCH} (Dispatch)",
        "✓ helpdesk (helpdeskeddy): HelpDeskEddy accepts the credentials",
        "✓ admins: Anna Smirnova",
        "Modest is ready: `modest run`.",
    ]
    assert lines[3].startswith("✓ HTTP_PORT: 127.0.0.1:")
    assert hde.requests_to("GET", "/departments/"), "the key was really tried"

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:REVOKED")
    monkeypatch.setenv("HELPDESKEDDY_API_KEY", "wrong-key")
    code, _, out = await modest("doctor")
    lines = out.splitlines()
    assert code == 1
    assert "✗ TELEGRAM_BOT_TOKEN: Telegram refuses the token (mistyped or revoked);" in lines[4]
    assert not any(line.startswith("✓ dispatch.chat_id") for line in lines)
    assert lines[5].startswith("✗ helpdesk (helpdeskeddy): HelpDeskEddy refuses the credentials: ")
    assert lines[-1] == "Fix the ✗ lines, then run `modest doctor` again."


async def test_doctor_without_a_token_still_checks_the_routing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(ROUTING_YAML.replace("members: [ivan, olga]", "members: [ivan, olgaa]"))
    monkeypatch.setenv("MODEST_CONFIG", str(path))
    code, _, out = await modest("doctor")
    lines = out.splitlines()
    assert code == 1
    assert lines == [
        "✗ settings: TELEGRAM_BOT_TOKEN: required, set it in the environment or .env",
        f"✗ routing file: {path}:9: departments[support].members[1]: unknown person 'olgaa';"
        " did you mean 'olga'?",
        "Fix the ✗ lines, then run `modest doctor` again.",
    ]


def test_check_config_checks_the_settings_the_routing_file_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(
        ROUTING_YAML.replace("language: en\n", "language: en\nhelpdesk:\n  kind: helpdeskeddy\n")
    )
    assert main(["check-config", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:4: helpdesk.kind: is helpdeskeddy, but HELPDESKEDDY_URL, HELPDESKEDDY_EMAIL"
        " and HELPDESKEDDY_API_KEY are not set"
    ]
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("MODEST_CONFIG", str(path))
    assert main(["run"]) == 1, "run gives the same verdict"
    assert "HELPDESKEDDY_URL" in capsys.readouterr().err

    monkeypatch.setenv("HELPDESKEDDY_URL", "https://acme.helpdeskeddy.test/api/v2")
    assert main(["check-config", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "environment: HELPDESKEDDY_EMAIL, HELPDESKEDDY_API_KEY: required when HELPDESKEDDY_URL"
        " is set (set all three HELPDESKEDDY_* variables or none)",
        f"{path}:4: helpdesk.kind: is helpdeskeddy, but HELPDESKEDDY_EMAIL"
        " and HELPDESKEDDY_API_KEY are not set",
    ]
    monkeypatch.setenv("HELPDESKEDDY_EMAIL", "bot@acme.test")
    monkeypatch.setenv("HELPDESKEDDY_API_KEY", "key")
    assert main(["check-config", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: OK\n"
