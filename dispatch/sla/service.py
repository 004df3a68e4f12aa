"""The SLA clocks follow a ticket's events.

- created: the first matching policy gives the ticket its clocks (first response,
  resolution), counted from the ticket's creation;
- the first staff reply stops the first-response clock; for a helpdesk that tells
  no replies the assignment does (the clock says so, and so does the card);
- ``waiting_client`` pauses both clocks, ``feedback`` stops them; back to any other
  stage they run again on top of the time used;
- closed stops both; reopened runs the resolution clock again, the time used counts,
  and its warning and breach may come once more;
- a change of priority, type, client or status may choose another policy: the clocks
  take its targets and keep their time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from config.routing import RoutingConfig
from config.sla import Stage
from dispatch.events import EventKind, TicketEvent, TicketLog
from dispatch.models import TicketState
from dispatch.sla import clock
from dispatch.sla.clock import Calendars
from dispatch.sla.policies import SlaTarget, Targets, targets_for
from storage.db import UnitOfWork
from storage.models import SlaClockRow, TicketRow
from storage.types import utcnow

_PAUSED = frozenset({Stage.WAITING_CLIENT})
_STOPPED = frozenset({Stage.FEEDBACK})


class SlaTracker:
    """Starts, pauses, stops and resumes a ticket's clocks as its events come in."""

    def __init__(
        self,
        routing: RoutingConfig,
        *,
        tells_replies: bool,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._routing = routing
        self._tells_replies = tells_replies
        self._clock = clock
        self._calendars = Calendars(routing)
        self._warn_at = routing.sla.warn_at

    def subscribe(self, events: TicketLog) -> None:
        """Follow the events that move a clock (nothing without SLA policies)."""
        if not self._routing.sla.enabled:
            return
        events.subscribe((EventKind.CREATED,), self._on_created)
        events.subscribe((EventKind.STAGE_CHANGED,), self._on_stage)
        events.subscribe((EventKind.FIRST_STAFF_REPLY,), self._on_first_reply)
        events.subscribe((EventKind.ASSIGNED, EventKind.REASSIGNED), self._on_assigned)
        events.subscribe((EventKind.CLOSED,), self._on_closed)
        events.subscribe((EventKind.REOPENED,), self._on_reopened)
        events.subscribe((EventKind.UPDATED, EventKind.STATUS_CHANGED), self._on_changed)

    async def _on_created(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        targets = targets_for(self._routing, ticket)
        if targets is None or ticket.state == TicketState.CLOSED:
            return
        assert ticket.id is not None
        start = min(ticket.created_at or event.at, event.at)
        for target in SlaTarget:
            seconds = targets.of(target)
            if seconds is None:
                continue
            row = SlaClockRow(
                ticket_id=ticket.id,
                target=target,
                policy=targets.policy,
                calendar=targets.calendar,
                target_s=int(seconds.total_seconds()),
                since=start,
                by_assignment=target == SlaTarget.FIRST_RESPONSE and not self._tells_replies,
                started_at=start,
            )
            self._follow_stage(row, ticket, start)
            if row.by_assignment and ticket.state == TicketState.ASSIGNED:
                clock.stop(row, self._calendars[row.calendar], start)
            self._reschedule(row)
            uow.sla.add(row)

    async def _on_stage(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        for row in await self._clocks(uow, ticket):
            self._follow_stage(row, ticket, event.at)
            self._reschedule(row)

    def _follow_stage(self, row: SlaClockRow, ticket: TicketRow, at: datetime) -> None:
        calendar = self._calendars[row.calendar]
        if ticket.stage in _PAUSED:
            if row.done_at is None:
                clock.pause(row, calendar, at)
        elif ticket.stage in _STOPPED:
            clock.stop(row, calendar, at)
        elif row.done_at is None or (
            row.target == SlaTarget.RESOLUTION and ticket.state != TicketState.CLOSED
        ):
            # Out of feedback the resolution runs again; a first response stays given.
            clock.resume(row, at)

    async def _on_first_reply(
        self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent
    ) -> None:
        # The reply's own time, as the helpdesk tells it, but never in the future.
        at = min(event.at, self._clock())
        for row in await self._clocks(uow, ticket, SlaTarget.FIRST_RESPONSE):
            if not row.by_assignment:
                clock.stop(row, self._calendars[row.calendar], max(at, row.started_at))
                self._reschedule(row)

    async def _on_assigned(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        for row in await self._clocks(uow, ticket, SlaTarget.FIRST_RESPONSE):
            if row.by_assignment:
                clock.stop(row, self._calendars[row.calendar], event.at)
                self._reschedule(row)

    async def _on_closed(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        for row in await self._clocks(uow, ticket):
            clock.stop(row, self._calendars[row.calendar], event.at)
            self._reschedule(row)

    async def _on_reopened(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        for row in await self._clocks(uow, ticket):
            row.warned = row.breached = False
            if row.target == SlaTarget.RESOLUTION:
                row.done_at = None
                self._follow_stage(row, ticket, event.at)
            self._reschedule(row)

    async def _on_changed(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        targets = targets_for(self._routing, ticket)
        if targets is None:
            return  # the clocks keep the targets they have
        for row in await self._clocks(uow, ticket):
            self._retarget(row, targets, event.at)

    def _retarget(self, row: SlaClockRow, targets: Targets, at: datetime) -> None:
        seconds = targets.of(SlaTarget(row.target))
        if seconds is None:
            return
        new_s = int(seconds.total_seconds())
        if (row.policy, row.calendar, row.target_s) == (targets.policy, targets.calendar, new_s):
            return
        clock.settle(row, self._calendars[row.calendar], at)
        row.policy, row.calendar, row.target_s = targets.policy, targets.calendar, new_s
        self._reschedule(row)

    async def _clocks(
        self, uow: UnitOfWork, ticket: TicketRow, target: SlaTarget | None = None
    ) -> Sequence[SlaClockRow]:
        assert ticket.id is not None
        rows = await uow.sla.clocks(ticket_id=ticket.id, for_update=True)
        return [row for row in rows if target is None or row.target == target]

    def _reschedule(self, row: SlaClockRow) -> None:
        clock.reschedule(row, self._calendars[row.calendar], self._warn_at)
