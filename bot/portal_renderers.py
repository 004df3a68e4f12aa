"""The client cabinet's messages to staff, rendered for Telegram in the bot's language."""

from __future__ import annotations

from bot.i18n import Texts
from bot.list_renderers import esc, payload_of
from dispatch.views import Payload

#: A client's tariff request is shown whole (Telegram allows 4096 characters).
REQUEST_CHARS = 2000


class PortalNoticeRenderer:
    """The bot's implementation of ``dispatch.portal.notices.PortalNotices``."""

    def __init__(self, texts: Texts) -> None:
        self._t = texts

    def invitation(self, *, client: str, name: str, email: str, link: str) -> Payload:
        """A one-time link to pass to a new client user."""
        lines = [
            self._t("🔑 <b>Client cabinet: {client}</b>", client=esc(client)),
            self._t(
                "Invitation for {name} ({email}). Pass on this one-time link (valid 7 days):",
                name=esc(name),
                email=esc(email),
            ),
            esc(link, 300),
        ]
        return payload_of("\n".join(lines), [])

    def tariff_request(self, *, client: str, name: str, email: str, text: str) -> Payload:
        """A client asks to change its tariff."""
        lines = [
            self._t("💼 <b>{client}</b> asks to change the tariff", client=esc(client)),
            self._t("From: {name} ({email})", name=esc(name), email=esc(email)),
            "",
            esc(text, REQUEST_CHARS),
        ]
        return payload_of("\n".join(lines), [])

    def password_request(self, *, client: str, client_key: str, name: str, email: str) -> Payload:
        """A client user forgot the password and asks for a new link."""
        lines = [
            self._t(
                "🔑 <b>{client}</b>: {name} ({email}) forgot the cabinet password.",
                client=esc(client),
                name=esc(name),
                email=esc(email),
            ),
            self._t(
                "Send a new link: /invite {key} {email}", key=esc(client_key), email=esc(email)
            ),
        ]
        return payload_of("\n".join(lines), [])
