"""After a Bot API outage, cards go out as soon as Telegram answers again, not after backoff."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from config.routing import RoutingConfig
from storage.models import OutboxRow
from storage.types import utcnow
from tests.support.dispatching import DISPATCH, IVAN
from tests.support.harness import Harness, running_modest, ticket_body
from tests.support.telegram_emulator import TelegramEmulator

#: Failed sends before Telegram comes back: the fifth leaves a backoff of 6.4-9.6 s.
FAILED_SENDS = 5


async def outbox_rows(h: Harness) -> list[OutboxRow]:
    async with h.service.database.unit_of_work() as uow:
        return list((await uow.session.execute(select(OutboxRow))).scalars().all())


async def until_failed_sends(h: Harness, count: int, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            if any(row.attempts >= count for row in await outbox_rows(h)):
                return
            await asyncio.sleep(0.05)


def bot_texts(tg: TelegramEmulator) -> list[str]:
    return [m.text for m in tg.messages(DISPATCH) if m.from_id == tg.bot_id]


async def test_cards_backing_off_go_out_once_the_long_poll_gets_an_answer(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    tg.set_down(True)  # every method, getUpdates included, answers 502
    async with running_modest(tg, routing, sqlite_url) as h:
        await h.post_generic(ticket_body("81"))
        await h.post_generic(ticket_body("82"))
        await until_failed_sends(h, FAILED_SENDS)
        first = min(await outbox_rows(h), key=lambda row: row.id or 0)
        backoff_ends = first.not_before
        assert (backoff_ends - utcnow()).total_seconds() > 5, "the backoff must be long"
        up_at = len(tg.calls)
        tg.set_down(False)
        # An update waiting for the long poll: its getUpdates answers at once.
        tg.send_text(DISPATCH, IVAN, "anyone there?")
        await tg.wait_for(lambda: len(bot_texts(tg)) == 2, timeout=10)
        arrived = utcnow()
        after = tg.calls[up_at:]
        answered = next(c for c in after if c.status == 200)
        sends = [c for c in after if c.method == "sendMessage" and c.status == 200]
        assert sends[0].time - answered.time <= 5.0, [(c.method, c.time) for c in after]
        assert arrived < backoff_ends, "the card waited out its backoff"
        texts = bot_texts(tg)
        assert ["#A-81" in texts[0], "#A-82" in texts[1]] == [True, True], "order per chat"
        assert tg.count_429 == 0
