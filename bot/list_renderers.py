"""Rendering shared by every message: cutting, escaping, waiting times, lists and digests."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from aiogram.types import InlineKeyboardButton

from bot.callbacks import NagAction, NagCb
from bot.i18n import Texts
from config.sla import Stage
from dispatch.sla.policies import SlaTarget
from dispatch.sla.views import SlaNote
from dispatch.views import DigestKind, Payload, WaitingTicket

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
    """How long, as people say it: ``30 s``, ``5 min``, ``1 h 5 min``, ``2 d 3 h``.

    The two largest units that are not zero, translated (``1 ч 5 мин``); nothing at all
    is ``0 min`` (an SLA target overdue by nothing yet).
    """
    seconds = max(int(duration.total_seconds()), 0)
    if not seconds:
        return str(t("{minutes} min", minutes=0))
    if seconds < 60:
        return str(t("{seconds} s", seconds=seconds))
    days, rest = divmod(seconds // 60, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        str(t("{days} d", days=days)) if days else "",
        str(t("{hours} h", hours=hours)) if hours else "",
        str(t("{minutes} min", minutes=minutes)) if minutes and not days else "",
    ]
    return " ".join(part for part in parts if part)


def card_link(chat_id: int | None, message_id: int | None) -> str | None:
    """A link that opens a message of a supergroup (``-100…`` ids), for its members."""
    text = str(chat_id or "")
    if message_id is None or not text.startswith("-100"):
        return None
    return f"https://t.me/c/{text.removeprefix('-100')}/{message_id}"


#: An inline keyboard button as plain data: the dict ``InlineKeyboardButton`` dumps to.
Button = dict[str, str]


def button(text: str, *, callback_data: str | None = None, url: str | None = None) -> Button:
    """A button with a callback or a link, without building aiogram's model of it (the
    payload is stored as JSON and read back by the transport, so the model would only be
    dumped to this very dict)."""
    made = {"text": text}
    if callback_data is not None:
        made["callback_data"] = callback_data
    if url is not None:
        made["url"] = url
    return made


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


def payload_of(text: str, rows: Sequence[Sequence[InlineKeyboardButton | Button]]) -> Payload:
    """A Telegram payload: HTML text and, when there are buttons, an inline keyboard (the
    ``model_dump(mode="json", exclude_none=True)`` of ``InlineKeyboardMarkup``)."""
    payload: dict[str, Any] = {"text": text}
    if rows:
        keyboard = [[_plain(b) for b in row] for row in rows]
        payload["reply_markup"] = {"inline_keyboard": keyboard}
    return payload


def _plain(made: InlineKeyboardButton | Button) -> Button:
    if isinstance(made, dict):
        return made
    dumped: Button = made.model_dump(mode="json", exclude_none=True)
    return dumped


class ListRenderer:
    """Digests, escalations, ``/queue`` and ``/mine``."""

    def __init__(self, texts: Texts, *, dispatch_chat: int | None = None) -> None:
        self._t = texts
        self._dispatch_chat = dispatch_chat

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
        head = self._t.ngettext(
            "⏰ <b>{n} ticket is waiting for an assignee</b>",
            "⏰ <b>{n} tickets are waiting for an assignee</b>",
            total,
        )
        return self._listing(head, tickets, total, buttons=True)

    def _burst(self, tickets: Sequence[WaitingTicket]) -> Payload:
        """A burst digest: every ticket with its client and priority, urgent ones marked.

        A line is at most ~170 visible characters, so ``BURST_PAGE`` (20) lines fit
        Telegram's 4,096 with room to spare.
        """
        t = self._t
        lines = [
            t.ngettext(
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
        """A lead's private message about tickets nobody took: a link to each card."""
        after = self._t.ngettext("after {n} reminder", "after {n} reminders", reminders)
        head = self._t.ngettext(
            "🚨 <b>Nobody has taken this ticket {after}</b>",
            "🚨 <b>Nobody has taken these {n} tickets {after}</b>",
            len(tickets),
            after=after,
        )
        payload = self._listing(head, tickets, len(tickets), buttons=False)
        links = [
            InlineKeyboardButton(text=f"#{cut(item.number, 20)}", url=url)
            for item in tickets[:LIST_LINES]
            if (url := card_link(self._dispatch_chat, item.card_message_id))
        ]
        if links:
            rows = [links[i : i + 4] for i in range(0, len(links), 4)]
            payload = payload_of(payload["text"], rows)
        return payload

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
        rows = self._show_buttons(shown) if buttons else []
        return payload_of("\n".join(lines), rows)
