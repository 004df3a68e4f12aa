"""A burst of new tickets against a running service, and what the dispatch chat offers."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from tests.support.harness import Harness, ticket_body
from tests.support.telegram_emulator import TelegramEmulator

#: Callback data that leads to dispatching a ticket: a card's department button, or a
#: digest's (and /queue's) "bring the card up" button.
_DISPATCH_PREFIXES = ("dp:d:", "ng:s:")


def dispatchable(tg: TelegramEmulator, chat_id: int) -> set[int]:
    """Ids of the tickets that can be dispatched from the chat right now."""
    found: set[int] = set()
    for message in tg.messages(chat_id):
        if message.deleted or message.from_id != tg.bot_id:
            continue
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                data = str(button.get("callback_data") or "")
                if data.startswith(_DISPATCH_PREFIXES):
                    found.add(int(data.split(":")[2]))
    return found


def digest_buttons(tg: TelegramEmulator, chat_id: int) -> dict[int, tuple[int, str]]:
    """Ticket id -> (digest message id, callback data) for every digest button in the chat."""
    found: dict[int, tuple[int, str]] = {}
    for message in tg.messages(chat_id):
        if message.deleted or message.from_id != tg.bot_id:
            continue
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                data = str(button.get("callback_data") or "")
                if data.startswith("ng:s:"):
                    found[int(data.split(":")[2])] = (message.message_id, data)
    return found


def card_tickets(tg: TelegramEmulator, chat_id: int) -> dict[int, int]:
    """Ticket id -> message id of its card (a message with department buttons)."""
    found: dict[int, int] = {}
    for message in tg.messages(chat_id):
        if message.deleted or message.from_id != tg.bot_id:
            continue
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                data = str(button.get("callback_data") or "")
                if data.startswith("dp:d:"):
                    found.setdefault(int(data.split(":")[2]), message.message_id)
    return found


async def post_burst(
    h: Harness, count: int, *, seconds: float, urgent: Collection[int] = ()
) -> list[int]:
    """Post ``count`` new tickets evenly over ``seconds`` (open loop); their HTTP statuses.

    Ticket ``n`` (1-based) is ``A-n``; those in ``urgent`` have priority ``urgent``.
    """

    async def one(n: int) -> int:
        await asyncio.sleep((n - 1) * seconds / count)
        priority = "urgent" if n in urgent else "normal"
        body = ticket_body(str(n), subject=f"Burst ticket {n}", priority=priority)
        return (await h.post_generic(body)).status_code

    return list(await asyncio.gather(*(one(n) for n in range(1, count + 1))))
