"""Developer tasks, rendered for Telegram."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton

from bot.callbacks import DevAction, DevCb
from bot.i18n import Texts
from bot.list_renderers import cut, esc, payload_of
from config.routing import Person
from dispatch.views import DevTaskView, Payload, TicketView


def _button(text: str, action: DevAction, ref: int, person: str = "") -> InlineKeyboardButton:
    data = DevCb(action=action, ref=ref, person=person).pack()
    return InlineKeyboardButton(text=cut(text, 60), callback_data=data)


class DevTaskRenderer:
    """Everything the bot shows about developer tasks."""

    def __init__(self, texts: Texts) -> None:
        self._t = texts

    @staticmethod
    def _ticket(ticket: TicketView) -> str:
        return f"<b>#{esc(ticket.number, 64)}</b> {esc(ticket.subject, 200)}"

    def _task(self, task: DevTaskView) -> list[str]:
        lines = [self._ticket(task.ticket)]
        if task.url:
            lines.append(f'<a href="{esc(task.url, 500)}">{self._t("Open the task")}</a>')
        return lines

    def dev_question(self, ticket: TicketView, *, question_id: int) -> Payload:
        """Ask the specialist what the developer should do."""
        text = "\n".join(
            [
                self._t("🛠 <b>Developer task</b>"),
                self._ticket(ticket),
                self._t(
                    "What should the developer do? Reply to this message with a short "
                    "statement, or use the ticket text."
                ),
            ]
        )
        return payload_of(
            text, [[_button(self._t("Use the ticket text"), DevAction.TEXT, question_id)]]
        )

    def dev_pick(self, ticket: TicketView, developers: Sequence[Person], *, draft: int) -> Payload:
        """Choose the developer for a new task."""
        buttons = [_button(p.name, DevAction.PICK, draft, p.key) for p in developers]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        text = "\n".join([self._ticket(ticket), self._t("Who should do it?")])
        return payload_of(text, rows)

    def dev_created(self, task: DevTaskView, *, for_developer: bool) -> Payload:
        """A task was created: to the specialist, or handed to the developer."""
        head = (
            self._t("🛠 <b>A developer task for you</b>")
            if for_developer
            else self._t(
                "🛠 Developer task created for {name}", name=esc(task.developer_name or "?")
            )
        )
        lines = [head, *self._task(task)]
        if for_developer and task.statement:
            lines.append(f"<blockquote>{esc(task.statement, 1500)}</blockquote>")
        return payload_of("\n".join(lines), [])

    def dev_comment(self, task: DevTaskView, *, author: str, text: str) -> Payload:
        """A developer's comment, with a button to reply into the task."""
        lines = [
            self._t("💬 <b>{author}</b> in the developer task:", author=esc(author)),
            *self._task(task),
            f"<blockquote>{esc(text, 3000)}</blockquote>",
        ]
        return payload_of(
            "\n".join(lines),
            [[_button(self._t("Reply in the task"), DevAction.REPLY, task.task_id)]],
        )

    def dev_state(self, task: DevTaskView) -> Payload:
        """The task was completed ("answer the client") or reopened."""
        head = (
            self._t("✅ <b>Developer task done — answer the client</b>")
            if task.closed
            else self._t("↩️ <b>The developer task was reopened</b>")
        )
        return payload_of("\n".join([head, *self._task(task)]), [])

    def dev_reply_question(self, task: DevTaskView) -> Payload:
        """Ask for the text of a reply into the task."""
        text = "\n".join(
            [
                *self._task(task),
                self._t("Reply to this message with your answer for the developer."),
            ]
        )
        return {"text": text, "reply_markup": {"force_reply": True}}

    def dev_task_list(self, tasks: Sequence[DevTaskView]) -> Payload:
        """``/tasks``: my developer tasks and their states."""
        if not tasks:
            return payload_of(self._t("No developer tasks."), [])
        lines = [self._t("<b>Developer tasks</b>")]
        for task in tasks[:40]:
            state = self._t("done") if task.closed else self._t("open")
            link = f' · <a href="{esc(task.url, 500)}">↗</a>' if task.url else ""
            lines.append(
                f"{self._ticket(task.ticket)} · {esc(task.developer_name or '?')} · {state}{link}"
            )
        return payload_of("\n".join(lines), [])
