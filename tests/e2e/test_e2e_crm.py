"""The CRM end to end through the bot with the fake CRM: the card goes out at once and is
edited once with who wrote; the package alert and the monthly report follow the CRM's
support deal; the company's timeline gets a note for the close."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime

from tests.support.buttons import press_labelled, wait_message
from tests.support.crm import MARIA, crm_routing, fake_crm
from tests.support.harness import Harness, running_modest, ticket_body
from tests.support.telegram_emulator import TelegramEmulator

IVAN, OLGA = 1001, 1002


def edits_of(tg: TelegramEmulator, chat_id: int, message_id: int) -> int:
    return sum(
        call.method == "editMessageText"
        and call.params.get("chat_id") == str(chat_id)
        and call.params.get("message_id") == str(message_id)
        for call in tg.calls
    )


async def test_card_enriched_once_then_package_alert_note_and_report_from_the_crm(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    crm = fake_crm(hours="1")
    crm.hold = asyncio.Event()  # the CRM answers only once the card is out
    client = {"name": "Maria", "email": MARIA, "company": ""}
    async with running_modest(tg, crm_routing(), sqlite_url, crm=crm) as h:
        await h.post_generic(ticket_body("1", client=client))
        card = await h.card()
        assert "CRM" not in card.text  # out at once, the CRM still thinking
        crm.hold.set()
        await tg.wait_for(lambda: "In CRM" in tg.message(h.chat_id, card.message_id).text, 6)
        text = tg.message(h.chat_id, card.message_id).text
        assert "🏢 In CRM: Maria Ivanova, Chief accountant, Acme LLC" in text
        assert "📄 Contract № 12/2026, 1:00 h a month, 0:00 h used this month" in text
        assert "🤝 Account manager: Ivan Petrov" in text
        assert edits_of(tg, h.chat_id, card.message_id) == 1
        await assign_to_olga(h, tg, card.message_id)
        assert "In CRM" in tg.message(h.chat_id, card.message_id).text  # kept on later edits
        await close_and_record_an_hour(h, tg)
        # The deal's 1 h package: 80 % and 100 % at once, one message (issue 17.14), to the
        # deal's responsible (bitrix24_id 7).
        await tg.wait_for(lambda: any("📦" in m.text for m in tg.messages(IVAN)), 8)
        alerts = [m.text for m in tg.messages(IVAN) if "📦" in m.text]
        assert "Acme LLC" in alerts[0]
        assert "1:00 of 1:00 h used (100%), 0:00 h left" in alerts[0]
        await tg.wait_for(lambda: len(crm.notes) == 1, 6)
        assert crm.notes == [("42", "#A-1 Printer on fire — 1 h 00 min, Olga Sidorova")]
        # The next month's first morning: the report, by the CRM's contract, to Ivan.
        now = datetime.now(UTC)
        following = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, 12, tzinfo=UTC)
        assert await h.service.domain.monthly_reports.run(following) == 1
        await tg.wait_for(lambda: sum(m.document is not None for m in tg.messages(IVAN)) == 2, 8)
        documents = [m for m in tg.messages(IVAN) if m.document is not None]
        assert documents[0].text == "Support report: Acme LLC"
        assert documents[0].document is not None
        assert documents[0].document.file_name.startswith("crm-42-")
        sheet = documents[1].document
        assert sheet is not None
        rows = list(csv.reader(io.StringIO(sheet.data.decode("utf-8-sig")), delimiter=";"))
        assert ["A-1", rows[1][1], "Printer on fire", "Olga Sidorova", "1:00", ""] == rows[1]
        assert ["Package", "1:00"] in rows


async def assign_to_olga(h: Harness, tg: TelegramEmulator, card_id: int) -> None:
    press_labelled(tg, h.chat_id, tg.message(h.chat_id, card_id), "Support", user=IVAN)
    await tg.wait_for(
        lambda: any(b[0] == "Olga Sidorova · 0" for b in tg.buttons(h.chat_id, card_id)), 6
    )
    press_labelled(tg, h.chat_id, tg.message(h.chat_id, card_id), "Olga Sidorova · 0", user=IVAN)
    await tg.wait_for(lambda: "Assigned to Olga" in tg.message(h.chat_id, card_id).text, 6)


async def close_and_record_an_hour(h: Harness, tg: TelegramEmulator) -> None:
    client = {"name": "Maria", "email": MARIA, "company": ""}
    await h.post_generic(ticket_body("1", event="ticket.closed", assignee="12", client=client))
    prompt = await wait_message(tg, OLGA, "How much time")
    press_labelled(tg, OLGA, prompt, "1h")
    await tg.wait_for(lambda: "Recorded: 1:00" in tg.message(OLGA, prompt.message_id).text, 6)
