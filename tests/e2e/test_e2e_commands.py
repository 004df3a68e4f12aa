"""/whoami, /start for strangers, /help by role, and the command menus in both languages."""

from __future__ import annotations

import pytest

from config.routing import RoutingConfig, load_routing_text
from tests.support.buttons import wait_message
from tests.support.harness import running_modest
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator

DISPATCH = -1001234567890
IVAN, ANNA, STRANGER = 1001, 1004, 5555


def names(lines: str) -> list[str]:
    """The commands a /help answer lists."""
    return [line.split(" — ")[0] for line in lines.splitlines()[1:]]


async def test_whoami_start_and_help_by_role(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    tg.add_user(STRANGER, first_name="Stranger")
    async with running_modest(tg, routing, sqlite_url) as h:
        tg.send_text(STRANGER, STRANGER, "/start")
        hello = await wait_message(tg, STRANGER, "Hello")
        assert hello.text == (
            "Hello! I don't know you yet. Give an admin your Telegram id 5555:"
            " it goes into the routing file as telegram_id."
        )
        tg.send_text(STRANGER, STRANGER, "/whoami")
        who = await wait_message(tg, STRANGER, "Your Telegram id")
        assert who.text == (
            "Your Telegram id: 5555\nThis chat's id: 5555\n"
            "You are not in the routing file yet: an admin adds you with telegram_id: 5555."
        )
        tg.send_text(DISPATCH, IVAN, "/id")
        ivan = await wait_message(tg, DISPATCH, "Your Telegram id")
        assert ivan.text == (
            f"Your Telegram id: 1001\nThis chat's id: {DISPATCH}\n"
            "In the routing file you are Ivan Petrov (dispatcher, specialist)."
        )

        tg.send_text(DISPATCH, IVAN, "/help")
        group = await wait_message(tg, DISPATCH, "What I can do here")
        assert names(group.text) == ["/help", "/whoami", "/queue", "/missing", "/history"]
        assert "/queue — Unassigned tickets, oldest first" in group.text
        tg.send_text(ANNA, ANNA, "/help")
        anna = await wait_message(tg, ANNA, "What I can do here")
        assert names(anna.text) == ["/start", "/help", "/whoami", "/history", "/mine"]
        tg.send_text(STRANGER, STRANGER, "/help")
        stranger = await wait_message(tg, STRANGER, "What I can do here")
        assert names(stranger.text) == ["/start", "/help", "/whoami"]
        assert h.service.commands is not None


async def test_menus_per_scope_in_both_languages(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, routing, sqlite_url):
        await tg.wait_for(lambda: len(tg.my_commands) == 6)
    private = tg.my_commands[("all_private_chats", "")]
    assert [c["command"] for c in private] == ["start", "help", "whoami", "history", "mine"]
    assert private[0]["description"] == "Receive your tickets in this chat"
    assert tg.my_commands[("all_private_chats", "ru")] == [
        {"command": "start", "description": "Получать здесь назначенные вам заявки"},
        {"command": "help", "description": "Что я умею"},
        {"command": "whoami", "description": "Ваш Telegram id и id этого чата"},
        {"command": "history", "description": "История заявки: /history 4101"},
        {"command": "mine", "description": "Мои открытые заявки"},
    ]
    assert tg.my_commands[("all_private_chats", "en")] == private
    group = tg.my_commands[("chat", "ru")]
    assert [c["command"] for c in group] == ["help", "whoami", "queue", "missing", "history"]
    assert group[2]["description"] == "Нераспределённые заявки, сначала старые"
    assert group[3]["description"] == "Закрытые заявки, по которым не указано время"
    scope = next(
        c for c in tg.calls if c.method == "setMyCommands" and c.params["scope"]["type"] == "chat"
    )
    assert scope.params["scope"]["chat_id"] == DISPATCH


@pytest.fixture
def ru_routing() -> RoutingConfig:
    return load_routing_text(ROUTING_YAML.replace("language: en", "language: ru"))


async def test_russian_answers(
    tg: TelegramEmulator, ru_routing: RoutingConfig, sqlite_url: str
) -> None:
    tg.add_user(STRANGER, first_name="Stranger")
    async with running_modest(tg, ru_routing, sqlite_url):
        tg.send_text(STRANGER, STRANGER, "/start")
        hello = await wait_message(tg, STRANGER, "Здравствуйте")
        assert hello.text == (
            "Здравствуйте! Я вас пока не знаю. Передайте администратору ваш Telegram id 5555"
            " — его впишут в файл маршрутизации как telegram_id."
        )
        tg.send_text(DISPATCH, IVAN, "/whoami")
        who = await wait_message(tg, DISPATCH, "Ваш Telegram id")
        assert who.text == (
            f"Ваш Telegram id: 1001\nId этого чата: {DISPATCH}\n"
            "В файле маршрутизации вы — Ivan Petrov (dispatcher, specialist)."
        )
        tg.send_text(ANNA, ANNA, "/help")
        anna = await wait_message(tg, ANNA, "Что я умею в этом чате")
        assert anna.text.splitlines()[1:] == [
            "/start — Получать здесь назначенные вам заявки",
            "/help — Что я умею",
            "/whoami — Ваш Telegram id и id этого чата",
            "/history — История заявки: /history 4101",
            "/mine — Мои открытые заявки",
        ]
        tg.send_text(STRANGER, STRANGER, "/whoami")
        stranger = await wait_message(tg, STRANGER, "Ваш Telegram id")
        assert stranger.text.endswith(
            "Вас пока нет в файле маршрутизации: администратор добавит вас с telegram_id: 5555."
        )
