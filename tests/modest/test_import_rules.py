"""The direction of imports is enforced: ruff's TID251 fires on a banned import.

Each case is linted as if it were a new module in that package (``--stdin-filename``),
so the package's own ``ruff.toml`` and the root configuration it extends both apply.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.paths import REPO

ROOT = REPO

BANNED = [
    ("dispatch", "import aiogram"),
    ("dispatch", "from aiogram.types import Message"),
    ("dispatch", "import aiohttp"),
    ("dispatch", "import httpx"),
    ("dispatch", "from sqlalchemy.exc import IntegrityError"),
    ("dispatch", "from sqlmodel import select"),
    ("dispatch", "from bot.i18n import Texts"),
    ("dispatch", "from scheduler.jobs import JobRunner"),
    ("dispatch", "import modest.app"),
    ("connectors", "from dispatch.models import TicketData"),
    ("connectors", "from storage.db import Database"),
    ("connectors", "import bot.transport"),
    ("connectors", "from modest.web import WebhookConfig"),
    ("connectors", "from scheduler.housekeeping import prune"),
    ("storage", "from dispatch.models import TicketState"),
    ("storage", "from bot.delivery.sender import OutboxSender"),
    ("storage", "from modest.app import build_service"),
    ("storage", "from scheduler.jobs import JobRunner"),
    ("config", "from dispatch.views import Renderer"),
    ("config", "import bot"),
    ("config", "from modest.cli import main"),
    ("config", "from scheduler.jobs import JobKind"),
]

ALLOWED = [
    ("dispatch", "from storage.errors import ConflictError"),
    ("dispatch", "from connectors.base import HelpdeskConnector"),
    ("dispatch", "from config.routing import RoutingConfig"),
    ("connectors", "import httpx"),
    ("storage", "from sqlalchemy import select"),
    ("storage", "from config.routing import RoutingConfig"),
    ("bot", "from aiogram.types import Message"),
    ("bot", "from storage.db import Database"),
    ("scheduler", "from dispatch.models import TicketState"),
    ("modest", "from sqlalchemy import text"),
]


def lint(package: str, source: str) -> list[dict[str, object]]:
    """Ruff's findings for ``source`` as a module of ``package``."""
    done = subprocess.run(  # noqa: S603 - our own interpreter running ruff
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--output-format=json",
            f"--stdin-filename={package}/new_module.py",
            "-",
        ],
        input=f"{source}\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert done.returncode in (0, 1), done.stderr
    findings: list[dict[str, object]] = json.loads(done.stdout)
    return findings


def codes(findings: list[dict[str, object]]) -> set[object]:
    return {finding["code"] for finding in findings}


@pytest.mark.parametrize(("package", "source"), BANNED)
def test_a_banned_import_is_reported(package: str, source: str) -> None:
    findings = lint(package, source)
    banned = [f for f in findings if f["code"] == "TID251"]
    assert banned, findings
    assert "is banned" in str(banned[0]["message"])


@pytest.mark.parametrize(("package", "source"), ALLOWED)
def test_an_import_that_keeps_the_direction_passes(package: str, source: str) -> None:
    assert "TID251" not in codes(lint(package, source))


@pytest.mark.parametrize("package", ["dispatch", "connectors", "storage", "config"])
def test_a_package_config_keeps_the_root_rules(package: str) -> None:
    """A package's ruff.toml extends the root one: its other rules still apply there."""
    too_long = f"y = {'1' * 100}"
    assert "E501" in codes(lint(package, too_long))
