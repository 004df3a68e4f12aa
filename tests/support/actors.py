"""Actors for tests that call the services directly, as the bot's middleware makes them."""

from __future__ import annotations

from config.routing import RoutingConfig
from dispatch.actors import People
from dispatch.events import Actor


def telegram_actor(routing: RoutingConfig, telegram_id: int) -> Actor:
    """The actor the bot would pass for a press by ``telegram_id``."""
    return People(routing).by_telegram(telegram_id)
