"""A CRM set up for tests: the routing file's crm section, one client in the fake CRM,
the domain built around it, and helpers to bring tickets in and run the jobs."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import httpx
from sqlmodel import select

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.routing import RoutingConfig, load_routing_text
from connectors.crm import CrmCompany, CrmConnector, CrmContact, SupportContract
from connectors.fake import FakeHelpdesk
from connectors.fake_crm import FakeCrm
from dispatch.models import Client, TicketData, TicketEventKind
from modest.domain import Domain, build_domain
from storage.db import Database
from storage.models import JobRow, JobStatus, MessageKind, OutboxRow, TelegramMessageRow
from tests.support.paths import FIXTURES
from tests.support.routing import ROUTING_YAML

MARIA = "maria@acme.test"
#: The CRM's incoming webhook in the connector tests (its code must never be logged).
CRM_CODE = "crm-s3cr3t-code"
CRM_ROOT = f"https://acme.bitrix24.test/rest/7/{CRM_CODE}/"
#: Bitrix24 CRM answers in the documented shapes, by name.
CRM_ANSWERS: dict[str, dict[str, Any]] = json.loads(
    (FIXTURES / "bitrix24" / "crm_answers.json").read_text("utf-8")
)


def crm_answer(name: str) -> httpx.Response:
    """A recorded Bitrix24 CRM answer as an HTTP response."""
    recorded = CRM_ANSWERS[name]
    return httpx.Response(recorded["status"], json=recorded["body"])


CRM_SECTION = """crm:
  kind: bitrix24
  contract:
    deal_category: 3
    fields:
      hours_per_month: UF_CRM_HOURS
      hour_rate: UF_CRM_RATE
      overage_rate: UF_CRM_OVERAGE_RATE
      contract: UF_CRM_CONTRACT_NO
      portal: UF_CRM_PORTAL_URL
  cache_ttl: 15m
  clients_from_crm: true
"""


def crm_routing(extra: str = "", *, clients_from_crm: bool = True) -> RoutingConfig:
    """The test routing with a CRM; Ivan is the account manager (bitrix24_id 7)."""
    text = ROUTING_YAML.replace(
        "    helpdesk_id: 11\n", "    helpdesk_id: 11\n    bitrix24_id: 7\n"
    ) + CRM_SECTION.replace("clients_from_crm: true", f"clients_from_crm: {clients_from_crm}")
    return load_routing_text(text + extra, "routing.yaml").with_references(
        "crm", person="bitrix24_id", department=None
    )


def acme_contract(hours: str = "20") -> SupportContract:
    """Acme's support deal: ``hours`` a month, rates, number, portal, Ivan (7) manages."""
    return SupportContract(
        external_id="301",
        company_id="42",
        title="Support 2026",
        number="№ 12/2026",
        hours_per_month=Decimal(hours),
        hour_rate=Decimal(2500),
        overage_rate=Decimal(3500),
        currency="RUB",
        portal="https://acme.bitrix24.ru",
        manager_ref="7",
        manager_name="Dmitry Orlov",
    )


def fake_crm(hours: str = "20") -> FakeCrm:
    """Maria Ivanova of Acme LLC (company 42) writes from maria@acme.test."""
    crm = FakeCrm()
    crm.add_client(
        email=MARIA,
        contact=CrmContact("12", "Maria Ivanova", "Chief accountant"),
        company=CrmCompany("42", "Acme LLC", "https://acme.bitrix24.test/crm/company/details/42/"),
        contract=acme_contract(hours),
    )
    return crm


def domain_with(
    database: Database, routing: RoutingConfig, crm: CrmConnector, helpdesk: FakeHelpdesk
) -> Domain:
    """The domain as the service builds it, in English, with quick job retries."""
    texts = Texts("en")
    return build_domain(
        database,
        routing,
        helpdesk,
        TelegramRenderer(texts, routing.tz),
        translate=texts,
        job_retry_delay=0.01,
        crm=crm,
    )


async def new_ticket(
    domain: Domain, database: Database, external_id: str, *, email: str = MARIA, **fields: object
) -> int:
    """A ticket comes in from the helpdesk; its id in Modest."""
    data = TicketData(
        external_id=external_id,
        number=f"A-{external_id}",
        subject="Printer on fire",
        client=Client(name="Maria", email=email, company=""),
        **fields,  # type: ignore[arg-type]
    )
    await domain.intake.apply_fetched(source="generic", kind=TicketEventKind.CREATED, data=data)
    async with database.unit_of_work() as uow:
        ticket = await uow.tickets.get_by_external(source="generic", external_id=external_id)
    assert ticket is not None
    assert ticket.id is not None
    return ticket.id


async def run_jobs(domain: Domain, database: Database, *, rounds: int = 200) -> None:
    """Run jobs until none is waiting (retries included)."""
    for _ in range(rounds):
        await domain.job_runner.pass_once()
        async with database.unit_of_work() as uow:
            rows = (await uow.session.execute(select(JobRow))).scalars().all()
        if all(row.status in (JobStatus.DONE, JobStatus.FAILED) for row in rows):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("jobs still waiting")


async def card_rows(database: Database, ticket_id: int) -> list[OutboxRow]:
    """The outbox rows of the ticket's card (its send, then any edits), oldest first."""
    async with database.unit_of_work() as uow:
        stmt = (
            select(OutboxRow)
            .join(TelegramMessageRow, TelegramMessageRow.id == OutboxRow.target_id)  # type: ignore[arg-type]
            .where(TelegramMessageRow.ticket_id == ticket_id)  # type: ignore[arg-type]
            .where(TelegramMessageRow.kind == MessageKind.CARD)  # type: ignore[arg-type]
            .order_by(OutboxRow.id)  # type: ignore[arg-type]
        )
        return list((await uow.session.execute(stmt)).scalars().all())


async def deliver_card(database: Database, ticket_id: int, message_id: int = 500) -> None:
    """The sender delivered the card: its send is sent, the message has its Telegram id."""
    async with database.unit_of_work() as uow:
        for row in await card_rows(database, ticket_id):
            stored = await uow.session.get(OutboxRow, row.id)
            assert stored is not None
            stored.status = "sent"
            message = await uow.session.get(TelegramMessageRow, stored.target_id)
            assert message is not None
            message.message_id = message_id
        await uow.commit()
