"""The routing file's crm section: its defaults, and its problems with file and line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config.errors import RoutingConfigError
from config.routing import load_routing_text
from connectors.registry import default_registry
from tests.support.routing import ROUTING_YAML

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
