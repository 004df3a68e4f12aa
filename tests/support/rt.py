"""The real Request Tracker of ``../shared/services``: found or started once per session,
RT's own Perl API for what REST2 cannot do, and mail to RT as a requestor sends it."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

import httpx
import pytest

from tests.support.paths import REPO, SERVICES

RT_UP = SERVICES / "rt-up"
RT_ADMIN = REPO / "tests" / "support" / "rt_admin.pl"


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


def rt_admin(*args: str, password: str = "") -> list[str]:
    """Run ``rt_admin.pl`` as RT's server user; its output lines (the last is "ok")."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        reason = "these RT tests run RT's Perl API as www-data, which needs root"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    command = ["setpriv", "--reuid=www-data", "--regid=www-data", "--init-groups", "env", "-i"]
    command += ["PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8", f"RT_IT_PASSWORD={password}"]
    result = subprocess.run(  # noqa: S603 - fixed programs, arguments of these tests
        [*command, "perl", "-", *args],
        input=RT_ADMIN.read_text(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stderr[-2000:]
    assert lines[-1:] == ["ok"], result.stderr[-2000:]
    return lines[:-1]


async def mail_to_rt(
    server: RtServer, *, queue: str, ticket_id: str, sender: str, subject: str, text: str
) -> None:
    """A requestor's mail about a ticket, handed to RT as ``rt-mailgate`` hands it.

    The Requestor role needs the right to reply in ``queue`` (``rt_admin.pl
    requestors-reply``); RT records the mail as a Correspond transaction by the sender.
    """
    message = (
        f"From: {sender}\nTo: rt@localhost\nSubject: [rt.localhost #{ticket_id}] {subject}\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
        f"{text}\n"
    )
    form = {"queue": queue, "action": "correspond", "message": message}
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(f"{server.url}/REST/1.0/NoAuth/mail-gateway", data=form)
    assert answer.status_code == 200, answer.text
    assert answer.text.startswith("ok"), answer.text
