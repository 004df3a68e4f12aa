"""The card's CRM block as the bot renders it: escaped, links only to web addresses,
in both languages."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from dispatch.crm.views import CrmCard
from dispatch.views import TicketView


def ticket() -> TicketView:
    return TicketView(
        id=1,
        number="4101",
        subject="Printer on fire",
        body="",
        priority="",
        type="",
        client_name="Maria",
        client_email="maria@acme.test",
        client_company="",
        url=None,
        created_at=datetime(2026, 12, 3, 7, 0, tzinfo=UTC),
        state="unassigned",
        department_name=None,
        assignee_name=None,
        assigned_by_name=None,
        assigned_at=None,
        writeback="none",
        writeback_error=None,
    )


CARD = CrmCard(
    found=True,
    requester_name="Maria <Ivanova>",
    position="Chief & accountant",
    company_name="Acme <LLC>",
    company_url='https://acme.test/crm/company/details/42/?a="b"',
    has_contract=True,
    contract_number="№ 12/2026",
    package_minutes=1200,
    used_minutes=1350,
    overage_minutes=150,
    portal="javascript:alert(1)",
    manager_name="Dmitry Orlov",
)


def card_text(card: CrmCard | None, language: str = "en") -> str:
    renderer = TelegramRenderer(Texts(language), ZoneInfo("Europe/Moscow"))
    view = dataclasses.replace(ticket(), crm=card)
    return str(renderer.card(view, departments=[])["text"])


def test_the_block_escapes_what_the_crm_says_and_links_only_web_addresses() -> None:
    text = card_text(CARD)
    assert (
        "🏢 In CRM: Maria &lt;Ivanova&gt;, Chief &amp; accountant, "
        '<a href="https://acme.test/crm/company/details/42/?a=&quot;b&quot;">Acme &lt;LLC&gt;</a>'
    ) in text
    assert (
        "📄 Contract № 12/2026, 20:00 h a month, 22:30 h used this month,"
        " 2:30 h over the package, portal"
    ) in text
    assert "javascript" not in text
    assert "🤝 Account manager: Dmitry Orlov" in text
    assert "CRM" not in card_text(None)
    assert "🏢 Not in CRM" in card_text(CrmCard(found=False))
    no_contract = dataclasses.replace(CARD, has_contract=False, manager_name=None)
    assert "📄 No support contract in CRM" in card_text(no_contract)


def test_the_block_in_russian() -> None:
    text = card_text(CARD, "ru")
    assert "🏢 В CRM: Maria &lt;Ivanova&gt;" in text
    assert (
        "📄 Договор № 12/2026, 20:00 ч в месяц, в этом месяце использовано 22:30 ч,"
        " сверх пакета 2:30 ч, портал"
    ) in text
    assert "🤝 Менеджер клиента: Dmitry Orlov" in text
    assert "🏢 Нет в CRM" in card_text(CrmCard(found=False), "ru")
    unlimited = dataclasses.replace(
        CARD, package_minutes=None, used_minutes=None, overage_minutes=0
    )
    assert "📄 Договор № 12/2026, без ограничения, портал" in card_text(unlimited, "ru")
