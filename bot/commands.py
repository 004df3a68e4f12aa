"""The bot's commands: who may use each, where, and how they are described.

One list drives ``/help`` (the commands for the asker's roles in this chat) and
the menus registered with ``setMyCommands`` (private chats, the dispatch group),
in both languages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Flag, auto

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat

from bot.i18n import LANGUAGES, Texts
from config.routing import Person, Role


class Where(Flag):
    """Which chats a command is for."""

    PRIVATE = auto()
    DISPATCH = auto()
    BOTH = PRIVATE | DISPATCH


@dataclass(frozen=True, slots=True)
class BotCommandSpec:
    """One command: its name, its description (a msgid), where, and for whom."""

    name: str
    description: str
    where: Where
    #: Who may use it; empty: everyone, even people the routing file does not know.
    roles: frozenset[Role] = frozenset()
    #: Only with a task tracker configured.
    tracker: bool = False
    #: Only with SLA policies configured (``sla:`` in the routing file).
    sla: bool = False


_STAFF = frozenset(Role)
_DISPATCHING = frozenset({Role.DISPATCHER, Role.LEAD, Role.ADMIN})


def _d(text: str) -> str:
    """Marks a command description for translation; it is translated where it is shown."""
    return text


COMMANDS: tuple[BotCommandSpec, ...] = (
    BotCommandSpec("start", _d("Receive your tickets in this chat"), Where.PRIVATE),
    BotCommandSpec("help", _d("What I can do for you"), Where.BOTH),
    BotCommandSpec("whoami", _d("Your Telegram id and this chat's id"), Where.BOTH),
    BotCommandSpec("queue", _d("Unassigned tickets, oldest first"), Where.DISPATCH, _DISPATCHING),
    BotCommandSpec(
        "missing", _d("Closed tickets still without time"), Where.DISPATCH, _DISPATCHING
    ),
    BotCommandSpec(
        "sla", _d("Tickets near or past their SLA targets"), Where.DISPATCH, _DISPATCHING, sla=True
    ),
    BotCommandSpec("history", _d("A ticket's history: /history 4101"), Where.BOTH, _STAFF),
    BotCommandSpec("mine", _d("My open tickets"), Where.PRIVATE, _STAFF),
    BotCommandSpec("tasks", _d("My developer tasks"), Where.PRIVATE, _STAFF, tracker=True),
)


class CommandMenu:
    """The commands a person may use in a chat, described in a language."""

    def __init__(self, *, tracker: bool, sla: bool = False) -> None:
        self._tracker = tracker
        self._sla = sla

    def available(self, person: Person | None, *, private: bool) -> list[BotCommandSpec]:
        """What ``person`` (None: unknown) may use in a private chat or the dispatch group."""
        where = Where.PRIVATE if private else Where.DISPATCH
        roles = person.roles if person is not None else frozenset()
        return [
            spec
            for spec in self._offered()
            if where in spec.where and (not spec.roles or spec.roles & roles)
        ]

    def menu(self, where: Where) -> list[BotCommandSpec]:
        """Every command of one kind of chat, for Telegram's command menu."""
        return [spec for spec in self._offered() if where in spec.where]

    def _offered(self) -> Sequence[BotCommandSpec]:
        return [
            spec
            for spec in COMMANDS
            if (self._tracker or not spec.tracker) and (self._sla or not spec.sla)
        ]


def describe(spec: BotCommandSpec, texts: Texts) -> str:
    """The command's description in ``texts``' language."""
    return texts(spec.description)


async def register_menus(bot: Bot, menu: CommandMenu, *, chat_id: int, language: str) -> None:
    """``setMyCommands`` for private chats and for the dispatch group, in every language.

    The menu without a language code is in the routing file's language; Telegram shows
    the one in the user's own language when there is one.
    """
    scopes: list[tuple[Where, BotCommandScopeAllPrivateChats | BotCommandScopeChat]] = [
        (Where.PRIVATE, BotCommandScopeAllPrivateChats()),
        (Where.DISPATCH, BotCommandScopeChat(chat_id=chat_id)),
    ]
    for where, scope in scopes:
        specs = menu.menu(where)
        for code in ("", *LANGUAGES):
            texts = Texts(code or language)
            commands = [BotCommand(command=s.name, description=describe(s, texts)) for s in specs]
            await bot.set_my_commands(commands, scope=scope, language_code=code or None)
