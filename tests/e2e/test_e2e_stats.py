"""``/stats`` end to end: who may ask where, the section buttons, the chart; the reply check."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from PIL import Image
from sqlmodel import col, select

from storage.models import TicketEventRow
from tests.support.buttons import press_labelled, wait_message
from tests.support.harness import Harness, running_modest, ticket_body
from tests.support.stats_month import build_month, stats_routing
from tests.support.telegram_emulator import EmulatedMessage, TelegramEmulator

IVAN, OLGA, PETR, ANNA = 1001, 1002, 1003, 1004
LEAD, MANAGER, ADMIN = 1005, 1006, 1007
STRANGER = 4242
OTHER_GROUP = -1009999

REFUSED = "Only leads, managers, admins and dispatchers can see statistics."
WRONG_CHAT = "Statistics are shown in the dispatch chat or in a private chat."


def photos(tg: TelegramEmulator, chat: int) -> list[EmulatedMessage]:
    return [m for m in tg.messages(chat) if m.photo is not None]


async def answer_of(tg: TelegramEmulator, query: str) -> dict[str, Any]:
    await tg.wait_for(lambda: query in tg.callback_answers)
    return tg.callback_answers[query]


async def test_stats_with_its_chart_and_a_button_per_section(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_modest(tg, stats_routing(), sqlite_url) as h:
        await build_month(h.service.database)
        tg.send_text(h.chat_id, IVAN, "/stats 2026-11")
        summary = await wait_message(tg, h.chat_id, "Statistics, 01.11.2026 – 30.11.2026")
        assert "Inflow: 5 new tickets" in summary.text
        assert "<b>Dispatch</b>: 5 tickets assigned" in summary.html
        buttons = [label for label, _, _ in tg.buttons(h.chat_id, summary.message_id)]
        assert buttons == ["• Overview", "People", "Types", "SLA"]
        await tg.wait_for(lambda: len(photos(tg, h.chat_id)) == 1, timeout=20)
        chart = photos(tg, h.chat_id)[0]
        assert chart.message_id > summary.message_id, "the chart follows its summary"
        assert chart.text == "Inflow and dispatch, 01.11.2026 – 30.11.2026"
        assert chart.photo is not None
        assert Image.open(io.BytesIO(chart.photo.data)).size == (1080, 1176)

        query = press_labelled(tg, h.chat_id, summary, "People", user=IVAN)
        assert (await answer_of(tg, query)).get("show_alert") in (None, False, "false")
        await tg.wait_for(
            lambda: "People, 01.11.2026" in tg.message(h.chat_id, summary.message_id).text
        )
        edited = tg.message(h.chat_id, summary.message_id)
        assert "Olga Sidorova: assigned 2, closed 2, replies 3" in edited.text
        assert [b[0] for b in tg.buttons(h.chat_id, summary.message_id)][:2] == [
            "Overview",
            "• People",
        ]
        await tg.wait_for(lambda: len(photos(tg, h.chat_id)) == 2, timeout=20)
        assert photos(tg, h.chat_id)[1].text == "Specialists, 01.11.2026 – 30.11.2026"

        query = press_labelled(tg, h.chat_id, edited, "SLA", user=OLGA)
        await answer_of(tg, query)
        await tg.wait_for(
            lambda: "SLA is not configured" in tg.message(h.chat_id, summary.message_id).text
        )
        await asyncio.sleep(0.5)
        assert len(photos(tg, h.chat_id)) == 2, "the SLA section has no chart"
        assert tg.unanswered_callbacks() == []


async def test_stats_are_for_leads_managers_admins_and_dispatchers_only(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_modest(tg, stats_routing(), sqlite_url) as h:
        await build_month(h.service.database)
        for reader in (LEAD, MANAGER, ADMIN, IVAN):
            tg.send_text(reader, reader, "/stats 2026-11")
            await wait_message(tg, reader, "Statistics, 01.11.2026 – 30.11.2026")
        for outsider in (ANNA, PETR, STRANGER):
            tg.send_text(outsider, outsider, "/stats 2026-11")
            await wait_message(tg, outsider, REFUSED)
        tg.send_text(h.chat_id, ANNA, "/stats 2026-11")
        await wait_message(tg, h.chat_id, REFUSED)
        tg.add_chat(OTHER_GROUP, title="Chatter")
        tg.send_text(OTHER_GROUP, LEAD, "/stats 2026-11")
        await wait_message(tg, OTHER_GROUP, WRONG_CHAT)
        tg.send_text(LEAD, LEAD, "/stats yesterday")
        await wait_message(tg, LEAD, "Write the period: /stats today")

        tg.send_text(h.chat_id, IVAN, "/stats 2026-11")
        shared = await wait_message(tg, h.chat_id, "Statistics, 01.11.2026")
        refused = await answer_of(tg, press_labelled(tg, h.chat_id, shared, "Types", user=ANNA))
        assert refused["show_alert"] in (True, "true")
        assert refused["text"] == REFUSED
        assert "Statistics, 01.11.2026" in tg.message(h.chat_id, shared.message_id).text
        assert not any(REFUSED in m.text for m in tg.messages(LEAD))
        assert photos(tg, ANNA) == []
        assert tg.unanswered_callbacks() == []


def replied(reply_id: str, text: str, author: str = "12") -> dict[str, Any]:
    body = ticket_body("1", event="ticket.replied", assignee="12")
    reply = {"id": reply_id, "author": "staff", "author_id": author, "text": text}
    return {**body, "delivery_id": f"re-{reply_id}", "reply": reply}


async def forbidden_events(h: Harness) -> list[TicketEventRow]:
    async with h.service.database.unit_of_work() as uow:
        stmt = select(TicketEventRow).where(col(TicketEventRow.kind) == "forbidden_word")
        return list((await uow.session.execute(stmt)).scalars().all())


async def test_a_staff_reply_with_a_forbidden_word_reaches_the_leads_once(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_modest(tg, stats_routing(), sqlite_url) as h:
        await h.post_generic(ticket_body("1", assignee="12"))
        await h.post_generic(replied("r1", "Ну БЛИН, <перезагрузите> роутер & всё"))
        alert = await wait_message(tg, LEAD, "Forbidden words in a staff reply")
        assert "#A-1 Printer on fire" in alert.text
        assert "Author: Olga Sidorova" in alert.text
        assert "Words: блин" in alert.text
        assert "Ну <b><u>БЛИН</u></b>, &lt;перезагрузите&gt; роутер &amp; всё" in alert.html
        await h.post_generic({**replied("r1", "Ну БЛИН"), "delivery_id": "re-r1-again"})
        await h.post_generic(replied("r2", "Блинчики близко: не блин-то"))
        await h.post_generic(replied("r3", "Всё готово, проверьте."))
        found = await forbidden_events(h)
        for _ in range(50):
            if len(found) == 2:
                break
            await asyncio.sleep(0.1)
            found = await forbidden_events(h)
        assert [(e.actor, e.detail["words"]) for e in found] == [
            ("olga", ["блин"]),
            ("olga", ["блин"]),
        ], "in r2 'блин-то' is the word, 'Блинчики' is not"
        await tg.wait_for(lambda: sum("Forbidden words" in m.text for m in tg.messages(LEAD)) == 2)
        assert not any("Forbidden words" in m.text for m in tg.messages(MANAGER))
        tg.send_text(LEAD, LEAD, "/stats today")
        summary = await wait_message(tg, LEAD, "Statistics, ")
        assert "Forbidden words: 2 replies (блин 2)" in summary.text
        tg.send_text(h.chat_id, IVAN, "/history A-1")
        history = await wait_message(tg, h.chat_id, "History of #A-1")
        assert history.text.count("forbidden words in a reply") == 2
        assert "Всё готово" not in history.text, "a reply's text stays out of the history"
