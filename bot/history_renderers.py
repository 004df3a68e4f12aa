"""A ticket's history (``/history N``), rendered for Telegram in the bot's language."""

from __future__ import annotations

from datetime import tzinfo

from bot.i18n import Texts
from bot.list_renderers import esc, payload_of
from dispatch.events import EventKind
from dispatch.history import PERSON_FIELDS, TicketHistory, Timeline, TimelineEntry
from dispatch.views import Payload

#: Telegram allows 4096 characters; the newest events are kept when a history is longer.
MAX_CHARS = 3800

#: Each kind's label: message ids for the catalogs.
KIND_LABELS: dict[EventKind, str] = {
    EventKind.CREATED: "created",
    EventKind.UPDATED: "updated",
    EventKind.STATUS_CHANGED: "status changed",
    EventKind.DEPARTMENT_CHOSEN: "department chosen",
    EventKind.ASSIGNED: "assigned",
    EventKind.REASSIGNED: "reassigned",
    EventKind.UNASSIGNED: "unassigned",
    EventKind.WRITEBACK_RETRIED: "saving to the helpdesk retried",
    EventKind.WRITEBACK_DONE: "saved to the helpdesk",
    EventKind.WRITEBACK_FAILED: "saving to the helpdesk failed",
    EventKind.REMINDED: "reminder",
    EventKind.ESCALATED: "escalated",
    EventKind.FIRST_STAFF_REPLY: "first staff reply",
    EventKind.STAFF_REPLIED: "staff reply",
    EventKind.CLIENT_REPLIED: "client reply",
    EventKind.DEV_TASK_CREATED: "developer task created",
    EventKind.DEV_TASK_COMMENTED: "comment in the developer task",
    EventKind.DEV_TASK_DONE: "developer task done",
    EventKind.DEV_TASK_REOPENED: "developer task reopened",
    EventKind.CLOSED: "closed",
    EventKind.REOPENED: "reopened",
    EventKind.TIME_RECORDED: "time recorded",
    EventKind.TIME_CHANGED: "time changed",
    EventKind.FORBIDDEN_WORD: "forbidden words in a reply",
    EventKind.STAGE_CHANGED: "stage changed",
    EventKind.SLA_WARNED: "SLA warning",
    EventKind.SLA_BREACHED: "SLA target missed",
    EventKind.PASSED_TO_LINE: "passed to the next line",
}

#: Changed fields and details shown by a translated name; others by their own name.
FIELD_LABELS: dict[str, str] = {
    "assignee": "assignee",
    "department": "department",
    "status": "status",
    "state": "state",
    "subject": "subject",
    "priority": "priority",
    "minutes": "minutes",
    "billable": "billable",
    "task": "task",
    "how": "how",
    "count": "count",
    "stage": "stage",
    "line": "line",
    "comment": "comment",
    "target": "target",
}


#: Details too long for a line of the history: links, a reply's whole text.
_UNSHOWN = frozenset({"url", "text"})


class HistoryRenderer:
    """Renders ``dispatch.history`` timelines."""

    def __init__(self, texts: Texts, tz: tzinfo) -> None:
        self._t = texts
        self._tz = tz

    def history(self, timeline: Timeline, history: TicketHistory) -> Payload:
        """One line per event, oldest first; the oldest dropped when it is too long."""
        title = self._t(
            "🕑 <b>History of #{number}</b> {subject}",
            number=esc(timeline.number, 64),
            subject=esc(timeline.subject),
        )
        lines = [self._line(entry, history) for entry in timeline.entries]
        while lines and len(title) + sum(len(line) + 1 for line in lines) > MAX_CHARS:
            lines.pop(0)
        if not lines:
            lines = [self._t("No events yet.")]
        return payload_of("\n".join([title, *lines]), [])

    def history_not_found(self, reference: str) -> Payload:
        """No ticket has that number."""
        return payload_of(self._t("No ticket #{number}.", number=esc(reference, 64)), [])

    def _line(self, entry: TimelineEntry, history: TicketHistory) -> str:
        when = entry.at.astimezone(self._tz).strftime("%Y-%m-%d %H:%M")
        kind = self._t(KIND_LABELS[entry.kind])
        parts = []
        for name, (old, new) in entry.changes.items():
            if name in PERSON_FIELDS:
                old, new = history.person_name(old), history.person_name(new)
            parts.append(f"{self._field(name)}: {_shown(old)} → {_shown(new)}")
        for name, value in entry.detail.items():
            if value not in (None, "", {}) and name not in _UNSHOWN:
                parts.append(f"{self._field(name)}: {_shown(value)}")
        details = esc("; ".join(parts), 300)
        actor = esc(entry.actor_name, 64)
        return f"<code>{when}</code> <b>{esc(kind, 64)}</b> · {actor}" + (
            f" · {details}" if details else ""
        )

    def _field(self, name: str) -> str:
        label = FIELD_LABELS.get(name)
        return self._t(label) if label else name


def _shown(value: object) -> str:
    if value is None or value == "":
        return "—"
    if value is True:
        return "✓"
    if value is False:
        return "✗"
    return str(value)
