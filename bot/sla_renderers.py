"""SLA texts: a ticket's nearest target and stage, warnings, breaches, digests, ``/sla``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo

from aiogram.types import InlineKeyboardButton

from bot.callbacks import SlaAction, SlaCb
from bot.i18n import Texts
from bot.list_renderers import LIST_LINES, cut, esc, payload_of, sla_short, stage_label, waited
from dispatch.sla.policies import SlaTarget
from dispatch.sla.views import AtRisk, Payload, SlaNote, SlaNotice


class SlaRenderer:
    """Renders ``dispatch.sla.views`` for Telegram."""

    def __init__(self, texts: Texts, tz: tzinfo) -> None:
        self._t = texts
        self._tz = tz

    def stage_label(self, stage: str) -> str:
        """A stage as people call it ("" for a stage not known yet)."""
        return stage_label(stage, self._t)

    def sla_line(self, note: SlaNote) -> str:
        """The card's line about the nearest target."""
        t = self._t
        first = note.target == SlaTarget.FIRST_RESPONSE
        if note.paused:
            line = t(
                "⏸ Deadline paused while we wait for the client: {left} left",
                left=waited(note.left, t),
            )
        elif note.left <= timedelta(0):
            late = waited(-note.left, t)
            line = (
                t("🔥 First response overdue by {late}", late=late)
                if first
                else t("🔥 Resolution overdue by {late}", late=late)
            )
        else:
            left, due = waited(note.left, t), self._moment(note.due_at)
            line = (
                t("⏱ First response within {left} (by {due})", left=left, due=due)
                if first
                else t("⏱ Resolution within {left} (by {due})", left=left, due=due)
            )
        if first and note.by_assignment:
            line += "\n" + t(
                "(the assignment counts as the first response: the helpdesk does not report "
                "replies)"
            )
        return line

    def sla_short(self, note: SlaNote) -> str:
        """The nearest target in a list line."""
        return sla_short(note, self._t)

    def alert_line(self, notice: SlaNotice) -> str:
        """The news of a warning or a breach, in one line."""
        t = self._t
        number = esc(notice.number, 64)
        first = notice.target == SlaTarget.FIRST_RESPONSE
        if notice.breach:
            target = waited(notice.target_time, t)
            return (
                t("🔥 #{number}: no first response within {target}", number=number, target=target)
                if first
                else t("🔥 #{number}: not resolved within {target}", number=number, target=target)
            )
        left = waited(notice.left, t)
        return (
            t("⏱ {left} left to answer #{number}", left=left, number=number)
            if first
            else t("⏱ {left} left to resolve #{number}", left=left, number=number)
        )

    def sla_warning(self, notice: SlaNotice, *, url: str | None) -> Payload:
        """The assignee's private warning: time left to a target."""
        text = "\n".join(
            [
                f"<b>{self.alert_line(notice)}</b>",
                f"<b>#{esc(notice.number, 64)}</b> {esc(notice.subject, 300)}",
            ]
        )
        rows = [[InlineKeyboardButton(text=self._t("Open in helpdesk"), url=url)]] if url else []
        return payload_of(text, rows)

    def sla_digest(self, notices: Sequence[SlaNotice], *, total: int, buttons: bool) -> Payload:
        """Many warnings and breaches for one chat at once, in one message."""
        head = self._t.ngettext(
            "⏱ <b>{n} ticket is near or past its SLA target</b>",
            "⏱ <b>{n} tickets are near or past their SLA targets</b>",
            total,
        )
        shown = notices[:LIST_LINES]
        lines = [head, "", *(f"{self.alert_line(n)} · {esc(n.subject, 60)}" for n in shown)]
        if total > len(shown):
            lines.append(self._t("…and {more} more", more=total - len(shown)))
        keys = [self._show(n.ticket_id, n.number) for n in shown] if buttons else []
        return payload_of("\n".join(lines), [keys[i : i + 4] for i in range(0, len(keys), 4)])

    def sla_list(self, tickets: Sequence[AtRisk]) -> Payload:
        """``/sla``: tickets at risk and overdue, most urgent first, a button to each card."""
        if not tickets:
            return payload_of(self._t("No tickets at risk: every SLA target is on track."), [])
        head = self._t.ngettext(
            "<b>{n} ticket at risk or overdue</b>, most urgent first",
            "<b>{n} tickets at risk or overdue</b>, most urgent first",
            len(tickets),
        )
        shown = tickets[:LIST_LINES]
        lines = [head, ""]
        for item in shown:
            who = f" · {esc(item.assignee_name, 40)}" if item.assignee_name else ""
            lines.append(
                f"<b>#{esc(item.number, 32)}</b> {esc(item.subject, 60)} · "
                f"{self.sla_short(item.note)}{who}"
            )
        if len(tickets) > len(shown):
            lines.append(self._t("…and {more} more", more=len(tickets) - len(shown)))
        keys = [self._show(item.ticket_id, item.number) for item in shown]
        return payload_of("\n".join(lines), [keys[i : i + 4] for i in range(0, len(keys), 4)])

    @staticmethod
    def _show(ticket_id: int, number: str) -> InlineKeyboardButton:
        data = SlaCb(action=SlaAction.SHOW, ticket=ticket_id).pack()
        return InlineKeyboardButton(text=f"#{cut(number, 20)}", callback_data=data)

    def _moment(self, moment: datetime | None) -> str:
        return f"{moment.astimezone(self._tz):%d.%m %H:%M}" if moment else "?"
