"""Statistics and the quality check for Telegram: summaries, section buttons, charts."""

from __future__ import annotations

import base64
import html
from datetime import date

from aiogram.types import InlineKeyboardButton

from bot.callbacks import StatsCb
from bot.charts import chart_for, draw_png
from bot.i18n import Texts
from bot.list_renderers import esc, payload_of
from bot.stats_text import SummaryWriter
from dispatch.stats.command import Section
from dispatch.stats.figures import Stats
from dispatch.stats.period import Period
from dispatch.stats.quality import QualityAlert
from dispatch.views import Payload

#: Button labels, message ids for the catalogs.
SECTION_LABELS: dict[Section, str] = {
    Section.OVERVIEW: "Overview",
    Section.PEOPLE: "People",
    Section.TYPES: "Types",
    Section.SLA: "SLA",
}


def day_number(day: date) -> int:
    """``20261130``: a day as the buttons carry it."""
    return day.year * 10000 + day.month * 100 + day.day


def number_day(value: int) -> date:
    """The day a button carries (raises ValueError for a forged one)."""
    return date(value // 10000, value // 100 % 100, value % 100)


class TelegramStatsRenderer:
    """Implements ``dispatch.stats`` rendering for Telegram."""

    def __init__(self, texts: Texts) -> None:
        self._t = texts

    def stats_text(self, stats: Stats, section: Section, *, weekly: bool = False) -> Payload:
        """The section's summary with a button per section (the current one marked)."""
        lines = SummaryWriter(self._t, markup=True).lines(stats, section, weekly=weekly)
        return payload_of("\n".join(lines), [self._buttons(stats.period, section)])

    def _buttons(self, period: Period, current: Section) -> list[InlineKeyboardButton]:
        first, last = day_number(period.first), day_number(period.last)
        return [
            InlineKeyboardButton(
                text=("• " if section == current else "") + self._t(SECTION_LABELS[section]),
                callback_data=StatsCb(section=section, first=first, last=last).pack(),
            )
            for section in Section
        ]

    def stats_chart(self, stats: Stats, section: Section) -> Payload | None:
        """The section's chart as a photo, or None (the SLA section has none)."""
        chart = chart_for(stats, section, self._t)
        if chart is None:
            return None
        png = draw_png(chart, no_data=self._t("No data for this period."))
        return {
            "photo_b64": base64.b64encode(png).decode("ascii"),
            "filename": f"stats-{section.name.lower()}-{stats.period.first:%Y-%m-%d}.png",
            "caption": esc(chart.title, 200),
        }

    def forbidden_words(self, alert: QualityAlert) -> Payload:
        """The leads' message: the ticket, the author, the words and the excerpt, marked."""
        t = self._t
        ticket = f"#{esc(alert.ticket_number, 64)} {esc(alert.subject)}"
        if alert.url:
            ticket = f'<a href="{html.escape(alert.url, quote=True)}">{ticket}</a>'
        marked = "".join(
            f"<b><u>{html.escape(text, quote=False)}</u></b>"
            if hit
            else html.escape(text, quote=False)
            for text, hit in alert.excerpt.pieces
        )
        lines = [
            "⚠️ <b>" + t("Forbidden words in a staff reply") + "</b>",
            t("Ticket: {ticket}", ticket=ticket),
            t("Author: {name}", name=esc(alert.author, 64)),
            t("Words: {words}", words=esc(", ".join(alert.terms), 200)),
            f"<blockquote>{marked}</blockquote>",
        ]
        return payload_of("\n".join(lines), [])
