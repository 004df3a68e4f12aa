"""/start, /help, /whoami, the bot's membership in chats, and the catch-all for presses."""

from __future__ import annotations

import html

from aiogram import Router
from aiogram.enums import ChatMemberStatus
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

from bot.commands import CommandMenu, describe
from bot.i18n import Texts
from bot.replies import safe_answer
from dispatch.actors import People
from dispatch.chats import ChatAccess
from dispatch.events import Actor


def common_router() -> Router:
    """/start, /help, /whoami (/id), and the bot being blocked, removed or added back."""
    router = Router(name="common")
    router.message.register(start_command, CommandStart())
    router.message.register(help_command, Command("help"))
    router.message.register(whoami_command, Command("whoami", "id"))
    router.my_chat_member.register(membership_changed)
    return router


def fallback_router() -> Router:
    """Registered last: every press is answered, even for buttons we no longer know."""
    router = Router(name="fallback")
    router.callback_query.register(unknown_button)
    return router


async def start_command(
    message: Message, texts: Texts, chat_access: ChatAccess, actor: Actor
) -> None:
    """Greets the user; a user who blocked the bot and came back gets messages again.

    Someone the routing file does not know is told so, with the id to hand an admin.
    """
    if actor.person_key is None and message.from_user is not None:
        greeting = texts(
            "Hello! I don't know you yet. Give an admin your Telegram id"
            " <code>{user_id}</code>: it goes into the routing file as telegram_id.",
            user_id=message.from_user.id,
        )
    else:
        greeting = texts("Hello! I will send you the tickets assigned to you here.")
    await chat_access.reopened(chat_id=message.chat.id, greeting={"text": greeting})


async def whoami_command(
    message: Message, texts: Texts, actor: Actor, people: People, chat_access: ChatAccess
) -> None:
    """Anyone's Telegram id and the chat's id, and who the routing file says they are."""
    if message.from_user is None:
        return
    user_id = message.from_user.id
    lines = [
        texts("Your Telegram id: <code>{user_id}</code>", user_id=user_id),
        texts("This chat's id: <code>{chat_id}</code>", chat_id=message.chat.id),
    ]
    person = people.person(actor)
    if person is None:
        lines.append(
            texts(
                "You are not in the routing file yet: an admin adds you with"
                " telegram_id: {user_id}.",
                user_id=user_id,
            )
        )
    else:
        roles = ", ".join(sorted(role.value for role in person.roles)) or "—"
        lines.append(
            texts(
                "In the routing file you are {name} ({roles}).",
                name=html.escape(person.name),
                roles=roles,
            )
        )
    await chat_access.send(chat_id=message.chat.id, payload={"text": "\n".join(lines)})


async def help_command(
    message: Message,
    texts: Texts,
    actor: Actor,
    people: People,
    commands: CommandMenu,
    chat_access: ChatAccess,
) -> None:
    """The commands the asker may use in this chat."""
    private = message.chat.type == "private"
    available = commands.available(people.person(actor), private=private)
    lines = [texts("What I can do here:")]
    lines.extend(f"/{spec.name} — {html.escape(describe(spec, texts))}" for spec in available)
    await chat_access.send(chat_id=message.chat.id, payload={"text": "\n".join(lines)})


async def membership_changed(update: ChatMemberUpdated, chat_access: ChatAccess) -> None:
    """The bot was blocked, kicked or removed; or added back."""
    status = update.new_chat_member.status
    if status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR):
        await chat_access.reopened(chat_id=update.chat.id)
    elif status in (ChatMemberStatus.KICKED, ChatMemberStatus.LEFT):
        await chat_access.closed(chat_id=update.chat.id, reason=f"bot {status}")


async def unknown_button(query: CallbackQuery, texts: Texts) -> None:
    """A press on a button from an older version, or a forged one."""
    await safe_answer(query, texts("This button is out of date."), alert=True)
