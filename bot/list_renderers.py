"""Rendering shared by every message: cutting, escaping, waiting times, lists and digests."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import NagAction, NagCb
from bot.i18n import Texts
from dispatch.views import DigestKind, Payload, WaitingTicket

FIELD_CHARS = 120
LIST_LINES = 30
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def cut(text: str, limit: int) -> str:
    """Shorten plain text to ``limit`` characters at a word boundary, with an ellipsis."""
    text = _BLANK_LINES.sub("\n\n", _SPACES.sub(" ", text)).strip()
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip() + "…"


def esc(text: str | None, limit: int = FIELD_CHARS) -> str:
    """Cut, then escape for Telegram's HTML mode."""
    return html.escape(cut(text or "", limit), quote=False)


def waited(duration: timedelta, t: Callable[..., str]) -> str:
    """``2 h 05 min`` / ``15 min``, translated."""
    minutes = max(int(duration.total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return str(t("{hours} h {minutes:02d} min", hours=hours, minutes=minutes))
    return str(t("{minutes} min", minutes=minutes))


def payload_of(text: str, rows: list[list[InlineKeyboardButton]]) -> Payload:
    """A Telegram payload: HTML text and, when there are buttons, an inline keyboard."""
    payload: dict[str, Any] = {"text": text}
    if rows:
        markup = InlineKeyboardMarkup(inline_keyboard=rows)
        payload["reply_markup"] = markup.model_dump(mode="json", exclude_none=True)
    return payload


class ListRenderer:
    """Digests, escalations, ``/queue`` and ``/mine``."""

    def __init__(self, texts: Texts) -> None:
        self._t = texts

    def digest(
        self,
        tickets: Sequence[WaitingTicket],
        total: int,
        *,
        kind: DigestKind = DigestKind.REMINDER,
    ) -> Payload:
        """One message listing waiting tickets, a button per ticket to bring up its card."""
        if kind == DigestKind.BURST:
            return self._burst(tickets)
        head = self._t("⏰ <b>{total} tickets are waiting for an assignee</b>", total=total)
        return self._listing(head, tickets, total, buttons=True)

    def _burst(self, tickets: Sequence[WaitingTicket]) -> Payload:
        """A burst digest: every ticket with its client and priority, urgent ones marked.

        A line is at most ~170 visible characters, so ``BURST_PAGE`` (20) lines fit
        Telegram's 4,096 with room to spare.
        """
        t = self._t
        lines = [
            t.plural(
                "🆕 <b>{n} new ticket at once</b>",
                "🆕 <b>{n} new tickets at once</b>",
                len(tickets),
            ),
            t("Their cards would wait for Telegram's limits: tap a number to bring a card up."),
            "",
        ]
        for item in tickets:
            parts = [f"<b>#{esc(item.number, 32)}</b> {esc(item.subject, 60)}"]
            parts += [
                esc(value, limit)
                for value, limit in ((item.client, 40), (item.priority, 20))
                if value
            ]
            lines.append(("🔥 " if item.urgent else "") + " · ".join(parts))
        return payload_of("\n".join(lines), self._show_buttons(tickets))

    @staticmethod
    def _show_buttons(tickets: Sequence[WaitingTicket]) -> list[list[InlineKeyboardButton]]:
        keys = [
            InlineKeyboardButton(
                text=f"#{cut(item.number, 20)}",
                callback_data=NagCb(action=NagAction.SHOW, ticket=item.ticket_id).pack(),
            )
            for item in tickets
        ]
        return [keys[i : i + 4] for i in range(0, len(keys), 4)]

    def escalation(self, tickets: Sequence[WaitingTicket], reminders: int) -> Payload:
        """A lead's private message about tickets nobody took after several reminders."""
        head = self._t(
            "🚨 <b>Nobody has taken these tickets after {reminders} reminders</b>",
            reminders=reminders,
        )
        return self._listing(head, tickets, len(tickets), buttons=False)

    def ticket_list(self, tickets: Sequence[WaitingTicket], *, mine: bool) -> Payload:
        """``/queue`` (waiting tickets) or ``/mine`` (my open tickets)."""
        if not tickets:
            empty = (
                self._t("You have no open tickets.")
                if mine
                else self._t("No tickets are waiting.")
            )
            return payload_of(empty, [])
        head = (
            self._t("<b>My open tickets</b>")
            if mine
            else self._t("<b>Waiting for an assignee</b>, oldest first")
        )
        return self._listing(head, tickets, len(tickets), buttons=not mine)

    def _listing(
        self, head: str, tickets: Sequence[WaitingTicket], total: int, *, buttons: bool
    ) -> Payload:
        shown = tickets[:LIST_LINES]
        lines = [head, ""]
        for item in shown:
            lines.append(
                f"<b>#{esc(item.number, 32)}</b> {esc(item.subject, 60)} · "
                f"{waited(item.waiting, self._t)}"
            )
        if total > len(shown):
            lines.append(self._t("…and {more} more", more=total - len(shown)))
        rows = self._show_buttons(shown) if buttons else []
        return payload_of("\n".join(lines), rows)
