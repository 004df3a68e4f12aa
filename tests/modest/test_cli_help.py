"""``modest --help`` answers at once and every command documents its options and defaults."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from modest.cli import _parser
from tests.support.paths import REPO

EXAMPLE = REPO / "config" / "routing.example.yaml"
HEAVY = ("aiogram", "sqlalchemy", "sqlmodel", "alembic", "asyncpg", "reportlab")
PROBE = """
import contextlib, io, json, sys
from modest.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
heavy = sorted(name for name in {heavy!r} if name in sys.modules)
print(json.dumps({{"code": code, "heavy": heavy, "out": out.getvalue()}}))
"""


def _probe(*args: str) -> dict[str, object]:
    done = subprocess.run(  # noqa: S603 - this interpreter, our own arguments
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    "args",
    [("--help",), ("run", "--help"), ("check-config", str(EXAMPLE))],
    ids=["help", "run-help", "check-config"],
)
def test_help_and_check_config_import_neither_aiogram_nor_sqlalchemy(args: tuple[str]) -> None:
    result = _probe(*args)
    assert result["code"] == 0, result
    assert result["heavy"] == []


def test_run_help_points_to_the_env_example() -> None:
    text = str(_probe("run", "--help")["out"])
    assert ".env.example" in " ".join(text.split())
    assert "modest doctor" in text


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = _parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_command_and_option_is_documented_with_its_default() -> None:
    commands = _commands()
    assert set(commands) == {
        *("run", "migrate", "doctor", "check-config", "report", "history"),
        *("stats", "portal"),
    }
    portal = next(
        a for a in commands["portal"]._actions if isinstance(a, argparse._SubParsersAction)
    )
    commands.update({f"portal {name}": command for name, command in portal.choices.items()})
    for name, command in commands.items():
        assert command.description, f"{name} has no description"
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.dest} has no help"
            has_default = action.default not in (None, False) or action.nargs == "?"
            if has_default:
                assert "default:" in action.help, f"{name} {action.dest}: default not shown"
    for name in ("run", "migrate", "doctor"):
        assert ".env.example" in (commands[name].epilog or ""), name
