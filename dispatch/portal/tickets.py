"""A client's tickets as the client may see them.

The history shows only what a client is told anyway: the ticket was received,
taken into work (by whom), is waiting for the client, was answered, closed or
reopened. It reads those kinds from the event log and nothing else, so internal
notes, developer tasks, reminders and time records never reach a page.

"Waiting for you" is the status model's ``waiting_client`` stage: the statuses the
routing file's ``statuses:`` (on top of the helpdesk's defaults) maps onto it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from config.routing import RoutingConfig
from config.sla import Stage as StatusStage
from dispatch.events import ActorKind, EventKind
from dispatch.models import TicketState
from dispatch.portal.models import (
    AttachmentLink,
    HistoryItem,
    Moment,
    Stage,
    TicketDetail,
    TicketFilter,
    TicketPage,
    TicketSummary,
)
from dispatch.portal.sla import PortalSla
from dispatch.sla.stages import StatusModel
from storage.db import Database
from storage.models import TicketEventRow, TicketRow
from storage.portal_models import TicketAttachmentRow
from storage.portal_repository import TicketQuery

PAGE_SIZE = 20
MAX_SEARCH_WORDS = 8

_CLIENT_SAFE = (
    EventKind.CREATED,
    EventKind.ASSIGNED,
    EventKind.REASSIGNED,
    EventKind.STATUS_CHANGED,
    EventKind.FIRST_STAFF_REPLY,
    EventKind.STAFF_REPLIED,
    EventKind.CLOSED,
    EventKind.REOPENED,
)
_ANSWERS = (EventKind.FIRST_STAFF_REPLY, EventKind.STAFF_REPLIED)


class PortalTickets:
    """Lists and shows a client's tickets; another client's ticket does not exist here."""

    def __init__(
        self, database: Database, routing: RoutingConfig, *, sla: PortalSla | None = None
    ) -> None:
        self._db = database
        self._routing = routing
        self._model = StatusModel(routing)
        self._waiting = self._model.statuses_of(StatusStage.WAITING_CLIENT)
        self._sla = sla or PortalSla(routing)

    def stage(self, ticket: TicketRow) -> Stage:
        """Where the ticket is, in the client's words."""
        if ticket.state == TicketState.CLOSED:
            return Stage.CLOSED
        if self._waits_for_client(ticket.status):
            return Stage.WAITING
        return Stage.IN_WORK if ticket.state == TicketState.ASSIGNED else Stage.RECEIVED

    async def page(self, client_key: str, wanted: TicketFilter) -> TicketPage:
        """One page of the client's tickets, newest first."""
        page = max(wanted.page, 1)
        query = self._query(client_key, wanted, page)
        async with self._db.unit_of_work() as uow:
            rows, total = await uow.portal.client_tickets(query)
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        tickets = [
            TicketSummary(
                number=ticket.number,
                subject=ticket.subject,
                requester=_requester(ticket),
                stage=self.stage(ticket),
                created=ticket.created_at or ticket.received_at,
                closed=ticket.closed_at if ticket.state == TicketState.CLOSED else None,
                minutes=minutes,
            )
            for ticket, minutes in rows
        ]
        return TicketPage(tickets, total, page, pages)

    def _query(self, client_key: str, wanted: TicketFilter, page: int) -> TicketQuery:
        states, status_in, status_not_in = self._stage_condition(wanted.stage)
        return TicketQuery(
            client_key=client_key,
            states=states,
            status_in=status_in,
            status_not_in=status_not_in,
            created_from=self._midnight(wanted.created_from),
            created_before=self._midnight(
                wanted.created_to + timedelta(days=1) if wanted.created_to else None
            ),
            requester=wanted.requester or None,
            words=tuple(wanted.search.split()[:MAX_SEARCH_WORDS]),
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )

    def _stage_condition(
        self, stage: Stage | None
    ) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """(states, statuses in, statuses not in) that select the tickets of a stage."""
        open_states = frozenset({TicketState.UNASSIGNED.value, TicketState.ASSIGNED.value})
        none: frozenset[str] = frozenset()
        if stage == Stage.CLOSED:
            return frozenset({TicketState.CLOSED.value}), none, none
        if stage == Stage.WAITING:
            return open_states, self._waiting, none
        if stage == Stage.IN_WORK:
            return frozenset({TicketState.ASSIGNED.value}), none, self._waiting
        if stage == Stage.RECEIVED:
            return frozenset({TicketState.UNASSIGNED.value}), none, self._waiting
        return none, none, none

    def _midnight(self, day: date | None) -> datetime | None:
        if day is None:
            return None
        return datetime.combine(day, time(0), tzinfo=self._routing.tz)

    async def requesters(self, client_key: str) -> list[tuple[str, str]]:
        """Everyone who sent the client's tickets: (e-mail, name)."""
        async with self._db.unit_of_work() as uow:
            return await uow.portal.requesters(client_key=client_key)

    async def detail(self, client_key: str, number: str) -> TicketDetail | None:
        """The ticket's page; None when the client has no such ticket."""
        async with self._db.unit_of_work() as uow:
            ticket = await uow.portal.client_ticket(client_key=client_key, number=number)
            if ticket is None or ticket.id is None:
                return None
            events = await uow.events.for_ticket(ticket_id=ticket.id, kinds=_CLIENT_SAFE)
            minutes = await uow.time.ticket_minutes(ticket_id=ticket.id)
            files = await uow.portal.attachments(ticket_id=ticket.id)
            sla = await self._sla.lines(uow, ticket.id)
        return TicketDetail(
            number=ticket.number,
            subject=ticket.subject,
            body=ticket.body,
            requester=_requester(ticket),
            stage=self.stage(ticket),
            priority=ticket.priority,
            created=ticket.created_at or ticket.received_at,
            closed=ticket.closed_at if ticket.state == TicketState.CLOSED else None,
            minutes=minutes,
            history=self.history(events, created=ticket.created_at),
            attachments=[AttachmentLink(f.id, f.filename, f.size) for f in files],
            sla=sla,
        )

    def history(
        self, events: Sequence[TicketEventRow], *, created: datetime | None = None
    ) -> list[HistoryItem]:
        """The client-safe entries of a ticket's events, oldest first.

        The ticket was received when the helpdesk says it was created (``created``),
        which may be before Modest heard of it.
        """
        items = []
        for row in events:
            item = self._item(row)
            if item is not None and item.moment == Moment.CREATED and created is not None:
                item = HistoryItem(min(created, row.at), Moment.CREATED)
            if item is not None:
                items.append(item)
        return items

    def _item(self, row: TicketEventRow) -> HistoryItem | None:
        kind = EventKind(row.kind)
        if kind == EventKind.CREATED:
            return HistoryItem(row.at, Moment.CREATED)
        if kind in (EventKind.ASSIGNED, EventKind.REASSIGNED):
            return HistoryItem(row.at, Moment.TAKEN, self._person(_new(row, "assignee")))
        if kind == EventKind.STATUS_CHANGED:
            status = _new(row, "status")
            waiting = isinstance(status, str) and self._waits_for_client(status)
            return HistoryItem(row.at, Moment.WAITING) if waiting else None
        if kind in _ANSWERS:
            person = row.actor if row.actor_kind == ActorKind.PERSON else None
            return HistoryItem(row.at, Moment.ANSWERED, self._person(person))
        if kind == EventKind.CLOSED:
            return HistoryItem(row.at, Moment.CLOSED)
        if kind == EventKind.REOPENED:
            return HistoryItem(row.at, Moment.REOPENED)
        return None

    def _waits_for_client(self, status: str) -> bool:
        # An open ticket's state only matters for statuses mapped nowhere (never waiting).
        return self._model.stage_of(status, TicketState.ASSIGNED) == StatusStage.WAITING_CLIENT

    def _person(self, key: Any) -> str | None:
        person = self._routing.person(str(key)) if key else None
        return person.name if person else None

    async def attachment(
        self, client_key: str, number: str, attachment_id: int
    ) -> TicketAttachmentRow | None:
        """A file of the client's ticket; None for anything else."""
        async with self._db.unit_of_work() as uow:
            ticket = await uow.portal.client_ticket(client_key=client_key, number=number)
            if ticket is None or ticket.id is None:
                return None
            return await uow.portal.attachment(ticket_id=ticket.id, attachment_id=attachment_id)


def _new(row: TicketEventRow, name: str) -> Any:
    pair = row.changes.get(name)
    return pair[1] if isinstance(pair, list) and len(pair) == 2 else None


def _requester(ticket: TicketRow) -> str:
    if ticket.client_name and ticket.client_email:
        return f"{ticket.client_name} <{ticket.client_email}>"
    return ticket.client_name or ticket.client_email
