"""Inviting a client's user: ``modest portal invite`` and ``/invite`` in the bot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlmodel import select

from modest.cli import main
from storage.db import Database
from storage.models import OutboxRow
from storage.portal_models import PortalInviteRow, PortalUserRow
from tests.support.buttons import wait_message
from tests.support.portal import CLIENTS_YAML, DMITRY, portal_routing, running_portal
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator

IVAN = 1001


async def _rows(url: str) -> tuple[list[PortalUserRow], list[PortalInviteRow], list[OutboxRow]]:
    database = Database(url)
    try:
        async with database.unit_of_work() as uow:
            found = []
            for table in (PortalUserRow, PortalInviteRow, OutboxRow):
                found.append(list((await uow.session.execute(select(table))).scalars().all()))
    finally:
        await database.dispose()
    return found[0], found[1], found[2]  # type: ignore[return-value]


def test_modest_portal_invite_prints_the_link_last_and_queues_it_for_the_manager(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING_YAML + CLIENTS_YAML)
    url = f"sqlite+aiosqlite:///{tmp_path / 'modest.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODEST_CONFIG", str(routing))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("PORTAL_BASE_URL", raising=False)
    args = ["portal", "invite", "--client", "acme", "--email", "boss@acme.example"]
    assert main([*args, "--name", "Boris Orlov"]) == 1
    assert "PORTAL_BASE_URL" in capsys.readouterr().err
    monkeypatch.setenv("PORTAL_BASE_URL", "https://support.example/")
    assert main([*args, "--name", "Boris Orlov"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("https://support.example/portal/invite/")
    assert "sent to the client's manager" in lines[0]
    token = lines[-1].rsplit("/", 1)[1]
    users, invites, outbox = asyncio.run(_rows(url))
    assert [(u.client_key, u.email, u.name) for u in users] == [
        ("acme", "boss@acme.example", "Boris Orlov")
    ]
    assert len(invites) == 1
    assert token not in invites[0].token_hash  # only the digest is kept
    assert [row.chat_id for row in outbox] == [DMITRY]
    assert lines[-1] in outbox[0].payload["text"]
    assert main(["portal", "invite", "--client", "beta", "--email", "boss@acme.example"]) == 1
    assert "another client" in capsys.readouterr().err
    assert main(["portal", "invite", "--client", "gamma", "--email", "x@y.example"]) == 1


async def test_invite_in_the_bot_for_the_client_s_manager_only(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url):
        tg.send_text(IVAN, IVAN, "/invite acme boss@acme.example")
        await wait_message(tg, IVAN, "Only the client's manager and admins can invite.")
        for command, answer in (
            ("/invite acme", "Write the client and the e-mail"),
            ("/invite gamma boss@acme.example", "There is no client gamma in the routing file."),
            ("/invite acme not-an-address", "This is not an e-mail address: not-an-address"),
        ):
            tg.send_text(DMITRY, DMITRY, command)
            await wait_message(tg, DMITRY, answer)
            await asyncio.sleep(1.1)  # Telegram's one message a second in a private chat
        tg.send_text(DMITRY, DMITRY, "/invite acme boss@acme.example Boris Orlov")
        sent = await wait_message(tg, DMITRY, "Client cabinet: Acme Ltd")
        assert "Invitation for Boris Orlov (boss@acme.example)" in sent.text
        assert "http://portal.test/portal/invite/" in sent.text
        await asyncio.sleep(0.3)
        assert not any("is ready" in m.text for m in tg.messages(DMITRY))


async def test_invite_in_russian(tg: TelegramEmulator, sqlite_url: str) -> None:
    async with running_portal(tg, sqlite_url, routing=portal_routing("ru")):
        tg.send_text(IVAN, IVAN, "/invite acme boss@acme.example")
        await wait_message(tg, IVAN, "Приглашать могут только менеджер клиента и администраторы.")
        tg.send_text(DMITRY, DMITRY, "/invite acme boss@acme.example Борис Орлов")
        sent = await wait_message(tg, DMITRY, "Личный кабинет: Acme Ltd")
        assert "Приглашение для Борис Орлов (boss@acme.example)" in sent.text
