"""The Telegram messages the cabinet sends to staff (the bot renders them)."""

from __future__ import annotations

from typing import Protocol

from config.clients import Client
from config.routing import RoutingConfig
from dispatch.views import Payload
from storage.db import UnitOfWork


class PortalNotices(Protocol):
    """Texts for the client's manager; every value is plain text, to be escaped."""

    def invitation(self, *, client: str, name: str, email: str, link: str) -> Payload:
        """A one-time link to pass to a new client user."""
        ...

    def tariff_request(self, *, client: str, name: str, email: str, text: str) -> Payload:
        """A client asks to change its tariff."""
        ...

    def password_request(self, *, client: str, client_key: str, name: str, email: str) -> Payload:
        """A client user forgot the password and asks for a new link."""
        ...


def manager_chat(routing: RoutingConfig, client: Client) -> int | None:
    """The private chat of the client's manager, if they have one."""
    person = routing.person(client.manager) if client.manager else None
    return person.telegram_id if person else None


def tell_manager(uow: UnitOfWork, routing: RoutingConfig, client: Client, payload: Payload) -> int:
    """Queue a message to the client's manager, or to the dispatch chat without one."""
    chat = manager_chat(routing, client) or routing.dispatch.chat_id
    uow.outbox.enqueue_plain(chat_id=chat, payload=payload)
    return chat
