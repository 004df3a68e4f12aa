"""The routing file's crm section (problems with file and line) and the card's CRM block
as the bot renders it (escaped, links only to web addresses, both languages)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.errors import RoutingConfigError
from config.routing import load_routing_text
from connectors.registry import default_registry
from dispatch.crm.views import CrmCard
from dispatch.views import TicketView
from tests.conftest import ROUTING_YAML

START = ROUTING_YAML.count("\n") + 1  # the line of "crm:"


def problems(section: str) -> list[str]:
    with pytest.raises(RoutingConfigError) as caught:
        load_routing_text(
            ROUTING_YAML + section, "r.yaml", connectors=default_registry().known_slugs()
        )
    return [str(problem) for problem in caught.value.problems]


def test_the_crm_section_and_its_defaults() -> None:
    routing = load_routing_text(ROUTING_YAML, "r.yaml")
    assert routing.crm.kind is None
    assert routing.crm.cache_ttl == timedelta(minutes=15)
    assert not routing.crm.clients_from_crm
    full = load_routing_text(
        ROUTING_YAML
        + "crm:\n  kind: bitrix24\n  contract:\n    deal_category: 3\n"
        + "    fields: {hours_per_month: UF_CRM_HOURS, portal: UF_CRM_PORTAL_URL}\n"
        + "  cache_ttl: 1h\n  clients_from_crm: true\n",
        "r.yaml",
        connectors=default_registry().known_slugs(),
    )
    assert full.crm.contract.deal_category == 3
    assert full.crm.contract.fields.hours_per_month == "UF_CRM_HOURS"
    assert full.crm.cache_ttl == timedelta(hours=1)


def test_problems_name_their_line() -> None:
    assert problems(
        "crm:\n"
        "  kind: amo\n"
        "  contract:\n"
        "    deal_category: -1\n"
        "    fields:\n"
        "      hours: UF_CRM_HOURS\n"
        "      hour_rate: uf_crm_rate\n"
        "  cache_ttl: soon\n"
    ) == [
        f"r.yaml:{START + 1}: crm.kind: unknown crm 'amo'; known: bitrix24",
        f"r.yaml:{START + 3}: crm.contract.deal_category: input should be greater than or"
        " equal to 0",
        f"r.yaml:{START + 5}: crm.contract.fields.hours: unknown key",
        f"r.yaml:{START + 6}: crm.contract.fields.hour_rate: invalid field code"
        " 'uf_crm_rate': use the CRM's code, e.g. UF_CRM_HOURS",
        f"r.yaml:{START + 7}: crm.cache_ttl: invalid duration 'soon': use e.g. 30s, 5m, 1h"
        " or 1h30m",
    ]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("crm:\n  clients_from_crm: true\n", "needs crm.kind"),
        (
            "crm:\n  kind: bitrix24\n  clients_from_crm: true\n",
            "needs crm.contract.deal_category (the pipeline of support deals)",
        ),
        (
            "crm:\n  kind: bitrix24\n  contract: {deal_category: 3}\n  clients_from_crm: true\n",
            "needs crm.contract.fields.hours_per_month",
        ),
    ],
)
def test_clients_from_crm_needs_the_contract_configured(section: str, message: str) -> None:
    line = START + section.count("\n") - 1
    assert problems(section) == [f"r.yaml:{line}: crm.clients_from_crm: {message}"]


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
