"""The real Redmine 5 of ``../shared/services``: the server, and REST calls as its admin."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.paths import SERVICES

REDMINE_UP = SERVICES / "redmine-up"


@dataclass(frozen=True)
class RedmineServer:
    """What ``redmine-up`` prints."""

    url: str
    api_key: str


@pytest.fixture(scope="session")
def redmine_server() -> RedmineServer:
    """The real Redmine on loopback, started (or found running) once per session."""
    if not REDMINE_UP.exists():
        pytest.skip(f"{REDMINE_UP} not found: no real Redmine to test against")
    result = subprocess.run(  # noqa: S603 - a fixed script of this checkout
        [str(REDMINE_UP)], capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode != 0:
        reason = f"redmine-up failed with exit code {result.returncode}: {result.stderr[-2000:]}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (the Redmine tests must run in CI)")
        pytest.skip(reason)
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return RedmineServer(values["REDMINE_URL"], values["REDMINE_API_KEY"])


class RedmineApi:
    """REST calls a developer would make in Redmine, straight to the server (not Modest's)."""

    def __init__(self, server: RedmineServer) -> None:
        self.client = httpx.AsyncClient(
            base_url=server.url, headers={"X-Redmine-API-Key": server.api_key}, timeout=10
        )
        self.created: list[str] = []

    async def get(self, path: str) -> Any:
        answer = await self.client.get(path)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def update(self, issue_id: str, **fields: Any) -> None:
        answer = await self.client.put(f"/issues/{issue_id}.json", json={"issue": fields})
        assert answer.status_code == 204, answer.text

    async def status_ids(self) -> tuple[int, int]:
        """(an open status, a closed one), found by ``is_closed`` since ids differ per install."""
        statuses = (await self.get("/issue_statuses.json"))["issue_statuses"]
        opened = next(s["id"] for s in statuses if not s.get("is_closed"))
        closed = next(s["id"] for s in statuses if s.get("is_closed"))
        return opened, closed


@pytest.fixture
async def redmine_api(redmine_server: RedmineServer) -> AsyncIterator[RedmineApi]:
    """Redmine as its admin; the issues a test creates are deleted when it ends."""
    api = RedmineApi(redmine_server)
    yield api
    for issue_id in api.created:
        await api.client.delete(f"/issues/{issue_id}.json")
    await api.client.aclose()
