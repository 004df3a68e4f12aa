"""Which features follow a ticket's events, and in which order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from config.routing import RoutingConfig
from dispatch.assignment import WritebackQueue
from dispatch.cards import CardPublisher
from dispatch.digests.burst import BurstDigests
from dispatch.events import TicketLog
from dispatch.lines.service import LineTracker
from dispatch.reminders import NagTracker
from dispatch.sla.service import SlaTracker
from dispatch.sla.stages import StageTracker
from dispatch.stats.quality import QualityCheck
from dispatch.time_tracking import TimeTracker
from storage.types import utcnow


def subscribe_features(
    events: TicketLog,
    routing: RoutingConfig,
    cards: CardPublisher,
    *,
    time_tracker: TimeTracker | None,
    writes_back: bool,
    tells_replies: bool = False,
    quality: QualityCheck | None = None,
    bursts: BurstDigests | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Subscribe the status model, support lines, SLA clocks, reminders, the helpdesk
    write-back, the cards, the time prompts, the reply check, and the burst watch (it
    only notes that new cards may be queued).

    The order is the order they run in: the stage, the line and the clocks are
    settled before anything renders them; a reminder is deleted before the card it
    replies to is edited, and the card before the assignee's copy. ``tells_replies``:
    the helpdesk reports staff replies (else an assignment is the first response).
    """
    StageTracker(routing, events).subscribe(events)
    LineTracker(routing).subscribe(events)
    SlaTracker(routing, tells_replies=tells_replies, clock=clock).subscribe(events)
    NagTracker(routing, clock=clock).subscribe(events)
    WritebackQueue(writes_back=writes_back).subscribe(events)
    cards.subscribe(events)
    if time_tracker is not None:
        time_tracker.subscribe(events)
    if quality is not None:
        quality.subscribe(events)
    if bursts is not None:
        bursts.subscribe(events)
