"""What must hold before Modest can run, each said in one line an operator can act on.

``modest run`` stops at the first failure with that line and exit code 1;
``modest doctor`` runs every check and prints them as a checklist.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import TelegramObject, User

from config.routing import Role, RoutingConfig
from config.settings import Settings
from dispatch.views import ConnectorStatus
from storage.db import Database
from storage.migrate import HEAD_REVISION, current_revision
from storage.probe import unusable

#: How long a start-up call to Telegram may take before it counts as unreachable.
TELEGRAM_TIMEOUT = 15


class Verdict(StrEnum):
    """How a check came out."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    """One checked thing: its name, the verdict, and what was found (or what to fix)."""

    name: str
    verdict: Verdict
    detail: str

    def line(self) -> str:
        """``name: detail``, the one line ``modest run`` prints when it stops."""
        return f"{self.name}: {self.detail}"


def ok(name: str, detail: str) -> Check:
    """A check that passed."""
    return Check(name, Verdict.OK, detail)


def warn(name: str, detail: str) -> Check:
    """Modest runs, but something will not work as the operator probably expects."""
    return Check(name, Verdict.WARN, detail)


def fail(name: str, detail: str) -> Check:
    """Modest cannot run until this is fixed."""
    return Check(name, Verdict.FAIL, detail)


def first_failure(checks: Sequence[Check]) -> Check | None:
    """The first failed check, if any."""
    return next((check for check in checks if check.verdict is Verdict.FAIL), None)


def settings_warnings(settings: Settings) -> list[Check]:
    """Settings that are valid but make part of Modest refuse its work."""
    if settings.helpdesk_webhook_secret is None:
        return [
            warn(
                "HELPDESK_WEBHOOK_SECRET",
                "not set: every helpdesk webhook will be refused (401); set it and give the"
                " helpdesk the same value",
            )
        ]
    return [ok("HELPDESK_WEBHOOK_SECRET", "set")]


def routing_warnings(routing: RoutingConfig) -> list[Check]:
    """Routing that is valid but leaves someone uninformed."""
    admins = [p for p in routing.people if Role.ADMIN in p.roles and p.telegram_id]
    if not admins:
        return [
            warn(
                "admins",
                "nobody with role admin has a telegram_id: connector outages are announced"
                " in the dispatch chat",
            )
        ]
    return [ok("admins", ", ".join(p.name for p in admins))]


async def database_check(url: str) -> Check:
    """The database answers; says whether migrations are still to run."""
    database = Database(url)
    try:
        problem = await unusable(database)
        if problem is not None:
            return fail("DATABASE_URL", problem)
        revision = await current_revision(database)
    finally:
        await database.dispose()
    kind = "SQLite" if database.is_sqlite else "PostgreSQL"
    if revision == HEAD_REVISION:
        return ok("DATABASE_URL", f"{kind}, schema up to date ({revision})")
    return ok("DATABASE_URL", f"{kind}, schema {revision or 'empty'}: migrations will run")


async def bot_check(bot: Bot) -> tuple[Check, User | None]:
    """The token is accepted (``getMe``); the bot's account when it is."""
    try:
        me = await bot.get_me(request_timeout=TELEGRAM_TIMEOUT)
    except TelegramUnauthorizedError:
        return fail(
            "TELEGRAM_BOT_TOKEN",
            "Telegram refuses the token (mistyped or revoked); copy it again from @BotFather",
        ), None
    except TelegramNetworkError as exc:
        return fail("TELEGRAM_API_BASE", f"cannot reach Telegram: {exc.message}"), None
    except AiogramError as exc:
        return fail("TELEGRAM_API_BASE", f"Telegram answered getMe with an error: {exc}"), None
    return ok("TELEGRAM_BOT_TOKEN", f"@{me.username}"), me


class ChatSeen(TelegramObject):
    """What the dispatch chat check reads of ``getChat``'s answer; the rest is left as is."""

    id: int
    type: str
    title: str | None = None


class GetChatTitle(TelegramMethod[ChatSeen]):
    """``getChat`` read into ``ChatSeen``: aiogram's own ``ChatFullInfo`` nests a whole
    ``Message``, ~2.5 MiB of validators and ~0.1 s to build before ``/healthz``, for a title."""

    __returning__ = ChatSeen
    __api_method__ = "getChat"

    chat_id: int | str


async def dispatch_chat_check(bot: Bot, chat_id: int, username: str | None) -> Check:
    """The bot is a member of the dispatchers' chat (``getChat``); the detail is its title."""
    try:
        chat = await bot(GetChatTitle(chat_id=chat_id), request_timeout=TELEGRAM_TIMEOUT)
    except (TelegramBadRequest, TelegramForbiddenError):
        who = f"@{username}" if username else "the bot"
        return fail(
            "dispatch.chat_id",
            f"{chat_id}: the bot is not a member of this chat; add {who} to the group,"
            " or fix the id (send /whoami in the group, then `modest doctor` lists it)",
        )
    except TelegramNetworkError as exc:
        return fail("TELEGRAM_API_BASE", f"cannot reach Telegram: {exc.message}")
    except AiogramError as exc:
        line = str(exc).splitlines()[0]
        return fail("dispatch.chat_id", f"{chat_id}: Telegram answered getChat with: {line}")
    return ok("dispatch.chat_id", chat.title or chat.type)


async def recent_chats(bot: Bot) -> Check:
    """The chats and people that wrote to the bot lately, with their ids (for the routing file).

    Read with ``getUpdates`` without confirming anything, so ``modest run`` still gets
    every update afterwards.
    """
    try:
        updates = await bot.get_updates(limit=100, timeout=0, request_timeout=TELEGRAM_TIMEOUT)
    except AiogramError as exc:
        # A webhook is set (409), or Telegram is out of reach: no list, say why.
        return warn("ids", f"cannot list the chats that wrote to the bot: {exc}")
    found: dict[int, str] = {}
    for update in updates:
        message = update.message
        if message is None:
            continue
        chat = message.chat
        found.setdefault(chat.id, f"{chat.id} {chat.title or chat.full_name}")
        if message.from_user is not None and message.from_user.id != chat.id:
            user = message.from_user
            found.setdefault(user.id, f"{user.id} {user.full_name}")
    if not found:
        return warn("ids", "send /whoami to the bot in the group and in private, then look again")
    return warn("ids", "chats and people that wrote to the bot: " + "; ".join(found.values()))


def connector_checks(statuses: Sequence[ConnectorStatus]) -> list[Check]:
    """What each configured connector answered its credential check.

    Refused credentials stop the start (they stay wrong until someone fixes them); a
    connector that does not answer is a warning: Modest keeps asking and tells the admins.
    """
    checks: list[Check] = []
    for status in statuses:
        name = f"{status.role} ({status.kind})"
        if status.ok:
            checks.append(ok(name, f"{status.title} accepts the credentials"))
        elif status.refused:
            checks.append(fail(name, f"{status.title} refuses the credentials: {status.error}"))
        else:
            checks.append(warn(name, f"{status.title} does not answer: {status.error}"))
    return checks


def port_check(host: str, port: int) -> Check:
    """Nothing else listens where the HTTP server will."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            return fail("HTTP_PORT", port_problem(host, port, exc))
    return ok("HTTP_PORT", f"{host}:{port} is free")


def port_problem(host: str, port: int, exc: OSError) -> str:
    """One line for an HTTP server that could not listen."""
    if exc.errno == errno.EADDRINUSE:
        return f"{host}:{port} is already in use (another Modest?); stop it or set HTTP_PORT"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}; check HTTP_HOST and HTTP_PORT"
