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
from config.sla import Stage
from dispatch.sla.policies import SlaTarget
from dispatch.sla.views import SlaNote
from dispatch.views import Payload, WaitingTicket

FIELD_CHARS = 120
LIST_LINES = 30
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")

#: Each stage's label: message ids for the catalogs.
STAGE_LABELS: dict[str, str] = {
    Stage.CLASSIFICATION: "classification",
    Stage.IN_WORK: "in work",
    Stage.WAITING_CLIENT: "waiting for the client",
    Stage.INTERNAL: "waiting for a colleague",
    Stage.FEEDBACK: "awaiting the client's confirmation",
}


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


def stage_label(stage: str, t: Texts) -> str:
    """A stage as people call it ("" for a stage not known yet)."""
    label = STAGE_LABELS.get(stage)
    return t(label) if label else ""


def sla_short(note: SlaNote, t: Texts) -> str:
    """A ticket's nearest target in a list line."""
    first = note.target == SlaTarget.FIRST_RESPONSE
    target = t("first response") if first else t("resolution")
    if note.paused:
        return t("{target}: ⏸ {left} left, paused", target=target, left=waited(note.left, t))
    if note.left <= timedelta(0):
        return t("{target}: 🔥 overdue by {late}", target=target, late=waited(-note.left, t))
    return t("{target}: ⏱ {left} left", target=target, left=waited(note.left, t))


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

    def digest(self, tickets: Sequence[WaitingTicket], total: int) -> Payload:
        """One message listing waiting tickets, a button per ticket to bring up its card."""
        head = self._t("⏰ <b>{total} tickets are waiting for an assignee</b>", total=total)
        return self._listing(head, tickets, total, buttons=True)

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
            extra = [stage_label(item.stage, self._t)] if item.stage else []
            if item.sla is not None:
                extra.append(sla_short(item.sla, self._t))
            lines.append(
                " · ".join(
                    [
                        f"<b>#{esc(item.number, 32)}</b> {esc(item.subject, 60)}",
                        waited(item.waiting, self._t),
                        *extra,
                    ]
                )
            )
        if total > len(shown):
            lines.append(self._t("…and {more} more", more=total - len(shown)))
        rows: list[list[InlineKeyboardButton]] = []
        if buttons:
            keys = [
                InlineKeyboardButton(
                    text=f"#{cut(item.number, 20)}",
                    callback_data=NagCb(action=NagAction.SHOW, ticket=item.ticket_id).pack(),
                )
                for item in shown
            ]
            rows = [keys[i : i + 4] for i in range(0, len(keys), 4)]
        return payload_of("\n".join(lines), rows)
