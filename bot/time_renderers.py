"""Time prompts, package alerts and ``/missing``, rendered for Telegram."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import tzinfo

from aiogram.types import InlineKeyboardButton

from bot.callbacks import TimeAction, TimeCb
from bot.i18n import Texts
from bot.list_renderers import esc, payload_of
from dispatch.durations import format_minutes as hours
from dispatch.formats import month_name, share
from dispatch.views import MissingTime, PackageAlert, Payload, TimePromptView

#: The quick answers of a time prompt, in minutes.
QUICK = (15, 30, 45, 60, 90, 120, 180)


class TimeRenderer:
    """Renders everything about time spent."""

    def __init__(self, texts: Texts, tz: tzinfo) -> None:
        self._t = texts
        self._tz = tz

    def _head(self, prompt: TimePromptView) -> list[str]:
        ticket = prompt.ticket
        client = ", ".join(
            esc(part)
            for part in (prompt.client_name or ticket.client_company, ticket.client_name)
            if part
        )
        lines = [f"<b>#{esc(ticket.number, 64)}</b> {esc(ticket.subject, 200)}"]
        if client:
            lines.append(self._t("👤 {client}", client=client))
        if prompt.round > 1:
            lines.append(self._t("Closed again: time for this round only."))
        return lines

    def time_prompt(self, prompt: TimePromptView) -> Payload:
        """Ask the assignee how long a closed ticket took, with quick answers."""
        lines = [
            self._t("⏱ <b>Ticket closed. How much time did it take?</b>"),
            *self._head(prompt),
        ]
        button = self._buttons(prompt)
        quick = [button(self._quick(minutes), TimeAction.SET, minutes) for minutes in QUICK]
        rows = [quick[:4], quick[4:]]
        rows.append(
            [
                button(self._t("other…"), TimeAction.OTHER),
                button(self._t("no charge (our fault)"), TimeAction.FREE),
            ]
        )
        return payload_of("\n".join(lines), rows)

    def time_prompt_free(self, prompt: TimePromptView) -> Payload:
        """After "no charge": the time is asked below, recorded unbilled; a way back."""
        lines = [
            self._t("⏱ <b>How much time did it take? It is recorded with no charge.</b>"),
            *self._head(prompt),
        ]
        button = self._buttons(prompt)
        return payload_of("\n".join(lines), [[button(self._t("Change"), TimeAction.CHANGE)]])

    @staticmethod
    def _buttons(prompt: TimePromptView) -> Callable[..., InlineKeyboardButton]:
        def button(text: str, action: TimeAction, minutes: int = 0) -> InlineKeyboardButton:
            data = TimeCb(action=action, prompt=prompt.prompt_id, minutes=minutes).pack()
            return InlineKeyboardButton(text=text, callback_data=data)

        return button

    def _quick(self, minutes: int) -> str:
        """A quick answer's label in the language's units: ``1h30`` / ``1 ч 30 мин``."""
        hours, rest = divmod(minutes, 60)
        if not hours:
            return self._t("{minutes}m", minutes=rest)
        if not rest:
            return self._t("{hours}h", hours=hours)
        return self._t("{hours}h{minutes:02d}", hours=hours, minutes=rest)

    def time_recorded(self, prompt: TimePromptView, *, minutes: int, billable: bool) -> Payload:
        """The prompt once answered: the recorded value and a "change" button."""
        if billable:
            line = self._t("✅ Recorded: {time}", time=hours(minutes))
        else:
            line = self._t("✅ Recorded: {time}, no charge", time=hours(minutes))
        data = TimeCb(action=TimeAction.CHANGE, prompt=prompt.prompt_id).pack()
        rows = [[InlineKeyboardButton(text=self._t("Change"), callback_data=data)]]
        return payload_of("\n".join([*self._head(prompt), line]), rows)

    def time_question(self, *, refused: str | None, free: bool = False) -> Payload:
        """Ask for a typed value by reply, saying why the last one was refused."""
        ask = self._t("How much time did it take? Reply to this message, e.g. 1h 30m, 90 or 1:30.")
        if free:
            ask = f"{ask} {self._t('It is recorded with no charge.')}"
        reasons = {
            "zero": self._t("Zero is not a time spent."),
            "too long": self._t("More than 24 hours is not accepted for one ticket."),
        }
        text = (
            ask
            if refused is None
            else f"{reasons.get(refused, self._t('I could not read that.'))} {ask}"
        )
        return {
            "text": text,
            "reply_markup": {
                "force_reply": True,
                "input_field_placeholder": self._t("1h 30m"),
            },
        }

    def package_alert(self, alert: PackageAlert) -> Payload:
        """The account manager's message about a client's hour package."""
        used, package = alert.used_minutes, alert.package_minutes
        language = self._t.language
        figures = {
            "client": esc(alert.client_name),
            "month": month_name(alert.month, language),
            "used": hours(used),
            "package": hours(package),
            "share": share(used, package, language),
        }
        if used > package:
            text = self._t(
                "📦 <b>{client}</b> · {month}: {used} of {package} h used,"
                " {over} over the package ({share})",
                over=hours(used - package),
                **figures,
            )
        else:
            text = self._t(
                "📦 <b>{client}</b> · {month}: {used} of {package} h used ({share}),"
                " {left} h left",
                left=hours(package - used),
                **figures,
            )
        return payload_of(text, [])

    def missing_time(self, rows: Sequence[MissingTime]) -> Payload:
        """``/missing``: closed tickets without time, by person."""
        if not rows:
            return payload_of(self._t("Every closed ticket has its time. 👍"), [])
        lines = [self._t("<b>Closed tickets without time</b>")]
        person = None
        for row in rows[:60]:
            if row.person_name != person:
                person = row.person_name
                lines.append(f"\n<b>{esc(person)}</b>")
            closed = f"{row.closed_at.astimezone(self._tz):%d.%m %H:%M}"
            lines.append(f"#{esc(row.number, 32)} {esc(row.subject, 60)} · {closed}")
        return payload_of("\n".join(lines), [])
