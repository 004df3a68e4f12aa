"""Queues the Telegram messages a ticket's state calls for (card, assignee copy)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from config.clients import Client
from config.routing import Department, Person, Role, RoutingConfig
from dispatch.clients import ClientDirectory
from dispatch.crm.cards import CrmCardBlocks
from dispatch.events import EventKind, TicketEvent, TicketLog
from dispatch.lines.views import HandoverNote, line_departments, next_line_departments
from dispatch.models import TicketState
from dispatch.sla.status import SlaReader
from dispatch.sla.views import SlaNotice
from dispatch.views import CardMessages, Payload, Release, ReminderNote, TicketView
from storage.db import UnitOfWork
from storage.models import MessageKind, TelegramMessageRow, TicketRow
from storage.types import utcnow

#: The events after which the last one says whether the ticket was handed back.
_WHO_HAS_IT = (
    EventKind.UNASSIGNED,
    EventKind.ASSIGNED,
    EventKind.REASSIGNED,
    EventKind.REOPENED,
)


class CardPublisher:
    """Renders a ticket and puts the sends and edits into the outbox."""

    def __init__(
        self,
        routing: RoutingConfig,
        renderer: CardMessages,
        *,
        dev_tasks: bool = False,
        clients: ClientDirectory | None = None,
        crm: CrmCardBlocks | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._routing = routing
        self._renderer = renderer
        self._dev_tasks = dev_tasks
        self._clients = clients or ClientDirectory(routing)
        #: The CRM block of the card (who wrote, the company, its contract), when a CRM is set.
        self._crm = crm
        #: The departments of dispatchers who are also specialists: a card whose
        #: departments include one offers "take it myself".
        self._takers = {
            department.key
            for person in routing.people
            if Role.DISPATCHER in person.roles
            for department in routing.departments_of(person.key)
        }
        self._clock = clock
        self._sla = SlaReader(routing)

    def subscribe(self, events: TicketLog) -> None:
        """Keep the card and the assignee's message in step with the ticket's events."""
        events.subscribe((EventKind.CREATED,), self._on_created)
        events.subscribe((EventKind.ASSIGNED, EventKind.REASSIGNED), self._on_assigned)
        events.subscribe((EventKind.UNASSIGNED,), self._on_unassigned)
        events.subscribe((EventKind.REOPENED,), self._on_reopened)
        events.subscribe((EventKind.PASSED_TO_LINE,), self._on_passed)
        events.subscribe(
            (
                EventKind.CLOSED,
                EventKind.WRITEBACK_RETRIED,
                EventKind.WRITEBACK_DONE,
                EventKind.WRITEBACK_FAILED,
                # The closed card says how long it took.
                EventKind.TIME_RECORDED,
                EventKind.TIME_CHANGED,
            ),
            self._on_changed,
        )

    async def _on_created(self, uow: UnitOfWork, ticket: TicketRow, _: TicketEvent) -> None:
        if ticket.state == TicketState.UNASSIGNED:
            await self.post_card(uow, ticket)

    async def _on_assigned(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        await self.refresh_card(uow, ticket)
        await self.notify_assignee(uow, ticket)
        before = event.changes.get("assignee", (None, None))[0]
        if before and before != ticket.assignee_key:
            view = TicketView.of(ticket, self._routing)
            release = Release(by=self._actor_name(event), at=event.at, to=view.assignee_name)
            await self._tell_former_assignee(uow, ticket, before, release)

    async def _on_unassigned(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        """Handed back: the card asks for a department again, posted anew to be seen."""
        await self.refresh_card(uow, ticket)
        await self.post_card(uow, ticket)
        before = event.changes.get("assignee", (None, None))[0]
        if before:
            release = Release(by=self._actor_name(event), at=event.at)
            await self._release_messages(uow, ticket, before, release)

    async def _tell_former_assignee(
        self, uow: UnitOfWork, ticket: TicketRow, person_key: str, release: Release
    ) -> None:
        """Their message loses its buttons, and a new one says who has the ticket now."""
        person = await self._release_messages(uow, ticket, person_key, release)
        if person is None or person.telegram_id is None:
            return
        assert ticket.id is not None
        message = await uow.messages.create(
            ticket_id=ticket.id, kind=MessageKind.ASSIGNEE, chat_id=person.telegram_id
        )
        payload = self._renderer.assignee_released(TicketView.of(ticket, self._routing), release)
        await uow.outbox.enqueue_send(message=message, payload=payload, ticket_id=ticket.id)

    async def _release_messages(
        self, uow: UnitOfWork, ticket: TicketRow, person_key: str, release: Release
    ) -> Person | None:
        """Edit a former assignee's messages about the ticket: what became of it, no buttons."""
        person = self._routing.person(person_key)
        if person is None or person.telegram_id is None:
            return person
        assert ticket.id is not None
        payload = self._renderer.assignee_released(TicketView.of(ticket, self._routing), release)
        for message in await uow.messages.find(ticket_id=ticket.id, kind=MessageKind.ASSIGNEE):
            if message.chat_id == person.telegram_id:
                await uow.outbox.enqueue_edit(
                    message=message, payload=payload, ticket_id=ticket.id
                )
        return person

    def _actor_name(self, event: TicketEvent) -> str | None:
        """Who made the change, by name; None for the helpdesk or Modest itself."""
        key = event.actor.person_key
        person = self._routing.person(key) if key else None
        return person.name if person else None

    async def _on_reopened(self, uow: UnitOfWork, ticket: TicketRow, _: TicketEvent) -> None:
        if ticket.state == TicketState.ASSIGNED:
            await self.refresh_card(uow, ticket)
            await self.notify_assignee(uow, ticket)
        else:
            await self.show_card(uow, ticket)

    async def _on_changed(self, uow: UnitOfWork, ticket: TicketRow, _: TicketEvent) -> None:
        await self.refresh_card(uow, ticket)

    async def _on_passed(self, uow: UnitOfWork, ticket: TicketRow, _: TicketEvent) -> None:
        # Back to dispatch for the next line: the cards show it, and a new one comes up
        # at the bottom of the chat, where the dispatchers look.
        await self.refresh_card(uow, ticket)
        await self.post_copy(uow, ticket, chat_id=self._routing.dispatch.chat_id)

    async def post_card(self, uow: UnitOfWork, ticket: TicketRow) -> None:
        """Post a new dispatch card to the dispatchers' chat."""
        assert ticket.id is not None
        payload = await self._render(uow, ticket)
        # Added after the render's queries, so that no autoflush inserts it on its own.
        message = uow.messages.add(
            ticket_id=ticket.id, kind=MessageKind.CARD, chat_id=self._routing.dispatch.chat_id
        )
        await uow.outbox.enqueue_send(message=message, payload=payload, ticket_id=ticket.id)

    async def refresh_card(
        self,
        uow: UnitOfWork,
        ticket: TicketRow,
        *,
        browsing: Department | None = None,
        reassigning: bool = False,
    ) -> bool:
        """Edit every card of the ticket to its current state; False if it has none.

        ``browsing`` and ``reassigning``: the card's own navigation (a department's people,
        the departments to reassign to).
        """
        assert ticket.id is not None
        cards = await uow.messages.find(ticket_id=ticket.id, kind=MessageKind.CARD)
        payload = await self._render(uow, ticket, browsing=browsing, reassigning=reassigning)
        for message in cards:
            await uow.outbox.enqueue_edit(message=message, payload=payload, ticket_id=ticket.id)
        await self._refresh_reminder(uow, ticket, browsing)
        return bool(cards)

    async def _refresh_reminder(
        self, uow: UnitOfWork, ticket: TicketRow, browsing: Department | None
    ) -> None:
        # The live reminder carries the same buttons as the card: keep them in step.
        assert ticket.id is not None
        nag = await uow.nags.get(ticket_id=ticket.id)
        if nag is None or not nag.active or nag.last_message_id is None:
            return
        message = await uow.messages.get(message_row_id=nag.last_message_id)
        if message is not None:
            note = ReminderNote(nag.count, self._clock() - ticket.received_at)
            payload = await self._render(uow, ticket, browsing=browsing, reminder=note)
            await uow.outbox.enqueue_edit(message=message, payload=payload, ticket_id=ticket.id)

    async def post_reminder(
        self, uow: UnitOfWork, ticket: TicketRow, *, count: int, now: datetime
    ) -> TelegramMessageRow:
        """Post a reminder: a reply to the card with the same department buttons."""
        assert ticket.id is not None
        cards = await uow.messages.find(ticket_id=ticket.id, kind=MessageKind.CARD)
        message = await uow.messages.create(
            ticket_id=ticket.id, kind=MessageKind.REMINDER, chat_id=self._routing.dispatch.chat_id
        )
        payload = await self._render(
            uow, ticket, reminder=ReminderNote(count, now - ticket.received_at)
        )
        await uow.outbox.enqueue_send(
            message=message,
            payload=payload,
            ticket_id=ticket.id,
            reply_to=cards[0] if cards else None,
        )
        return message

    async def post_copy(
        self,
        uow: UnitOfWork,
        ticket: TicketRow,
        *,
        chat_id: int,
        alert: SlaNotice | None = None,
    ) -> None:
        """Post the card once more in ``chat_id`` (a reply to its card there), headed by
        an SLA warning or breach when ``alert`` is given. It is a card like the first:
        its buttons work and it is kept in step."""
        assert ticket.id is not None
        cards = await uow.messages.find(ticket_id=ticket.id, kind=MessageKind.CARD)
        reply_to = next((card for card in cards if card.chat_id == chat_id), None)
        payload = await self._render(uow, ticket, alert=alert)
        message = uow.messages.add(ticket_id=ticket.id, kind=MessageKind.CARD, chat_id=chat_id)
        await uow.outbox.enqueue_send(
            message=message, payload=payload, ticket_id=ticket.id, reply_to=reply_to
        )

    async def show_card(self, uow: UnitOfWork, ticket: TicketRow) -> None:
        """Refresh the card, or post one if the ticket never had it."""
        if not await self.refresh_card(uow, ticket):
            await self.post_card(uow, ticket)

    async def notify_assignee(self, uow: UnitOfWork, ticket: TicketRow) -> bool:
        """Send the ticket to its assignee's private chat; False if they have none."""
        assert ticket.id is not None
        person = self._routing.person(ticket.assignee_key) if ticket.assignee_key else None
        if person is None or person.telegram_id is None:
            return False
        view = dataclasses.replace(
            TicketView.of(ticket, self._routing),
            sla=await self._sla.note_for(uow, ticket.id, self._clock()),
        )
        next_line = ticket.line + 1 if next_line_departments(self._routing, ticket.line) else None
        payload = self._renderer.assignee_message(
            view, dev_task=self._dev_tasks, next_line=next_line
        )
        message = uow.messages.add(
            ticket_id=ticket.id, kind=MessageKind.ASSIGNEE, chat_id=person.telegram_id
        )
        await uow.outbox.enqueue_send(message=message, payload=payload, ticket_id=ticket.id)
        return True

    async def _render(
        self,
        uow: UnitOfWork,
        ticket: TicketRow,
        *,
        browsing: Department | None = None,
        reminder: ReminderNote | None = None,
        reassigning: bool = False,
        alert: SlaNotice | None = None,
    ) -> Payload:
        assert ticket.id is not None
        view = TicketView.of(ticket, self._routing)
        if ticket.state == TicketState.UNASSIGNED:
            view = dataclasses.replace(view, handed_back=await self._handed_back(uow, ticket))
        client = await self._clients.for_ticket(uow, ticket)
        if ticket.state != TicketState.CLOSED:
            view = dataclasses.replace(
                view,
                over_package=await self._over_package(uow, client),
                sla=await self._sla.note_for(uow, ticket.id, self._clock()),
                handover=await self._handover(uow, ticket),
            )
        else:
            spent = await uow.time.ticket_minutes(ticket_id=ticket.id)
            view = dataclasses.replace(view, time_spent=spent or None)
        if self._crm is not None:
            view = dataclasses.replace(view, crm=await self._crm.block(uow, ticket, client))
        members = self._routing.members(browsing.key) if browsing else []
        # Each person's open tickets on their button, so the dispatcher sees who is free.
        load = await uow.tickets.open_counts(assignee_keys=[p.key for p in members])
        departments = line_departments(self._routing, ticket.line)
        return self._renderer.card(
            view,
            departments=departments,
            browsing=browsing,
            members=members,
            load=load,
            reminder=reminder,
            reassigning=reassigning,
            take=any(department.key in self._takers for department in departments),
            alert=alert,
        )

    async def _handover(self, uow: UnitOfWork, ticket: TicketRow) -> HandoverNote | None:
        if ticket.line <= 1 or ticket.state != TicketState.UNASSIGNED:
            return None
        assert ticket.id is not None
        row = await uow.lines.latest_done(ticket_id=ticket.id)
        if row is None:
            return None
        person = self._routing.person(row.person_key)
        department = self._routing.department(row.department_key or "")
        return HandoverNote(
            from_line=row.from_line,
            by_name=person.name if person else row.person_key,
            department_name=department.name if department else None,
            comment=row.comment,
        )

    async def _handed_back(self, uow: UnitOfWork, ticket: TicketRow) -> Release | None:
        """Who handed the ticket back, when its last assignee did (a ticket once assigned)."""
        if ticket.version == 0:
            return None  # never assigned: nothing was handed back
        assert ticket.id is not None
        events = await uow.events.for_ticket(ticket_id=ticket.id, kinds=_WHO_HAS_IT)
        last = events[-1] if events else None
        if last is None or last.kind != EventKind.UNASSIGNED:
            return None
        person = self._routing.person(last.actor) if last.actor else None
        return Release(by=person.name if person else (last.actor or "?"), at=last.at)

    async def _over_package(
        self, uow: UnitOfWork, client: Client | None
    ) -> tuple[int, int] | None:
        if client is None or client.hours_per_month is None:
            return None
        month = f"{self._clock().astimezone(self._routing.tz):%Y-%m}"
        used = await uow.time.billable_minutes(client_key=client.key, month=month)
        package = int(client.hours_per_month * 60)
        return (used, package) if used >= package else None
