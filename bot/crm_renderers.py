"""The CRM block of a dispatch card: who wrote, the company, the contract, the manager."""

from __future__ import annotations

import html

from bot.i18n import Texts
from bot.list_renderers import esc
from dispatch.crm.views import CrmCard
from dispatch.durations import format_minutes as hours

_URL_CHARS = 500


def _link(url: str | None, text: str) -> str:
    # Links come from the CRM: only web addresses, escaped for the attribute.
    if not url or not url.startswith(("https://", "http://")) or len(url) > _URL_CHARS:
        return text
    return f'<a href="{html.escape(url, quote=True)}">{text}</a>'


class CrmRenderer:
    """Renders :class:`CrmCard` as lines of a card."""

    def __init__(self, texts: Texts) -> None:
        self._t = texts

    def crm_lines(self, card: CrmCard | None) -> list[str]:
        """The block's lines; none before the look-up answered."""
        if card is None:
            return []
        t = self._t
        if not card.found:
            return [t("🏢 Not in CRM")]
        who = [esc(card.requester_name) or t("a contact without a name")]
        if card.position:
            who.append(esc(card.position))
        if card.company_name:
            who.append(_link(card.company_url, esc(card.company_name)))
        lines = [t("🏢 In CRM: {who}", who=", ".join(who))]
        lines.append(self._contract_line(card))
        if card.manager_name:
            lines.append(t("🤝 Account manager: {name}", name=esc(card.manager_name)))
        return lines

    def _contract_line(self, card: CrmCard) -> str:
        t = self._t
        if not card.has_contract:
            return t("📄 No support contract in CRM")
        number = esc(card.contract_number, 60)
        parts = [t("Contract {number}", number=number) if number else t("Contract")]
        if card.package_minutes is None:
            parts.append(t("unlimited"))
        else:
            parts.append(t("{hours} h a month", hours=hours(card.package_minutes)))
        if card.used_minutes is not None:
            parts.append(t("{hours} h used this month", hours=hours(card.used_minutes)))
        if card.overage_minutes > 0:
            parts.append(t("{hours} h over the package", hours=hours(card.overage_minutes)))
        if card.portal:
            parts.append(_link(card.portal, t("portal")))
        return "📄 " + ", ".join(parts)
