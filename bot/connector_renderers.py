"""Connectors that stop working, and the tickets that could not be read meanwhile."""

from __future__ import annotations

from datetime import datetime, tzinfo

from aiogram.types import InlineKeyboardButton

from bot.callbacks import FetchAction, FetchCb
from bot.i18n import Texts
from bot.list_renderers import esc, payload_of
from dispatch.views import ConnectorStatus, FetchProblem, Payload, UnreadableTicket

ERROR_CHARS = 300


class ConnectorRenderer:
    """The bot's side of ``dispatch.views.ConnectorMessages``."""

    def __init__(self, texts: Texts, tz: tzinfo) -> None:
        self._t = texts
        self._tz = tz

    def connector_down(self, status: ConnectorStatus) -> Payload:
        """An admin's message: a connector stopped working (one per outage)."""
        t = self._t
        lines = [
            t(
                "⚠️ <b>{title} is not working</b> since {at}: {error}",
                title=esc(status.title),
                at=self._moment(status.failing_since),
                error=esc(status.error, ERROR_CHARS),
            )
        ]
        if status.refused:
            lines.append(
                t(
                    "{title} refuses Modest's credentials: fix them in the settings"
                    " and restart Modest.",
                    title=esc(status.title),
                )
            )
        if status.blocks_intake:
            lines.append(t("New tickets may not reach the dispatch chat until it works again."))
        return payload_of("\n".join(lines), [])

    def connector_back(self, status: ConnectorStatus, *, since: datetime) -> Payload:
        """An admin's message: the connector works again."""
        text = self._t(
            "✅ <b>{title} works again</b>; it was failing since {at}.",
            title=esc(status.title),
            at=self._moment(since),
        )
        return payload_of(text, [])

    def unreadable_ticket(self, ticket: UnreadableTicket) -> Payload:
        """The dispatch chat's notice, with a button that reads the ticket again."""
        text = self._t(
            "⚠️ <b>#{number}</b>: could not be read from {helpdesk}: {reason}",
            number=esc(ticket.external_id, 64),
            helpdesk=esc(ticket.helpdesk),
            reason=self._reason(ticket),
        )
        data = FetchCb(action=FetchAction.RETRY, job=ticket.job_id, notice=ticket.notice_id)
        button = InlineKeyboardButton(text=self._t("Read again"), callback_data=data.pack())
        return payload_of(text, [[button]])

    def rereading_ticket(self, ticket: UnreadableTicket) -> Payload:
        """The notice while the ticket is read again."""
        text = self._t(
            "⏳ <b>#{number}</b>: reading it again from {helpdesk}…",
            number=esc(ticket.external_id, 64),
            helpdesk=esc(ticket.helpdesk),
        )
        return payload_of(text, [])

    def ticket_read(self, ticket: UnreadableTicket) -> Payload:
        """The notice once the ticket was read."""
        text = self._t(
            "✅ <b>#{number}</b>: read from {helpdesk}; its card follows.",
            number=esc(ticket.external_id, 64),
            helpdesk=esc(ticket.helpdesk),
        )
        return payload_of(text, [])

    def _reason(self, ticket: UnreadableTicket) -> str:
        match ticket.problem:
            case FetchProblem.REFUSED:
                return self._t("invalid API key")
            case FetchProblem.FORBIDDEN:
                return self._t("no access to this ticket")
            case _:
                return esc(ticket.detail, ERROR_CHARS)

    def _moment(self, moment: datetime | None) -> str:
        return f"{moment.astimezone(self._tz):%d.%m %H:%M}" if moment else "?"
