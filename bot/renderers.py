"""Renders ticket views into Telegram payloads: HTML text and inline keyboards.

Every string that comes from a ticket is cut first and HTML-escaped after, so
no entity is ever split and nothing from a helpdesk can break the markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo

from bot.callbacks import DevAction, DevCb, DispatchAction, DispatchCb, HandAction, HandCb
from bot.connector_renderers import ConnectorRenderer
from bot.crm_renderers import CrmRenderer
from bot.dev_renderers import DevTaskRenderer
from bot.history_renderers import HistoryRenderer
from bot.i18n import Texts
from bot.line_renderers import LineRenderer
from bot.list_renderers import Button, ListRenderer, button, cut, esc, payload_of, waited
from bot.sla_renderers import SlaRenderer
from bot.time_renderers import TimeRenderer
from config.routing import Department, Person
from dispatch.durations import format_minutes as hours
from dispatch.models import TicketState, WritebackState
from dispatch.sla.views import SlaNotice
from dispatch.views import Payload, Release, ReminderNote, TicketView

EXCERPT_CHARS = 500
SUBJECT_CHARS = 300
FIELD_CHARS = 120
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class TelegramRenderer(
    ListRenderer,
    TimeRenderer,
    DevTaskRenderer,
    HistoryRenderer,
    CrmRenderer,
    ConnectorRenderer,
    SlaRenderer,
    LineRenderer,
):
    """The bot's implementation of ``dispatch.views.Renderer``."""

    def __init__(self, texts: Texts, tz: tzinfo, *, dispatch_chat: int | None = None) -> None:
        ListRenderer.__init__(self, texts, dispatch_chat=dispatch_chat)
        CrmRenderer.__init__(self, texts)
        TimeRenderer.__init__(self, texts, tz)
        DevTaskRenderer.__init__(self, texts)
        HistoryRenderer.__init__(self, texts, tz)
        ConnectorRenderer.__init__(self, texts, tz)
        SlaRenderer.__init__(self, texts, tz)
        LineRenderer.__init__(self, texts)

    def card(
        self,
        ticket: TicketView,
        *,
        departments: Sequence[Department],
        browsing: Department | None = None,
        members: Sequence[Person] = (),
        load: Mapping[str, int] | None = None,
        reminder: ReminderNote | None = None,
        reassigning: bool = False,
        take: bool = False,
        alert: SlaNotice | None = None,
    ) -> Payload:
        """The dispatch card in its current state (a short reminder when ``reminder``;
        headed by an SLA warning or breach when ``alert``)."""
        head = self._reminder_head(ticket, reminder) if reminder else self._header(ticket)
        if alert is not None:
            head = [f"<b>{self.alert_line(alert)}</b>", *head]
        lines = [*head, *self._status_lines(ticket, browsing)]
        if ticket.state == TicketState.UNASSIGNED:
            rows = (
                self._member_rows(ticket, browsing, members, load or {})
                if browsing
                else self._department_rows(ticket, departments)
            )
            if take and not browsing:
                rows.append(
                    [self._button(self._t("🙋 Take it myself"), ticket, DispatchAction.TAKE)]
                )
        elif ticket.state == TicketState.CLOSED:
            rows = []
        elif reassigning:
            lines.append(self._reassign_line(browsing))
            rows = self._reassign_rows(ticket, departments, browsing, members, load or {})
        else:
            rows = [[self._button(self._t("↪️ Reassign"), ticket, DispatchAction.REASSIGN)]]
            if ticket.writeback == WritebackState.FAILED:
                rows.insert(
                    0, [self._button(self._t("Retry saving"), ticket, DispatchAction.RETRY)]
                )
        return payload_of("\n".join(lines), rows)

    def _reassign_line(self, browsing: Department | None) -> str:
        if browsing is None:
            return self._t("↪️ Reassign: choose a department")
        return self._t("↪️ Reassign to someone in {department}:", department=esc(browsing.name))

    def _reassign_rows(
        self,
        ticket: TicketView,
        departments: Sequence[Department],
        browsing: Department | None,
        members: Sequence[Person],
        load: Mapping[str, int],
    ) -> list[list[Button]]:
        """Reassigning: the departments and "cancel", or a department's people and "back"."""
        if browsing is None:
            buttons = [
                self._button(d.name, ticket, DispatchAction.REASSIGN, dept=d.key)
                for d in departments
            ]
            back = self._button(self._t("« Cancel"), ticket, DispatchAction.CANCEL)
        else:
            buttons = [
                self._button(
                    _loaded(p, load), ticket, DispatchAction.MOVE, dept=browsing.key, person=p.key
                )
                for p in members
            ]
            back = self._button(self._t("« Back"), ticket, DispatchAction.REASSIGN)
        return [*(buttons[i : i + 2] for i in range(0, len(buttons), 2)), [back]]

    def _reminder_head(self, ticket: TicketView, reminder: ReminderNote) -> list[str]:
        return [
            self._t(
                "⏰ Reminder {count}: not assigned for {waiting}",
                count=reminder.count,
                waiting=waited(reminder.waiting, self._t),
            ),
            f"<b>#{esc(ticket.number, 64)}</b> {esc(ticket.subject, SUBJECT_CHARS)}",
            *([self.sla_line(ticket.sla)] if ticket.sla else []),
        ]

    def assignee_message(
        self, ticket: TicketView, *, dev_task: bool = False, next_line: int | None = None
    ) -> Payload:
        """The private message that hands a ticket to its assignee."""
        lines = [self._t("📌 <b>A ticket for you</b>"), *self._header(ticket)]
        if ticket.assigned_by_name and ticket.assigned_by_name != "helpdesk":
            lines.append(self._t("Assigned by {name}", name=esc(ticket.assigned_by_name)))
        rows: list[list[Button]] = []
        if ticket.url:
            rows.append([button(self._t("Open in helpdesk"), url=ticket.url)])
        if dev_task:
            data = DevCb(action=DevAction.START, ref=ticket.id).pack()
            rows.append([button(self._t("Developer task"), callback_data=data)])
        if ticket.state == TicketState.ASSIGNED:
            data = HandCb(action=HandAction.BACK, ticket=ticket.id).pack()
            rows.append([button(self._t("↩️ Hand back"), callback_data=data)])
        if next_line is not None:
            rows.append([self.pass_button(ticket.id, next_line)])
        return payload_of("\n".join(lines), rows)

    def assignee_released(self, ticket: TicketView, release: Release) -> Payload:
        """The former assignee's message: reassigned to someone else, or handed back."""
        t = self._t
        at = self._time(release.at)
        if release.to is None:
            note = t("↩️ Handed back to dispatch, {at}", at=at)
        elif release.by is None:
            note = t("↪️ Reassigned in the helpdesk: {who}, {at}", who=esc(release.to), at=at)
        else:
            note = t(
                "↪️ Reassigned: {who} · {by}, {at}",
                who=esc(release.to),
                by=esc(release.by),
                at=at,
            )
        head = f"<b>#{esc(ticket.number, 64)}</b> {esc(ticket.subject, SUBJECT_CHARS)}"
        return payload_of(f"{head}\n{note}", [])

    def _header(self, ticket: TicketView) -> list[str]:
        t = self._t
        lines = [f"<b>#{esc(ticket.number, 64)}</b> {esc(ticket.subject, SUBJECT_CHARS)}"]
        client = ", ".join(
            esc(part) for part in (ticket.client_name, ticket.client_company) if part
        )
        if client:
            lines.append(t("👤 {client}", client=client))
        details = [
            t("📂 {value}", value=esc(ticket.helpdesk_department))
            if ticket.helpdesk_department
            else "",
            t("priority: {value}", value=esc(ticket.priority)) if ticket.priority else "",
            t("type: {value}", value=esc(ticket.type)) if ticket.type else "",
            t("stage: {value}", value=self.stage_label(ticket.stage)) if ticket.stage else "",
            t("line {line}", line=ticket.line) if ticket.line else "",
            self._when(ticket.created_at),
        ]
        if any(details):
            lines.append(" · ".join(part for part in details if part))
        lines += self.crm_lines(ticket.crm)
        if ticket.over_package:
            used, package = ticket.over_package
            lines.append(
                t(
                    "📦 Over its hour package this month: {used} of {package} h",
                    used=hours(used),
                    package=hours(package),
                )
            )
        if ticket.sla:
            lines.append(self.sla_line(ticket.sla))
        if ticket.handover:
            lines.extend(self.handover_lines(ticket.handover))
        excerpt = cut(ticket.body, EXCERPT_CHARS)
        if excerpt:
            lines.append(f"<blockquote>{html.escape(excerpt, quote=False)}</blockquote>")
        if ticket.url:
            lines.append(f'<a href="{html.escape(ticket.url)}">{t("Open in helpdesk")}</a>')
        return lines

    def _status_lines(self, ticket: TicketView, browsing: Department | None) -> list[str]:
        t = self._t
        if ticket.state == TicketState.CLOSED:
            # Who handled it and how long it took stay on the card.
            parts = [t("🔒 Closed in the helpdesk"), esc(ticket.assignee_name)]
            if ticket.time_spent:
                parts.append(hours(ticket.time_spent))
            return ["", " · ".join(part for part in parts if part)]
        if ticket.state == TicketState.UNASSIGNED:
            back = ticket.handed_back
            note = (
                [t("↩️ Handed back: {who}, {at}", who=esc(back.by or "?"), at=self._time(back.at))]
                if back
                else []
            )
            if browsing is not None:
                choose = t("Choose a person in {department}:", department=esc(browsing.name))
                return ["", *note, choose]
            return ["", *note, t("🆕 Not assigned. Choose a department:")]
        return ["", self._assigned_line(ticket), *self._writeback_lines(ticket)]

    def _assigned_line(self, ticket: TicketView) -> str:
        t = self._t
        who = esc(ticket.assignee_name or "?")
        if ticket.department_name:
            who = f"{who} ({esc(ticket.department_name)})"
        at = self._time(ticket.assigned_at)
        if ticket.assigned_by_name in (None, "helpdesk"):
            return t("✅ Assigned to {who} in the helpdesk at {at}", who=who, at=at)
        return t(
            "✅ Assigned to {who} by {by} at {at}",
            who=who,
            by=esc(ticket.assigned_by_name),
            at=at,
        )

    def _writeback_lines(self, ticket: TicketView) -> list[str]:
        if ticket.writeback == WritebackState.PENDING:
            return [self._t("⏳ Saving to the helpdesk…")]
        if ticket.writeback == WritebackState.FAILED:
            return [
                self._t(
                    "⚠️ Not saved to the helpdesk: {error}",
                    error=esc(ticket.writeback_error or "?", 300),
                )
            ]
        return []

    def _department_rows(
        self, ticket: TicketView, departments: Sequence[Department]
    ) -> list[list[Button]]:
        buttons = [
            self._button(d.name, ticket, DispatchAction.DEPARTMENT, dept=d.key)
            for d in departments
        ]
        return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]

    def _member_rows(
        self,
        ticket: TicketView,
        department: Department,
        members: Sequence[Person],
        load: Mapping[str, int],
    ) -> list[list[Button]]:
        buttons = [
            self._button(
                _loaded(p, load), ticket, DispatchAction.ASSIGN, dept=department.key, person=p.key
            )
            for p in members
        ]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        rows.append([self._button(self._t("« Back"), ticket, DispatchAction.BACK)])
        return rows

    @staticmethod
    def _button(
        text: str, ticket: TicketView, action: DispatchAction, dept: str = "", person: str = ""
    ) -> Button:
        data = DispatchCb(action=action, ticket=ticket.id, dept=dept, person=person).pack()
        return button(cut(text, 60), callback_data=data)

    def _when(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        try:
            local = moment.astimezone(self._tz)
        except OverflowError:  # a helpdesk's date on the calendar's last day: shown in UTC
            local = moment
        return f"🕒 {local:%d.%m.%Y %H:%M}"

    def _time(self, moment: datetime | None) -> str:
        return f"{moment.astimezone(self._tz):%H:%M}" if moment else "?"


def _loaded(person: Person, load: Mapping[str, int]) -> str:
    """A member's button: the name and, when known, their open tickets ("Olga · 3")."""
    count = load.get(person.key)
    # The count stays whole on the button: the name is cut instead.
    return person.name if count is None else f"{cut(person.name, 50)} · {count}"
