"""Which client a ticket belongs to: kept from the events, filled in and redone at start."""

from __future__ import annotations

from sqlmodel import select

from config.routing import load_routing_text
from dispatch.portal.client_index import ClientIndex
from storage.db import Database
from storage.portal_models import ClientTicketRow
from tests.support.harness import ticket_body
from tests.support.portal import CLIENTS_YAML, client_of, running_portal
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator


async def _clients(database: Database) -> dict[int, str | None]:
    async with database.unit_of_work() as uow:
        rows = (await uow.session.execute(select(ClientTicketRow))).scalars().all()
    return {row.ticket_id: row.client_key for row in rows}


async def test_new_tickets_and_changed_companies_follow_the_match_rules(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        await h.post_generic(ticket_body("1", client=client_of("a@acme.example"), delivery_id="1"))
        await h.post_generic(ticket_body("2", client=client_of("x@else.example"), delivery_id="2"))
        assert await _clients(h.service.database) == {1: "acme", 2: None}
        moved = ticket_body(
            "2",
            event="ticket.updated",
            client=client_of("x@else.example", "ACME"),
            delivery_id="3",
        )
        await h.post_generic(moved)
        assert await _clients(h.service.database) == {1: "acme", 2: "acme"}


async def test_refresh_fills_in_old_tickets_and_redoes_all_after_a_rule_change(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        for n, email in enumerate(["a@acme.example", "b@beta.example", "c@gamma.example"], 1):
            body = ticket_body(str(n), client=client_of(email), delivery_id=str(n))
            await h.post_generic(body)
        database = h.service.database
        async with database.unit_of_work() as uow:  # as if made before the cabinet
            await uow.session.execute(ClientTicketRow.__table__.delete())  # type: ignore[attr-defined]
            await uow.portal.set_client(ticket_id=3, client_key="beta", pinned=True)
            await uow.commit()
        index = ClientIndex(database, h.service.routing)
        assert await index.refresh() == 2
        assert await _clients(database) == {1: "acme", 2: "beta", 3: "beta"}
        assert await index.refresh() == 0  # nothing new, rules unchanged
        changed = load_routing_text(
            ROUTING_YAML + CLIENTS_YAML.replace("[beta.example]", "[gamma.example]"), "r.yaml"
        )
        assert await ClientIndex(database, changed).refresh() == 2
        # Ticket 3 stays pinned where the cabinet put it.
        assert await _clients(database) == {1: "acme", 2: None, 3: "beta"}
