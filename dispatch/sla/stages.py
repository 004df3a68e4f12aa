"""The status model: a ticket's helpdesk status is one of five stages.

``statuses:`` in the routing file (on top of the helpdesk's defaults) maps each
status onto a stage. A status mapped nowhere counts as ``classification`` while
the ticket waits for an assignee and ``in_work`` once someone has it, so clocks
run rather than pause on a status nobody thought of. A status change that moves
the stage is a ``stage_changed`` event, which the SLA clocks follow; an assignment,
a reopen or a hand-over moves only between those two running stages, and is an
event of its own already.
"""

from __future__ import annotations

from config.routing import RoutingConfig
from config.sla import Stage
from dispatch.events import EventKind, TicketEvent, TicketLog
from dispatch.models import TicketState
from storage.db import UnitOfWork
from storage.models import TicketRow

#: Events after which a ticket's stage may have moved with its Modest state.
_STATE_MOVES = (
    EventKind.ASSIGNED,
    EventKind.REASSIGNED,
    EventKind.REOPENED,
    EventKind.PASSED_TO_LINE,
)


class StatusModel:
    """Which stage a status is."""

    def __init__(self, routing: RoutingConfig) -> None:
        self._stages = routing.statuses.stages(routing.helpdesk.kind)

    def statuses_of(self, stage: Stage) -> frozenset[str]:
        """The statuses mapped onto ``stage`` (the helpdesk's defaults and ``statuses:``)."""
        return frozenset(status for status, mapped in self._stages.items() if mapped == stage)

    def stage_of(self, status: str, state: str) -> Stage:
        """The stage of a ticket with this status in this Modest state."""
        mapped = self._stages.get(status) or self._stages.get(status.casefold())
        if mapped is not None:
            return mapped
        return Stage.CLASSIFICATION if state == TicketState.UNASSIGNED else Stage.IN_WORK


class StageTracker:
    """Keeps ``ticket.stage`` in step and records each change."""

    def __init__(self, routing: RoutingConfig, events: TicketLog) -> None:
        self._model = StatusModel(routing)
        self._events = events

    def subscribe(self, events: TicketLog) -> None:
        """The first subscriber of these kinds: everything after sees the new stage."""
        events.subscribe((EventKind.CREATED, *_STATE_MOVES), self._on_state)
        events.subscribe((EventKind.STATUS_CHANGED,), self._on_status)

    async def _on_state(self, uow: UnitOfWork, ticket: TicketRow, _: TicketEvent) -> None:
        # The event itself tells what changed; the stage follows without one of its own.
        if ticket.state != TicketState.CLOSED or not ticket.stage:
            ticket.stage = self._model.stage_of(ticket.status, ticket.state)

    async def _on_status(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        if ticket.state == TicketState.CLOSED:
            return  # a closed ticket keeps the stage it closed in
        stage = self._model.stage_of(ticket.status, ticket.state)
        if stage == ticket.stage:
            return
        old, ticket.stage = ticket.stage, stage
        await self._events.record(
            uow,
            ticket,
            EventKind.STAGE_CHANGED,
            event.actor,
            changes={"stage": (old or None, stage)},
            detail={"status": ticket.status},
            at=event.at,
        )
