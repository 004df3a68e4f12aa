"""Bitrix24 CRM connector against respx-mocked answers in the shapes apidocs.bitrix24.ru
documents (``tests/fixtures/bitrix24/crm_answers.json``), and the request budget it
shares with the tracker on the same portal. Time is faked where it is counted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from config.routing import load_routing_text
from config.settings import load_settings
from connectors.base import PermanentError, TransientError
from connectors.bitrix24 import Bitrix24Connector
from connectors.bitrix24_crm import Bitrix24CrmConnector
from connectors.bitrix24_rest import Bitrix24Error, PortalRateLimiter
from connectors.budgets import SharedBudgets
from connectors.crm import CRM, CrmContact
from connectors.plugin import SettingsMissing
from connectors.registry import default_registry
from connectors.trackers import TRACKER
from modest.wiring import build_crm, build_tracker
from tests.support.connectors import failures_and_logs
from tests.support.crm import CRM_ANSWERS, CRM_CODE, CRM_ROOT, crm_answer
from tests.support.paths import FIXTURES
from tests.support.routing import ROUTING_YAML

TRACKER_ROOT = "https://acme.bitrix24.test/rest/7/tracker-code/"
TASK_GET = json.loads((FIXTURES / "bitrix24" / "answers.json").read_text("utf-8"))["task_get"]
FIELDS = {
    "hours_per_month": "UF_CRM_HOURS",
    "hour_rate": "UF_CRM_RATE",
    "overage_rate": "UF_CRM_OVERAGE_RATE",
    "contract": "UF_CRM_CONTRACT_NO",
    "portal": "UF_CRM_PORTAL_URL",
}


def sent(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


class FakeTime:
    """One clock for the limiter and the back-off, moving only when the code sleeps."""

    def __init__(self) -> None:
        self.now = 1_752_577_200.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=CRM_ROOT, assert_all_called=False) as router:
        yield router


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def make(fake: FakeTime, **options: Any) -> Bitrix24CrmConnector:
    options.setdefault("limiter", PortalRateLimiter(clock=fake.clock, sleep=fake.sleep))
    options.setdefault("deal_category", 3)
    options.setdefault("fields", FIELDS)
    return Bitrix24CrmConnector(
        webhook_url=CRM_ROOT, sleep=fake.sleep, wall_clock=fake.clock, **options
    )


@pytest.fixture
async def crm(fake: FakeTime) -> AsyncIterator[Bitrix24CrmConnector]:
    connector = make(fake)
    yield connector
    await connector.aclose()


async def test_a_contact_found_by_email_with_its_primary_company(
    api: respx.MockRouter, crm: Bitrix24CrmConnector
) -> None:
    listing = api.post("crm.contact.list").mock(return_value=crm_answer("contact_list_one"))
    links = api.post("crm.contact.company.items.get").mock(
        return_value=crm_answer("contact_companies_one")
    )
    duplicates = api.post("crm.duplicate.findbycomm")
    (contact,) = await crm.find_contacts(email="  m@acme.test ")
    assert contact == CrmContact("12", "Maria Ivanova", "Chief accountant", ("42",))
    body = sent(listing)
    assert body["filter"] == {"EMAIL": "m@acme.test"}  # exact match: trimmed, as written
    assert {"ID", "NAME", "LAST_NAME", "POST", "COMPANY_ID"} <= set(body["select"])
    assert sent(links) == {"id": "12"}
    assert not duplicates.called


async def test_not_found_exactly_asks_for_duplicates_then_says_nobody(
    api: respx.MockRouter, crm: Bitrix24CrmConnector
) -> None:
    api.post("crm.contact.list").mock(return_value=crm_answer("contact_list_none"))
    none = crm_answer("duplicates_none")
    duplicates = api.post("crm.duplicate.findbycomm").mock(return_value=none)
    assert await crm.find_contacts(email="Nobody@Example.test") == []
    assert sent(duplicates) == {
        "type": "EMAIL",
        "values": ["Nobody@Example.test"],
        "entity_type": "CONTACT",
    }
    assert await crm.find_contacts(email="not an address") == []
    assert duplicates.call_count == 1  # nothing sent for what is not an address


async def test_a_differently_written_address_is_found_through_duplicates(
    api: respx.MockRouter, crm: Bitrix24CrmConnector
) -> None:
    listing = api.post("crm.contact.list")
    listing.side_effect = [crm_answer("contact_list_none"), crm_answer("contact_list_one")]
    api.post("crm.duplicate.findbycomm").mock(return_value=crm_answer("duplicates_contact"))
    api.post("crm.contact.company.items.get").mock(
        return_value=crm_answer("contact_companies_one")
    )
    (contact,) = await crm.find_contacts(email="M@Acme.Test")
    assert contact.external_id == "12"
    assert sent(listing)["filter"] == {"=ID": [12]}


async def test_several_contacts_oldest_first_and_only_those_with_a_company_cost_more(
    api: respx.MockRouter, crm: Bitrix24CrmConnector
) -> None:
    api.post("crm.contact.list").mock(return_value=crm_answer("contact_list_two"))
    links = api.post("crm.contact.company.items.get").mock(
        return_value=crm_answer("contact_companies_one")
    )
    found = await crm.find_contacts(email="m@acme.test")
    assert [(c.external_id, c.company_ids) for c in found] == [("12", ("42",)), ("15", ())]
    assert links.call_count == 1  # the contact without a primary company has none at all


async def test_a_contact_with_two_companies_lists_the_primary_first(
    api: respx.MockRouter, crm: Bitrix24CrmConnector
) -> None:
    api.post("crm.contact.list").mock(return_value=crm_answer("contact_list_one"))
    api.post("crm.contact.company.items.get").mock(
        return_value=crm_answer("contact_companies_two")
    )
    (contact,) = await crm.find_contacts(email="m@acme.test")
    assert contact.company_ids == ("42", "43")


async def test_a_phone_is_looked_up_through_duplicates_normalised(
    api: respx.MockRouter, crm: Bitrix24CrmConnector
) -> None:
    duplicates = api.post("crm.duplicate.findbycomm").mock(
        return_value=crm_answer("duplicates_contact")
    )
    api.post("crm.contact.list").mock(return_value=crm_answer("contact_list_one"))
    api.post("crm.contact.company.items.get").mock(
        return_value=crm_answer("contact_companies_one")
    )
    (contact,) = await crm.find_contacts(phone="+7 (495) 123-45-67")
    assert contact.name == "Maria Ivanova"
    assert sent(duplicates)["values"] == ["+74951234567"]
    assert sent(duplicates)["type"] == "PHONE"
    with pytest.raises(PermanentError, match="e-mail address or a phone number"):
        await crm.find_contacts()


async def test_the_support_deal_is_read_by_the_configured_meanings(
    api: respx.MockRouter, crm: Bitrix24CrmConnector
) -> None:
    deals = api.post("crm.deal.list").mock(return_value=crm_answer("deal_list"))
    users = api.post("user.get").mock(return_value=crm_answer("user_get"))
    contract = await crm.get_contract("42")
    assert contract is not None
    assert (contract.external_id, contract.company_id, contract.title) == (
        "301",
        "42",
        "Support 2026",
    )
    assert contract.number == "№ 12/2026"
    assert contract.hours_per_month == Decimal(20)
    assert contract.hour_rate == Decimal(2500)
    assert contract.overage_rate == Decimal("3500.50")
    assert contract.currency == "RUB"
    assert contract.portal == "https://acme.bitrix24.ru"
    assert (contract.manager_ref, contract.manager_name) == ("7", "Dmitry Orlov")
    body = sent(deals)
    assert body["filter"] == {"COMPANY_ID": 42, "CATEGORY_ID": 3, "CLOSED": "N"}
    assert set(FIELDS.values()) <= set(body["select"])  # UF_* come back only when selected
    assert body["order"] == {"ID": "DESC"}
    assert sent(users) == {"ID": "7"}


async def test_no_deal_no_category_and_unreadable_values(
    api: respx.MockRouter, fake: FakeTime
) -> None:
    deals = api.post("crm.deal.list")
    typo = _deal(UF_CRM_HOURS="twenty", UF_CRM_RATE="")
    deals.side_effect = [crm_answer("deal_list_none"), typo]
    api.post("user.get").mock(return_value=crm_answer("insufficient_scope"))
    crm = make(fake)
    try:
        assert await crm.get_contract("42") is None
        with capture_logs() as logs:
            contract = await crm.get_contract("42")
        assert contract is not None
        assert contract.hours_per_month is None  # a typo in the deal: no package, said loudly
        assert contract.hour_rate is None
        assert (contract.manager_ref, contract.manager_name) == ("7", None)  # no `user` scope
        assert {entry["event"] for entry in logs} >= {
            "bitrix24_crm.unreadable_field",
            "bitrix24_crm.user_unreadable",
        }
        uncategorised = make(fake, deal_category=None)
        assert await uncategorised.get_contract("42") is None
        await uncategorised.aclose()
        assert deals.call_count == 2
    finally:
        await crm.aclose()


def _deal(**changes: Any) -> httpx.Response:
    recorded = json.loads(json.dumps(CRM_ANSWERS["deal_list"]))
    recorded["body"]["result"][0].update(changes)
    return httpx.Response(200, json=recorded["body"])


async def test_a_company_and_one_that_is_not_there(
    api: respx.MockRouter, crm: Bitrix24CrmConnector
) -> None:
    route = api.post("crm.company.get")
    route.side_effect = [crm_answer("company_get"), crm_answer("company_not_found")]
    company = await crm.get_company("42")
    assert company is not None
    assert (company.title, company.url) == (
        "Acme LLC",
        "https://acme.bitrix24.test/crm/company/details/42/",
    )
    assert sent(route, 0) == {"id": 42}
    assert await crm.get_company("43") is None
    with pytest.raises(PermanentError, match="positive integer"):
        await crm.get_company("../42")


async def test_a_timeline_note_goes_to_the_company(
    api: respx.MockRouter, crm: Bitrix24CrmConnector
) -> None:
    added = crm_answer("timeline_comment_add")
    route = api.post("crm.timeline.comment.add").mock(return_value=added)
    text = "#4101 Printer on fire — 30 min, Olga Smirnova"
    assert await crm.add_timeline_note("42", text) == "999"
    assert sent(route) == {"fields": {"ENTITY_ID": 42, "ENTITY_TYPE": "company", "COMMENT": text}}


@pytest.mark.parametrize(
    ("name", "code"),
    [("access_denied", "ACCESS_DENIED"), ("expired_token", "expired_token")],
)
async def test_refusals_are_permanent_and_not_retried(
    api: respx.MockRouter, crm: Bitrix24CrmConnector, name: str, code: str
) -> None:
    route = api.post("crm.contact.list").mock(return_value=crm_answer(name))
    with pytest.raises(Bitrix24Error) as caught:
        await crm.find_contacts(email="m@acme.test")
    assert caught.value.code == code
    assert route.call_count == 1


async def test_query_limit_is_backed_off_and_retried_then_given_up(
    api: respx.MockRouter, crm: Bitrix24CrmConnector
) -> None:
    route = api.post("crm.contact.list")
    route.side_effect = [crm_answer("query_limit_exceeded"), crm_answer("contact_list_none")]
    api.post("crm.duplicate.findbycomm").mock(return_value=crm_answer("duplicates_none"))
    assert await crm.find_contacts(email="m@acme.test") == []
    assert route.call_count == 2
    route.side_effect = None
    route.mock(return_value=crm_answer("query_limit_exceeded"))
    with pytest.raises(TransientError, match="QUERY_LIMIT_EXCEEDED"):
        await crm.find_contacts(email="m@acme.test")
    assert route.call_count == 2 + 3  # bounded: three attempts


async def test_secrets_never_logged_nor_in_errors(api: respx.MockRouter, fake: FakeTime) -> None:
    connector = make(fake, retry_attempts=2)
    route = api.post("crm.contact.list")
    unreachable = httpx.ConnectError(f"cannot reach {CRM_ROOT}crm.contact.list")
    route.side_effect = [crm_answer("expired_token"), unreachable, unreachable]
    calls = [lambda: connector.find_contacts(email="m@acme.test")] * 2
    errors, logs = await failures_and_logs(connector, calls)
    assert len(errors) == 2
    assert "expired_token" in errors[0]
    dumped = repr(logs) + " ".join(errors)
    assert CRM_CODE not in dumped


def test_the_plugin_prefers_the_crm_webhook_and_names_what_is_missing() -> None:
    registry = default_registry()
    plugin = registry.plugin(CRM, "bitrix24")
    assert plugin.references.person == "bitrix24_id"
    settings = plugin.load_settings({"bitrix24_webhook_url": TRACKER_ROOT})
    assert settings.webhook_url is not None
    assert settings.webhook_url.get_secret_value() == TRACKER_ROOT
    both = plugin.load_settings(
        {"bitrix24_webhook_url": TRACKER_ROOT, "bitrix24_crm_webhook_url": CRM_ROOT}
    )
    assert both.webhook_url is not None
    assert both.webhook_url.get_secret_value() == CRM_ROOT
    assert CRM_CODE not in repr(both)
    with pytest.raises(SettingsMissing, match="BITRIX24_CRM_WEBHOOK_URL"):
        registry.create(CRM, "bitrix24", {})


async def test_the_crm_webhook_overrides_the_trackers_and_the_routing_file_maps_fields() -> None:
    routing = load_routing_text(
        ROUTING_YAML
        + "crm:\n  kind: bitrix24\n  contract:\n    deal_category: 3\n"
        + "    fields: {hours_per_month: UF_CRM_HOURS, contract: UF_CRM_CONTRACT_NO}\n",
        "routing.yaml",
    )
    settings = load_settings(
        env_file=None,
        telegram_bot_token="1:x",
        bitrix24_webhook_url=TRACKER_ROOT,
        bitrix24_crm_webhook_url=CRM_ROOT,
    )
    crm = build_crm(settings, routing)
    assert crm is not None
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{CRM_ROOT}crm.deal.list").mock(return_value=_deal(ASSIGNED_BY_ID=None))
        contract = await crm.get_contract("42")
    await crm.aclose()
    assert contract is not None
    assert (contract.hours_per_month, contract.number) == (Decimal(20), "№ 12/2026")
    assert contract.hour_rate is None  # not mapped


def test_one_budget_per_portal_whichever_connectors_call_it() -> None:
    routing = load_routing_text(
        ROUTING_YAML + "tracker: {kind: bitrix24}\ncrm: {kind: bitrix24}\n", "routing.yaml"
    )
    same = load_settings(env_file=None, telegram_bot_token="1:x", bitrix24_webhook_url=CRM_ROOT)
    budgets = SharedBudgets()
    assert build_tracker(same, routing, budgets=budgets) is not None
    assert build_crm(same, routing, budgets=budgets) is not None
    assert budgets.keys() == ["bitrix24:https://acme.bitrix24.test"]
    other = same.model_copy(
        update={"bitrix24_crm_webhook_url": "https://other.bitrix24.test/rest/1/x/"}
    )
    budgets = SharedBudgets()
    build_tracker(other, routing, budgets=budgets)
    build_crm(other, routing, budgets=budgets)
    assert budgets.keys() == [
        "bitrix24:https://acme.bitrix24.test",
        "bitrix24:https://other.bitrix24.test",
    ]


async def test_the_tracker_and_the_crm_on_one_portal_stay_within_its_bucket(
    fake: FakeTime,
) -> None:
    """120 requests at once, half each: 50 go at once (the burst), then 2 a second."""
    stamps: list[float] = []

    def record(answer_with: httpx.Response) -> Any:
        def respond(request: httpx.Request) -> httpx.Response:
            stamps.append(fake.now)
            return answer_with

        return respond

    budgets = SharedBudgets()
    portal = PortalRateLimiter(2.0, burst=50, clock=fake.clock, sleep=fake.sleep)
    budgets.get("bitrix24:https://acme.bitrix24.test", PortalRateLimiter, lambda: portal)
    source = {
        "bitrix24_webhook_url": TRACKER_ROOT,
        "bitrix24_crm_webhook_url": CRM_ROOT,
        "budgets": budgets,
    }
    registry = default_registry()
    tracker = registry.create(TRACKER, "bitrix24", source)
    crm = registry.create(CRM, "bitrix24", source)
    assert isinstance(tracker, Bitrix24Connector)
    assert isinstance(crm, Bitrix24CrmConnector)
    task = httpx.Response(TASK_GET["status"], json=TASK_GET["body"])
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{TRACKER_ROOT}tasks.task.get").mock(side_effect=record(task))
        router.post(f"{CRM_ROOT}crm.company.get").mock(
            side_effect=record(crm_answer("company_get"))
        )
        await asyncio.gather(
            *(tracker.get_task("8017") for _ in range(60)),
            *(crm.get_company("42") for _ in range(60)),
        )
    await tracker.aclose()
    await crm.aclose()
    assert len(stamps) == 120
    start = stamps[0]
    per_second: dict[int, int] = {}
    for stamp in stamps:
        per_second[int(stamp - start)] = per_second.get(int(stamp - start), 0) + 1
    assert per_second[0] == 51  # the bucket's 50, and the one drained in that second
    assert max(count for second, count in per_second.items() if second > 0) <= 2
    for i, earlier in enumerate(stamps):
        for j in range(i, len(stamps)):
            # Never more in the bucket than it holds: n requests need (n - 50) / 2 seconds.
            assert (j - i + 1) <= 50 + 2 * (stamps[j] - earlier) + 1e-6
    assert stamps[-1] - start == pytest.approx(35.0)
