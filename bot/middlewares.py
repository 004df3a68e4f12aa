"""Outer middleware: every update's user becomes an ``actor`` for the handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from dispatch.actors import People


class ActorMiddleware(BaseMiddleware):
    """Puts ``actor`` (a :class:`dispatch.events.Actor`) into the handler data.

    Handlers pass it to the services instead of a Telegram id, so the services
    never learn which adapter the person used beyond ``actor.via``.
    """

    def __init__(self, people: People) -> None:
        self._people = people

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        if isinstance(user, User):
            data["actor"] = self._people.by_telegram(user.id)
        return await handler(event, data)
