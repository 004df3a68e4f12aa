"""The internal notes Modest writes into helpdesk tickets (plain text, the routing language).

They are not Telegram messages, so they are not the bot's to render: the texts are
templates of the same gettext catalogs, translated by the deployment's ``Translate``.
"""

from __future__ import annotations

from dispatch.durations import format_minutes as hours
from dispatch.report_files import Translate


class HelpdeskNotes:
    """Texts of the internal notes: time recorded, hand backs, developer tasks, support lines."""

    def __init__(self, translate: Translate) -> None:
        self._t = translate

    def time_note(self, *, who: str, minutes: int, billable: bool) -> str:
        """The note recording a close's time spent."""
        if billable:
            return self._t("Time spent: {time} ({who})", time=hours(minutes), who=who)
        return self._t("Time spent: {time} ({who}), no charge", time=hours(minutes), who=who)

    def hand_back_note(self, *, who: str) -> str:
        """The note of an assignee giving the ticket back to dispatch."""
        return self._t("Handed back to dispatch by {who} in Modest.", who=who)

    def dev_note(self, kind: str, *, url: str | None, author: str = "", text: str = "") -> str:
        """A note about a developer task: ``created``, ``comment``, ``done``, ``reopened``."""
        link = url or ""
        if kind == "created":
            return self._t("Developer task created: {url}", url=link)
        if kind == "comment":
            return self._t(
                "Developer {author} in the task {url}: {text}", author=author, url=link, text=text
            )
        if kind == "done":
            return self._t("Developer task done: {url}", url=link)
        return self._t("Developer task reopened: {url}", url=link)

    def line_note(self, *, line: int, department: str, who: str, comment: str) -> str:
        """The note of a ticket passed on to the next support line."""
        if comment:
            return self._t(
                "Passed to line {line} ({department}) by {who}: {comment}",
                line=line,
                department=department,
                who=who,
                comment=comment,
            )
        return self._t(
            "Passed to line {line} ({department}) by {who}",
            line=line,
            department=department,
            who=who,
        )
