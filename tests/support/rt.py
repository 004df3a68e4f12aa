"""The real Request Tracker of ``../shared/services``: found or started once per session."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

import pytest

from tests.support.paths import SERVICES

RT_UP = SERVICES / "rt-up"


@dataclass(frozen=True)
class RtServer:
    """What ``rt-up`` prints."""

    url: str
    user: str
    password: str
    token: str


def start_rt() -> RtServer:
    """The real RT on loopback, started or found running; skips (fails in CI) without it."""
    if not RT_UP.exists():
        pytest.skip(f"{RT_UP} not found: no real Request Tracker to test against")
    result = subprocess.run(  # noqa: S603 - a fixed script beside the checkout
        [str(RT_UP)], capture_output=True, text=True, timeout=900, check=False
    )
    if result.returncode != 0:
        reason = f"rt-up failed with exit code {result.returncode}: {result.stderr[-2000:]}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (the RT tests must run in CI)")
        pytest.skip(reason)
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return RtServer(values["RT_URL"], values["RT_USER"], values["RT_PASSWORD"], values["RT_TOKEN"])


@pytest.fixture(scope="session")
def rt_server() -> RtServer:
    """The real RT, once per session (a shared fixture, see ``tests/conftest.py``)."""
    return start_rt()
