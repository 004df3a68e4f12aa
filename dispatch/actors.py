"""Who is acting: adapters turn their user (a Telegram id, a CLI flag) into an Actor."""

from __future__ import annotations

from config.routing import Person, RoutingConfig
from dispatch.events import Actor, Source


class People:
    """Resolves adapters' user ids to actors and actors back to people."""

    def __init__(self, routing: RoutingConfig) -> None:
        self._routing = routing

    def by_telegram(self, telegram_id: int) -> Actor:
        """The actor behind a Telegram user (an unknown user has no person key)."""
        person = self._routing.person_by_telegram_id(telegram_id)
        return Actor.person(person.key if person else None, Source.BOT)

    def person(self, actor: Actor) -> Person | None:
        """The routing-file person who acts, if any."""
        key = actor.person_key
        return self._routing.person(key) if key else None

    def chat_of(self, actor: Actor) -> int | None:
        """The actor's private Telegram chat, if they have one."""
        person = self.person(actor)
        return person.telegram_id if person else None
