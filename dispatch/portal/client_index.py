"""Which client each ticket belongs to, kept from the routing file's match rules.

A subscriber of the ticket log stores the client of every new ticket, and again
when a ticket's company or e-mail changes. At start, :meth:`ClientIndex.refresh`
covers tickets from before the cabinet, and works every ticket out again when the
match rules changed since the last start. Tickets made in the cabinet are pinned
to the client that made them.
"""

from __future__ import annotations

import hashlib
import json

import structlog

from config.routing import RoutingConfig
from dispatch.events import EventKind, TicketEvent, TicketLog
from storage.db import Database, UnitOfWork
from storage.models import TicketRow

log = structlog.get_logger(__name__)

_RULES_KEY = "portal.client_rules"
_BATCH = 500
_CLIENT_FIELDS = frozenset({"client_company", "client_email"})


class ClientIndex:
    """Keeps ``client_ticket`` in step with the tickets and the routing file."""

    def __init__(self, database: Database, routing: RoutingConfig) -> None:
        self._db = database
        self._routing = routing

    def subscribe(self, events: TicketLog) -> None:
        """Follow new tickets and changes of a ticket's company or e-mail."""
        events.subscribe([EventKind.CREATED, EventKind.UPDATED], self._on_event)

    async def _on_event(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        if event.kind == EventKind.UPDATED and not _CLIENT_FIELDS & event.changes.keys():
            return
        assert ticket.id is not None
        stored = await uow.portal.client_of(ticket_id=ticket.id)
        if stored is not None and stored.pinned:
            return
        await uow.portal.set_client(
            ticket_id=ticket.id, client_key=self.client_key(ticket), pinned=False
        )

    def client_key(self, ticket: TicketRow) -> str | None:
        """The client whose match rules the ticket fits."""
        client = self._routing.client_for(company=ticket.client_company, email=ticket.client_email)
        return client.key if client else None

    async def pin(self, uow: UnitOfWork, *, ticket_id: int, client_key: str) -> None:
        """A ticket made in the cabinet belongs to the client that made it."""
        await uow.portal.set_client(ticket_id=ticket_id, client_key=client_key, pinned=True)

    async def refresh(self) -> int:
        """Work out the tickets without a client, or all of them after a rule change."""
        rules = self._fingerprint()
        async with self._db.unit_of_work() as uow:
            changed = await uow.sync_state.get(key=_RULES_KEY) != rules
        done = await self._recompute() if changed else 0
        done += await self._fill_missing()
        async with self._db.unit_of_work() as uow:
            await uow.sync_state.put(key=_RULES_KEY, value=rules)
            await uow.commit()
        if done:
            log.info("portal.client_index", tickets=done, rules_changed=changed)
        return done

    async def _fill_missing(self) -> int:
        done, after = 0, 0
        while True:
            async with self._db.unit_of_work() as uow:
                rows = await uow.portal.tickets_without_client(after_id=after, limit=_BATCH)
                for ticket in rows:
                    assert ticket.id is not None
                    added = await uow.portal.add_client_if_missing(
                        ticket_id=ticket.id, client_key=self.client_key(ticket)
                    )
                    done += int(added)
                await uow.commit()
            if len(rows) < _BATCH:
                return done
            after = rows[-1].id or after

    async def _recompute(self) -> int:
        done, after = 0, 0
        while True:
            async with self._db.unit_of_work() as uow:
                rows = await uow.portal.unpinned_tickets(after_id=after, limit=_BATCH)
                for ticket in rows:
                    assert ticket.id is not None
                    await uow.portal.set_client(
                        ticket_id=ticket.id, client_key=self.client_key(ticket), pinned=False
                    )
                await uow.commit()
            done += len(rows)
            if len(rows) < _BATCH:
                return done
            after = rows[-1].id or after

    def _fingerprint(self) -> str:
        rules = [
            [c.key, sorted(c.match.companies), sorted(c.match.email_domains)]
            for c in self._routing.clients
        ]
        return hashlib.sha256(json.dumps(rules, ensure_ascii=False).encode()).hexdigest()
