"""A burst digest within Telegram's limits, however long what the helpdesk sent."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from dispatch.digests.board import BURST_PAGE
from dispatch.views import DigestKind, WaitingTicket
from tests.support.telegram_emulator_limits import (
    MAX_TEXT,
    parse_html,
    validate_reply_markup,
)


def worst(n: int) -> WaitingTicket:
    return WaitingTicket(
        ticket_id=10**9 + n,
        number="N" * 60 + str(n),
        subject="&<" * 400,
        waiting=timedelta(seconds=3),
        client="Ω&" * 200,
        priority="p" * 64,
        urgent=n % 2 == 0,
    )


def test_a_full_page_of_the_longest_fields_fits_one_message() -> None:
    for language in ("en", "ru"):
        renderer = TelegramRenderer(Texts(language), ZoneInfo("Europe/Moscow"))
        items = [worst(n) for n in range(BURST_PAGE)]
        payload = renderer.digest(items, len(items), kind=DigestKind.BURST)
        visible, _ = parse_html(payload["text"])
        assert len(visible) <= MAX_TEXT, (language, len(visible))
        validate_reply_markup(payload["reply_markup"])
        buttons = [b for row in payload["reply_markup"]["inline_keyboard"] for b in row]
        assert len(buttons) == BURST_PAGE
        assert all(len(row) <= 8 for row in payload["reply_markup"]["inline_keyboard"])
        assert visible.count("🔥") == BURST_PAGE // 2, "urgent tickets are marked"


def test_russian_burst_digest_counts_its_tickets_in_russian() -> None:
    renderer = TelegramRenderer(Texts("ru"), ZoneInfo("Europe/Moscow"))
    five = [worst(n) for n in range(5)]
    assert "Сразу 5 новых заявок" in renderer.digest(five, 5, kind=DigestKind.BURST)["text"]
    two = five[:2]
    assert "Сразу 2 новые заявки" in renderer.digest(two, 2, kind=DigestKind.BURST)["text"]
