"""``/stats`` with SLA configured: the SLA button shows the met share and its chart."""

from __future__ import annotations

import io

from PIL import Image

from tests.support.buttons import press_labelled, wait_message
from tests.support.harness import running_modest
from tests.support.stats_sla import build_sla_month, sla_stats_routing
from tests.support.telegram_emulator import EmulatedMessage, TelegramEmulator

IVAN, LEAD = 1001, 1005


def photos(tg: TelegramEmulator, chat: int) -> list[EmulatedMessage]:
    return [m for m in tg.messages(chat) if m.photo is not None]


async def test_the_sla_section_shows_the_met_share_and_a_chart(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_modest(tg, sla_stats_routing(), sqlite_url) as h:
        await build_sla_month(h.service.database)
        tg.send_text(LEAD, LEAD, "/stats 2026-11")
        summary = await wait_message(tg, LEAD, "Statistics, 01.11.2026 – 30.11.2026")
        assert "<b>SLA</b>: 64 % met (7 of 11)" in summary.html
        await tg.wait_for(lambda: len(photos(tg, LEAD)) == 1, timeout=20)

        press_labelled(tg, LEAD, summary, "SLA", user=LEAD)
        await tg.wait_for(lambda: "SLA, 01.11.2026" in tg.message(LEAD, summary.message_id).text)
        shown = tg.message(LEAD, summary.message_id)
        assert "Met: 64 % (7 of 11); breached: 4" in shown.text
        assert "First response: 67 % (4 of 6), missed 2" in shown.text
        assert "critical: 75 % (3 of 4), missed 1" in shown.text
        assert [b[0] for b in tg.buttons(LEAD, summary.message_id)][-1] == "• SLA"
        await tg.wait_for(lambda: len(photos(tg, LEAD)) == 2, timeout=20)
        chart = photos(tg, LEAD)[1]
        assert chart.text == "SLA targets, 01.11.2026 – 30.11.2026"
        assert chart.photo is not None
        assert Image.open(io.BytesIO(chart.photo.data)).size[0] == 1080

        press_labelled(tg, LEAD, shown, "People", user=LEAD)
        await tg.wait_for(
            lambda: "People, 01.11.2026" in tg.message(LEAD, summary.message_id).text
        )
        people = tg.message(LEAD, summary.message_id).text
        assert "Line 1: assigned 5, closed 3" in people
        assert "Line 2: assigned 1, closed 1, resolution on average 4 h 00 min" in people
        assert tg.unanswered_callbacks() == []
