"""The ``modest`` command: check-config, migrate, and run's configuration errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from modest.cli import main
from tests.support.paths import REPO
from tests.support.routing import ROUTING_YAML

ENV_VARS = ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "MODEST_CONFIG", "HELPDESKEDDY_URL")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout


def test_check_config_prints_each_problem_with_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(ROUTING_YAML.replace("timezone: Europe/Moscow", "timezone: Europe/Moskva"))
    assert main(["check-config", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:1: timezone: unknown time zone 'Europe/Moskva'"
    ]
    path.write_text(ROUTING_YAML.replace("members: [ivan, olga]", "members: [ivan, olgaa]"))
    assert main(["check-config", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{path}:9: departments[support].members[1]: unknown person 'olgaa'; did you mean 'olga'?"
    ]


def test_check_config_of_the_example_file_is_ok(capsys: pytest.CaptureFixture[str]) -> None:
    example = REPO / "config" / "routing.example.yaml"
    assert main(["check-config", str(example)]) == 0
    assert capsys.readouterr().out.strip().endswith(": OK")


def test_check_config_uses_modest_config_without_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "elsewhere.yaml"
    path.write_text(ROUTING_YAML)
    monkeypatch.setenv("MODEST_CONFIG", str(path))
    assert main(["check-config"]) == 0
    assert str(path) in capsys.readouterr().out


def test_run_without_a_token_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "TELEGRAM_BOT_TOKEN" in err


def test_run_with_a_bad_routing_file_names_the_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(ROUTING_YAML + "surprise: 1\n")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("MODEST_CONFIG", str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    assert main(["run"]) == 1
    assert "surprise: unknown key" in capsys.readouterr().err


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names


def test_migrate_creates_the_schema_and_is_idempotent(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0
    tables = asyncio.run(_tables(db_url))
    assert {"ticket", "outbox", "telegram_message", "job", "webhook_delivery"} <= tables
    assert "alembic_version" in tables
