"""Time spent: asked on close, recorded as entries, announced against hour packages.

When a ticket closes, its assignee is asked how long it took (quick buttons,
"other…" for a typed value, "no charge" for the team's own fault). The answer
is a time entry for that close (a reopened and closed-again ticket is asked
again and the entries add up), written back to the helpdesk as an internal
note. Entries can change until the client's month report locks the month.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import structlog

from config.clients import Client
from config.routing import RoutingConfig
from dispatch.clients import ClientDirectory
from dispatch.durations import MAX_MINUTES, DurationError, parse_minutes
from dispatch.events import Actor, EventKind, TicketEvent, TicketLog
from dispatch.helpdesk_notes import HelpdeskNotes
from dispatch.job_payloads import HelpdeskNote, HelpdeskTime, enqueue
from dispatch.views import PackageAlert, TicketView, TimeMessages, TimePromptView
from storage.db import Database, UnitOfWork
from storage.models import MessageKind, TicketRow, TimeEntryRow, TimePromptRow
from storage.types import utcnow

log = structlog.get_logger(__name__)

THRESHOLDS = (80, 100)
#: The messages a typed time may answer by reply.
_ANSWERED_BY_REPLY = (
    MessageKind.TIME_PROMPT,
    MessageKind.TIME_QUESTION,
    MessageKind.TIME_QUESTION_FREE,
)


class TimeOutcome(StrEnum):
    """How a time answer ended."""

    OK = "ok"
    NOT_YOURS = "not_yours"
    LOCKED = "locked"
    UNKNOWN = "unknown"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class TimeResult:
    """The outcome and, when recorded, the minutes."""

    outcome: TimeOutcome
    minutes: int = 0


class TimeTracker:
    """Asks for, records and changes the time spent on closed tickets."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        renderer: TimeMessages,
        events: TicketLog,
        *,
        notes: HelpdeskNotes | None,
        clients: ClientDirectory | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._renderer = renderer
        self._events = events
        self._notes = notes
        self._clients = clients or ClientDirectory(routing)
        self._clock = clock

    def subscribe(self, events: TicketLog) -> None:
        """Ask for the time when a ticket closes."""
        events.subscribe((EventKind.CLOSED,), self._on_closed)

    async def _on_closed(self, uow: UnitOfWork, ticket: TicketRow, _: TicketEvent) -> None:
        await self.on_closed(uow, ticket)

    async def on_closed(self, uow: UnitOfWork, ticket: TicketRow) -> None:
        """A ticket closed: ask its assignee how long it took."""
        assert ticket.id is not None
        person = self._routing.person(ticket.assignee_key) if ticket.assignee_key else None
        if person is None or person.telegram_id is None:
            log.info("time.no_one_to_ask", ticket_id=ticket.id, assignee=ticket.assignee_key)
            return
        now = self._clock()
        prompt = await uow.time.add_prompt(
            TimePromptRow(
                ticket_id=ticket.id,
                round=await uow.time.rounds(ticket_id=ticket.id) + 1,
                person_key=person.key,
                chat_id=person.telegram_id,
                closed_at=now,
                next_ask_at=now + self._routing.time_prompt.interval,
            )
        )
        await self.send_prompt(uow, prompt, ticket)

    async def send_prompt(self, uow: UnitOfWork, prompt: TimePromptRow, ticket: TicketRow) -> None:
        message = await uow.messages.create(
            ticket_id=ticket.id, kind=MessageKind.TIME_PROMPT, chat_id=prompt.chat_id
        )
        payload = self._renderer.time_prompt(await self._view(uow, prompt, ticket))
        await uow.outbox.enqueue_send(message=message, payload=payload, ticket_id=ticket.id)
        prompt.message_id = message.id

    async def _view(
        self, uow: UnitOfWork, prompt: TimePromptRow, ticket: TicketRow
    ) -> TimePromptView:
        assert prompt.id is not None
        client = await self._clients.for_ticket(uow, ticket)
        return TimePromptView(
            prompt.id,
            TicketView.of(ticket, self._routing),
            prompt.round,
            client.name if client else None,
        )

    async def choose(
        self, *, prompt_id: int, minutes: int, billable: bool, actor: Actor
    ) -> TimeResult:
        """A quick answer (unbilled, with ``billable`` false, after "no charge")."""
        if not 0 < minutes <= MAX_MINUTES:
            return TimeResult(TimeOutcome.REFUSED)  # button data is untrusted input

        async def record(uow: UnitOfWork, prompt: TimePromptRow) -> TimeResult:
            return await self._record(uow, prompt, actor, minutes, billable)

        return await self._on_prompt(prompt_id, actor, record)

    async def ask_free(self, *, prompt_id: int, actor: Actor) -> TimeResult:
        """ "no charge (our fault)": still ask how long it took, to record it unbilled."""

        async def ask(uow: UnitOfWork, prompt: TimePromptRow) -> TimeResult:
            ticket = await uow.tickets.get(ticket_id=prompt.ticket_id)
            assert ticket is not None
            payload = self._renderer.time_prompt_free(await self._view(uow, prompt, ticket))
            await self._edit_prompt(uow, prompt, payload)
            await self._ask_question(uow, prompt, refused=None, billable=False)
            return TimeResult(TimeOutcome.OK)

        return await self._on_prompt(prompt_id, actor, ask)

    async def ask_other(self, *, prompt_id: int, actor: Actor) -> TimeResult:
        """ "other…": ask for a typed value, by reply."""

        async def ask(uow: UnitOfWork, prompt: TimePromptRow) -> TimeResult:
            await self._ask_question(uow, prompt, refused=None, billable=True)
            return TimeResult(TimeOutcome.OK)

        return await self._on_prompt(prompt_id, actor, ask)

    async def _ask_question(
        self, uow: UnitOfWork, prompt: TimePromptRow, *, refused: str | None, billable: bool
    ) -> None:
        # The question's kind remembers whether its answer is billed.
        kind = MessageKind.TIME_QUESTION if billable else MessageKind.TIME_QUESTION_FREE
        question = await uow.messages.create(
            ticket_id=prompt.ticket_id, kind=kind, chat_id=prompt.chat_id
        )
        payload = self._renderer.time_question(refused=refused, free=not billable)
        await uow.outbox.enqueue_send(
            message=question, payload=payload, ticket_id=prompt.ticket_id
        )
        prompt.question_id = question.id

    async def answer(
        self, *, chat_id: int, reply_to_message_id: int, text: str, actor: Actor
    ) -> TimeResult | None:
        """A typed reply to a question or to a prompt (the first or a re-ask).

        None when the reply is to something else.
        """
        async with self._db.unit_of_work() as uow:
            replied = await uow.messages.get_by_telegram(
                chat_id=chat_id, message_id=reply_to_message_id
            )
            if replied is None or replied.kind not in _ANSWERED_BY_REPLY:
                return None
            assert replied.id is not None
            if replied.kind == MessageKind.TIME_PROMPT:
                prompt = await uow.time.prompt_of_message(message=replied)
            else:
                prompt = await uow.time.prompt_by_question(question_id=replied.id)
            result = await self._typed(uow, prompt, actor, text)
            await uow.commit()
        return result

    async def answer_unprompted(self, *, text: str, actor: Actor) -> TimeResult | None:
        """A plain private message that reads as a time, from someone with one open prompt.

        None when the text is no time at all, or there is not exactly one prompt to answer.
        """
        try:
            parse_minutes(text)
        except DurationError as exc:
            if str(exc) == "unreadable":
                return None
        if actor.person_key is None:
            return None
        async with self._db.unit_of_work() as uow:
            prompts = await uow.time.open_prompts(person_key=actor.person_key)
            if len(prompts) != 1:
                return None
            result = await self._typed(uow, prompts[0], actor, text)
            await uow.commit()
        return result

    async def _typed(
        self, uow: UnitOfWork, prompt: TimePromptRow | None, actor: Actor, text: str
    ) -> TimeResult:
        refused = self._refusal(prompt, actor)
        if refused is not None:
            return refused
        assert prompt is not None
        # After "no charge" the open question is the unbilled one, whatever is replied to.
        question = await uow.messages.get(message_row_id=prompt.question_id or 0)
        billable = question is None or question.kind != MessageKind.TIME_QUESTION_FREE
        try:
            minutes = parse_minutes(text)
        except DurationError as exc:
            await self._ask_question(uow, prompt, refused=str(exc), billable=billable)
            return TimeResult(TimeOutcome.REFUSED)
        return await self._record(uow, prompt, actor, minutes, billable=billable)

    async def change(self, *, prompt_id: int, actor: Actor) -> TimeResult:
        """ "change": show the quick answers again, unless the month is locked."""

        async def reopen(uow: UnitOfWork, prompt: TimePromptRow) -> TimeResult:
            entry = await uow.time.entry(ticket_id=prompt.ticket_id, round=prompt.round)
            if entry is not None and await self._locked(uow, entry):
                return TimeResult(TimeOutcome.LOCKED)
            ticket = await uow.tickets.get(ticket_id=prompt.ticket_id)
            assert ticket is not None
            await self._edit_prompt(
                uow, prompt, self._renderer.time_prompt(await self._view(uow, prompt, ticket))
            )
            prompt.question_id = None  # back to the billed answers
            return TimeResult(TimeOutcome.OK)

        return await self._on_prompt(prompt_id, actor, reopen)

    async def _on_prompt(
        self,
        prompt_id: int,
        actor: Actor,
        step: Callable[[UnitOfWork, TimePromptRow], Awaitable[TimeResult]],
    ) -> TimeResult:
        # Every button on a prompt: load it, check it is the presser's, act, commit.
        async with self._db.unit_of_work() as uow:
            prompt = await uow.time.prompt(prompt_id=prompt_id)
            refused = self._refusal(prompt, actor)
            if refused is not None:
                return refused
            assert prompt is not None
            result = await step(uow, prompt)
            await uow.commit()
        return result

    @staticmethod
    def _refusal(prompt: TimePromptRow | None, actor: Actor) -> TimeResult | None:
        if prompt is None:
            return TimeResult(TimeOutcome.UNKNOWN)
        if actor.person_key is None or prompt.person_key != actor.person_key:
            return TimeResult(TimeOutcome.NOT_YOURS)
        return None

    async def _locked(self, uow: UnitOfWork, entry: TimeEntryRow) -> bool:
        client_key = entry.client_key or ""
        await uow.time.guard_month(client_key=client_key, month=entry.month)
        return await uow.time.is_locked(client_key=client_key, month=entry.month)

    async def _record(
        self, uow: UnitOfWork, prompt: TimePromptRow, actor: Actor, minutes: int, billable: bool
    ) -> TimeResult:
        ticket = await uow.tickets.get(ticket_id=prompt.ticket_id)
        assert ticket is not None
        entry = await uow.time.entry(ticket_id=prompt.ticket_id, round=prompt.round)
        if entry is None:
            entry = await self._new_entry(uow, prompt, ticket)
            if await self._locked(uow, entry):
                return TimeResult(TimeOutcome.LOCKED)
            entry.minutes, entry.billable = minutes, billable
            await uow.time.add_entry(entry)
            kind, changes = EventKind.TIME_RECORDED, {}
        else:
            if await self._locked(uow, entry):
                return TimeResult(TimeOutcome.LOCKED)
            changes = {"minutes": (entry.minutes, minutes), "billable": (entry.billable, billable)}
            entry.minutes, entry.billable, entry.updated_at = minutes, billable, utcnow()
            kind = EventKind.TIME_CHANGED
        detail = {"minutes": minutes, "billable": billable, "round": prompt.round}
        await self._events.record(uow, ticket, kind, actor, changes=changes, detail=detail)
        prompt.state = "answered"
        view = await self._view(uow, prompt, ticket)
        await self._edit_prompt(
            uow, prompt, self._renderer.time_recorded(view, minutes=minutes, billable=billable)
        )
        await uow.flush()
        total = await uow.time.ticket_minutes(ticket_id=prompt.ticket_id)
        self._note_in_helpdesk(uow, prompt, entry, total)
        await self._check_package(uow, entry)
        log.info(
            "time.recorded",
            ticket_id=ticket.id,
            person=prompt.person_key,
            minutes=minutes,
            billable=billable,
            round=prompt.round,
        )
        return TimeResult(TimeOutcome.OK, minutes)

    async def _new_entry(
        self, uow: UnitOfWork, prompt: TimePromptRow, ticket: TicketRow
    ) -> TimeEntryRow:
        client = await self._clients.for_ticket(uow, ticket)
        closed_on = prompt.closed_at.astimezone(self._routing.tz).date()
        return TimeEntryRow(
            ticket_id=prompt.ticket_id,
            round=prompt.round,
            person_key=prompt.person_key,
            minutes=0,
            client_key=client.key if client else None,
            closed_on=closed_on,
            month=f"{closed_on:%Y-%m}",
        )

    async def _edit_prompt(
        self, uow: UnitOfWork, prompt: TimePromptRow, payload: dict[str, object]
    ) -> None:
        if prompt.message_id is None:
            return
        message = await uow.messages.get(message_row_id=prompt.message_id)
        if message is not None:
            await uow.outbox.enqueue_edit(
                message=message, payload=payload, ticket_id=prompt.ticket_id
            )

    def _note_in_helpdesk(
        self, uow: UnitOfWork, prompt: TimePromptRow, entry: TimeEntryRow, total: int
    ) -> None:
        if self._notes is None:
            return  # the helpdesk takes no notes
        person = self._routing.person(prompt.person_key)
        note = self._notes.time_note(
            who=person.name if person else prompt.person_key,
            minutes=entry.minutes,
            billable=entry.billable,
        )
        ticket_id = prompt.ticket_id
        enqueue(uow, HelpdeskNote(ticket_id=ticket_id, text=note))
        enqueue(uow, HelpdeskTime(ticket_id=ticket_id, total_minutes=total))

    async def _check_package(self, uow: UnitOfWork, entry: TimeEntryRow) -> None:
        # The routing file's clients only: a CRM contract is read afresh by its own job.
        client = self._routing.client(entry.client_key) if entry.client_key else None
        if client is None or not entry.billable:
            return
        await self.check_package(uow, client, entry.month)

    async def check_package(self, uow: UnitOfWork, client: Client, month: str) -> None:
        """Tell the client's manager when the month passes 80 and 100 % (each once; one
        message when one entry passes both)."""
        if client.hours_per_month is None:
            return
        await uow.flush()
        used = await uow.time.billable_minutes(client_key=client.key, month=month)
        package = int(client.hours_per_month * 60)
        manager = self._routing.person(client.manager) if client.manager else None
        crossed = [
            threshold
            for threshold in THRESHOLDS
            if used * 100 >= package * threshold
            and await uow.time.alert_once(client_key=client.key, month=month, threshold=threshold)
        ]
        if not crossed:
            return
        # One entry may cross 80 % and 100 % at once: one message, with the real figures.
        log.info(
            "time.package_threshold",
            client=client.key,
            thresholds=crossed,
            used=used,
            package=package,
        )
        if manager is not None and manager.telegram_id is not None:
            alert = PackageAlert(client.name, month, max(crossed), used, package)
            uow.outbox.enqueue_plain(
                chat_id=manager.telegram_id, payload=self._renderer.package_alert(alert)
            )
