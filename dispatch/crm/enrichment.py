"""Who wrote: a new ticket's requester is looked up in the CRM and shown on its card.

The card never waits for the CRM: it goes out when the ticket comes in, and the
look-up runs afterwards as a job (``crm.enrich``) within the CRM's request budget.
When the CRM answers, the ticket's link to the CRM is stored and the card edited
once (the outbox folds the edit into one still waiting). A CRM that is slow, down
or refusing leaves the card as it was and says why in the log; a transient failure
is tried again a few times (the job kind's ``max_attempts``), a refusal never.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from connectors.base import PermanentError, RateLimitedError, TransientError
from dispatch.cards import CardPublisher
from dispatch.crm.lookup import CrmLookup
from dispatch.events import EventKind, TicketEvent, TicketLog
from dispatch.job_payloads import CrmEnrich, enqueue
from storage.db import Database, UnitOfWork
from storage.job_repository import RetryJob
from storage.models import JobRow, TicketCrmRow, TicketRow
from storage.types import utcnow

log = structlog.get_logger(__name__)


class CrmEnrichment:
    """Queues the look-up of each new ticket's requester, and runs it."""

    def __init__(
        self,
        database: Database,
        lookup: CrmLookup,
        cards: CardPublisher,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._lookup = lookup
        self._cards = cards
        self._clock = clock

    def subscribe(self, events: TicketLog) -> None:
        """Look up the requester of every new ticket that names an e-mail address."""
        events.subscribe((EventKind.CREATED,), self._on_created)

    async def _on_created(self, uow: UnitOfWork, ticket: TicketRow, _: TicketEvent) -> None:
        assert ticket.id is not None
        if "@" in ticket.client_email:
            enqueue(uow, CrmEnrich(ticket_id=ticket.id))

    async def enrich(self, job: JobRow) -> None:
        """The job: look the requester up, store what was found, edit the card once."""
        order = CrmEnrich.of(job)
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get(ticket_id=order.ticket_id)
            done = await uow.crm.link(ticket_id=order.ticket_id) is not None
        if ticket is None or done:
            return  # gone, or looked up already (a job run again): the card was edited then
        try:
            requester = await self._lookup.requester(ticket.client_email)
        except TransientError as exc:
            log.warning("crm.lookup_failed", ticket_id=order.ticket_id, reason=str(exc))
            delay = exc.retry_after if isinstance(exc, RateLimitedError) else None
            raise RetryJob(str(exc) or type(exc).__name__, delay=delay) from exc
        except PermanentError as exc:
            # Refused (rights, an expired webhook): trying again will not help.
            log.warning("crm.lookup_refused", ticket_id=order.ticket_id, reason=str(exc))
            return
        link = TicketCrmRow(
            ticket_id=order.ticket_id,
            found=requester is not None,
            contact_id=requester.contact_id if requester else None,
            company_id=requester.company_id if requester else None,
            requester=requester.model_dump(mode="json") if requester else {},
            looked_up_at=self._clock(),
        )
        async with self._db.unit_of_work() as uow:
            # Locked: an assignment rendering the card at the same time waits, then sees it.
            ticket = await uow.tickets.get(ticket_id=order.ticket_id, for_update=True)
            if ticket is None or not await uow.crm.add_link(link):
                return
            await self._cards.refresh_card(uow, ticket)
            await uow.commit()
        log.info(
            "crm.enriched",
            ticket_id=order.ticket_id,
            found=link.found,
            company_id=link.company_id,
        )

    async def gave_up(self, job: JobRow, reason: str) -> None:
        """The CRM kept failing: the card stays as it was."""
        log.warning("crm.enrichment_gave_up", ticket_id=CrmEnrich.of(job).ticket_id, reason=reason)
