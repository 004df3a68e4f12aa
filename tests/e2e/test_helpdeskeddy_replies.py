"""HelpDeskEddy's posts are the ticket's conversation: the first staff answer is recorded.

The real connector reads the fake HelpDeskEddy API over HTTP; the posts it already
reads for the ticket's body tell who answered (the ticket's client, or staff).
"""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from config.routing import RoutingConfig
from storage.models import TicketEventRow
from tests.support.harness import SECRET, Harness, running_modest
from tests.support.helpdeskeddy_fake import HelpDeskEddyFake
from tests.support.telegram_emulator import TelegramEmulator

MOSCOW = ZoneInfo("Europe/Moscow")
CLIENT, HDE_OLGA = 501, 12


async def webhook(h: Harness, event: str, delivery: str) -> None:
    answer = await h.http.post(
        "/webhooks/helpdeskeddy",
        params={"secret": SECRET},
        json={"ticket_id": 7, "event": event, "delivery_id": delivery},
    )
    assert answer.status_code == 200


async def events_of(h: Harness, count: int) -> list[TicketEventRow]:
    rows: list[TicketEventRow] = []
    for _ in range(200):
        async with h.service.database.unit_of_work() as uow:
            rows = list(await uow.events.for_ticket(ticket_id=1))
        if len(rows) >= count:
            break
        await asyncio.sleep(0.05)
    return rows


async def test_posts_become_reply_events_once_and_the_channel_is_kept(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with HelpDeskEddyFake(tz=MOSCOW) as hde:
        hde.add_user(HDE_OLGA, name="Olga", lastname="Sidorova", group_type="staff")
        hde.add_user(CLIENT, name="Maria", organization="Acme LLC")
        hde.add_ticket(7, user_id=CLIENT)
        async with running_modest(
            tg,
            routing,
            sqlite_url,
            helpdeskeddy_url=hde.base_url,
            helpdeskeddy_email=hde.email,
            helpdeskeddy_api_key=hde.api_key,
        ) as h:
            await webhook(h, "created", "d1")
            created = await events_of(h, 1)
            assert created[0].detail["channel"] == "email"
            hde.add_post(7, "<p>We are on it.</p>", user_id=HDE_OLGA)
            hde.add_post(7, "<p>Still burning!</p>", user_id=CLIENT)
            await webhook(h, "replied", "d2")
            await events_of(h, 3)
            hde.add_post(7, "<p>Fixed.</p>", user_id=HDE_OLGA)
            await webhook(h, "replied", "d3")
            rows = await events_of(h, 4)
            await webhook(h, "updated", "d4")  # the same posts again: nothing new
            await asyncio.sleep(0.5)
            rows = await events_of(h, 4)
    replies = [(r.kind, r.actor_kind, r.actor) for r in rows if "repl" in r.kind]
    assert replies == [
        ("first_staff_reply", "person", "olga"),
        ("client_replied", "helpdesk", None),
        ("staff_replied", "person", "olga"),
    ]
