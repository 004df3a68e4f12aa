"""``/invite CLIENT EMAIL [NAME]``: a one-time link to the client cabinet."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.i18n import Texts
from bot.list_renderers import esc
from dispatch.events import Actor

if TYPE_CHECKING:
    # The cabinet's modules are loaded only where it is on (``modest.app``).
    from dispatch.portal.accounts import PortalAccounts

_REFUSALS = {
    "unknown client": "There is no client {client} in the routing file.",
    "invalid e-mail": "This is not an e-mail address: {email}",
    "e-mail of another client's user": "This address belongs to a user of another client.",
}


def portal_router() -> Router:
    """The ``/invite`` command, in private chats."""
    router = Router(name="portal")
    router.message.register(invite_command, Command("invite"), F.chat.type == ChatType.PRIVATE)
    return router


async def invite_command(
    message: Message,
    command: CommandObject,
    texts: Texts,
    actor: Actor,
    portal_accounts: PortalAccounts | None = None,
) -> None:
    """For managers and admins: invite a client's user; the link goes to its manager."""
    if portal_accounts is None:
        await message.answer(texts("The client cabinet is off: set PORTAL_BASE_URL."))
        return
    from dispatch.portal.models import NotAllowed, PortalError  # the cabinet is on: loaded

    words = (command.args or "").split()
    if len(words) < 2:
        await message.answer(texts("Write the client and the e-mail: /invite acme boss@acme.ru"))
        return
    client, email, name = words[0], words[1], " ".join(words[2:])
    try:
        invitation = await portal_accounts.invite(
            client_key=client, email=email, name=name, actor=actor
        )
    except NotAllowed:
        await message.answer(texts("Only the client's manager and admins can invite."))
        return
    except PortalError as exc:
        refusal = _REFUSALS.get(exc.reason, "The invitation was not made.")
        await message.answer(texts(refusal, client=esc(client), email=esc(email)))
        return
    if invitation.manager_chat == message.chat.id:
        return  # the invitation message with the link is on its way to this very chat
    ready = texts(
        "Invitation for {email} is ready; the link is valid for 7 days:",
        email=esc(invitation.email),
    )
    await message.answer(f"{ready}\n{esc(invitation.link, 300)}")
