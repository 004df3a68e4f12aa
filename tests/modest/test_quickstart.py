"""The README's quick start, followed as written on a fresh copy of the checkout.

The only stand-ins are the ones a trial needs anyway: the Telegram Bot API emulator
(``TELEGRAM_API_BASE``) instead of Telegram, and a group and a person who write
``/whoami`` to the bot. ``make install`` really builds the copy's own ``.venv``.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support.buttons import wait_message
from tests.support.paths import REPO
from tests.support.telegram_emulator import TelegramEmulator

ROOT = REPO
GROUP, MARIA = -1005550001, 7001
SECRET = "trial-secret"


def quick_start_blocks() -> list[list[str]]:
    """The shell blocks of the README's quick start, one command a line."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    commands: list[list[str]] = []
    for block in blocks:
        joined = block.replace("\\\n", " ")
        lines = [line.split("  #")[0].strip() for line in joined.splitlines()]
        commands.append([line for line in lines if line and not line.startswith("#")])
    return commands


def fresh_copy(target: Path) -> Path:
    """The checkout's files as a clone of it has them (tracked and new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def set_values(path: Path, **values: str) -> None:
    """Edit ``NAME=value`` lines of .env, as the operator does."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for name, value in values.items():
        lines = [f"{name}={value}" if line.startswith(f"{name}=") else line for line in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def shell(command: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_shell(
        command,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    assert process.returncode is not None
    return process.returncode, out.decode()


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
async def test_the_quick_start_works_as_written(tg: TelegramEmulator, tmp_path: Path) -> None:
    install, (curl,) = quick_start_blocks()
    assert install[0] == "make install"
    assert install[-1] == ".venv/bin/modest doctor"
    copy = fresh_copy(tmp_path / "modest")
    home = os.environ.get("HOME", str(tmp_path))
    env = {"PATH": os.environ["PATH"], "HOME": home, "LANG": "C.UTF-8"}
    for command in install[:-1]:
        code, out = await shell(command, copy, env)
        assert code == 0, (command, out)

    # Step 3's edits: the token (here the emulator's), the webhook secret, a free port.
    port = _free_port()
    set_values(
        copy / ".env",
        TELEGRAM_BOT_TOKEN=tg.token,
        TELEGRAM_API_BASE=tg.base_url,
        HELPDESK_WEBHOOK_SECRET=SECRET,
        HTTP_PORT=str(port),
    )
    # Step 2 and 4: the bot is in the group, someone sends /whoami there.
    tg.add_chat(GROUP, title="Trial dispatch")
    tg.add_user(MARIA, first_name="Maria")
    tg.send_text(GROUP, MARIA, "/whoami")
    code, out = await shell(install[-1], copy, env)
    assert code == 1, out
    assert "✗ dispatch.chat_id: -1001234567890: the bot is not a member of this chat" in out
    listed = re.search(r"! ids: chats and people that wrote to the bot: (.*)", out)
    assert listed is not None, out
    group_id = next(
        part.split()[0] for part in listed.group(1).split("; ") if "Trial dispatch" in part
    )
    assert group_id == str(GROUP)
    routing = copy / "config" / "routing.yaml"
    text = routing.read_text(encoding="utf-8").replace(
        "chat_id: -1001234567890", f"chat_id: {group_id}"
    )
    routing.write_text(text, encoding="utf-8")
    code, out = await shell(install[-1], copy, env)
    assert code == 0, out
    assert out.splitlines()[-1] == "Modest is ready: `modest run`."

    # Step 5: run it and post the ticket with the README's own curl command.
    assert "Run it** with `.venv/bin/modest run`" in (ROOT / "README.md").read_text()
    service = await asyncio.create_subprocess_exec(
        *shlex.split(".venv/bin/modest run"),
        cwd=copy,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        post = curl.replace("<HELPDESK_WEBHOOK_SECRET>", SECRET).replace(":8080/", f":{port}/")
        for _ in range(120):
            code, answer = await shell(f"{post} --silent --fail", copy, env)
            if code == 0:
                break
            await asyncio.sleep(0.5)
        assert code == 0, answer
        assert '"accepted"' in answer
        card = await wait_message(tg, GROUP, "T-1", timeout=20)
        assert "Printer on fire" in card.text
        assert [b[0] for b in tg.buttons(GROUP, card.message_id)][:2] == [
            "Сопровождение",
            "Разработка",
        ]
    finally:
        service.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(service.communicate(), timeout=60)
    assert service.returncode == 0, err
