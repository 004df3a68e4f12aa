"""A ticket's nearest SLA target as of now, for cards and lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from config.routing import RoutingConfig
from dispatch.sla import clock
from dispatch.sla.clock import Calendars
from dispatch.sla.policies import SlaTarget
from dispatch.sla.views import SlaNote
from storage.db import UnitOfWork
from storage.models import SlaClockRow


class SlaReader:
    """Reads clocks into notes; costs no query when no policy is configured."""

    def __init__(self, routing: RoutingConfig) -> None:
        self._enabled = routing.sla.enabled
        self._calendars = Calendars(routing)

    @property
    def enabled(self) -> bool:
        """Whether tickets can have clocks at all."""
        return self._enabled

    def note(self, clocks: Iterable[SlaClockRow], now: datetime) -> SlaNote | None:
        """The open target with the least time left (None: every target reached)."""
        notes = [self._note(row, now) for row in clocks if row.done_at is None]
        return min(notes, key=lambda note: note.left, default=None)

    def _note(self, row: SlaClockRow, now: datetime) -> SlaNote:
        left_s = clock.left(row, self._calendars[row.calendar], now)
        return SlaNote(
            target=SlaTarget(row.target),
            left=timedelta(seconds=round(left_s)),
            due_at=row.due_at if row.since is not None else None,
            paused=row.since is None,
            by_assignment=row.by_assignment,
        )

    async def note_for(self, uow: UnitOfWork, ticket_id: int, now: datetime) -> SlaNote | None:
        """One ticket's note."""
        if not self._enabled:
            return None
        return self.note(await uow.sla.clocks(ticket_id=ticket_id), now)

    async def notes_for(
        self, uow: UnitOfWork, ticket_ids: Sequence[int], now: datetime
    ) -> dict[int, SlaNote]:
        """Notes of many tickets, by ticket (tickets without an open target left out)."""
        if not self._enabled or not ticket_ids:
            return {}
        found = await uow.sla.for_tickets(ticket_ids=ticket_ids)
        notes = {ticket_id: self.note(rows, now) for ticket_id, rows in found.items()}
        return {ticket_id: note for ticket_id, note in notes.items() if note is not None}
