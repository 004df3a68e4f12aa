"""Support-line texts: the hand-over question, and how a card tells a ticket was passed on."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton

from bot.callbacks import LineAction, LineCb
from bot.i18n import Texts
from bot.list_renderers import Button, button, cut, esc, payload_of
from config.routing import Department
from dispatch.lines.views import HandoverNote, LineQuestion, Payload


class LineRenderer:
    """Renders ``dispatch.lines.views`` for Telegram."""

    def __init__(self, texts: Texts) -> None:
        self._t = texts

    def line_question(self, question: LineQuestion, departments: Sequence[Department]) -> Payload:
        """Choose the department of the next line; a reply adds a comment."""
        t = self._t
        lines = [
            t(
                "➡️ <b>Pass #{number} to line {line}</b>",
                number=esc(question.number, 64),
                line=question.to_line,
            ),
            esc(question.subject, 300),
            "",
        ]
        if question.comment:
            lines.append(t("💬 Comment: {comment}", comment=esc(question.comment, 1000)))
        if question.passed_to is not None:
            lines.append(
                t(
                    "✅ Passed to line {line}, department {department}",
                    line=question.to_line,
                    department=esc(question.passed_to),
                )
            )
            return payload_of("\n".join(lines), [])
        lines.append(
            t(
                "Choose the department. To leave a comment for the next line, reply to this "
                "message first."
            )
        )
        buttons = [
            InlineKeyboardButton(
                text=cut(department.name, 60),
                callback_data=LineCb(
                    action=LineAction.PICK, ref=question.handover_id, dept=department.key
                ).pack(),
            )
            for department in departments
        ]
        return payload_of(
            "\n".join(lines), [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        )

    def pass_button(self, ticket_id: int, line: int) -> Button:
        """The assignee's "pass to line N" button."""
        data = LineCb(action=LineAction.START, ref=ticket_id).pack()
        return button(self._t("➡️ Pass to line {line}", line=line), callback_data=data)

    def handover_lines(self, note: HandoverNote) -> list[str]:
        """On the card of a ticket passed on: from where, by whom, to which department, why."""
        t = self._t
        if note.department_name:
            head = t(
                "➡️ Passed on from line {line} to {department} by {who}",
                line=note.from_line,
                department=esc(note.department_name),
                who=esc(note.by_name),
            )
        else:
            head = t(
                "➡️ Passed on from line {line} by {who}", line=note.from_line, who=esc(note.by_name)
            )
        return (
            [head, t("💬 {comment}", comment=esc(note.comment, 500))] if note.comment else [head]
        )
