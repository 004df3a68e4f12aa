"""The CRM feature put together: what the cards, time tracking and reports need from it
(built first), then the subscribers and job handlers that follow the ticket log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from config.routing import RoutingConfig
from connectors.crm import CrmConnector
from dispatch.cards import CardPublisher
from dispatch.clients import ClientDirectory
from dispatch.crm.cards import CrmCardBlocks
from dispatch.crm.clients import CrmClientDirectory
from dispatch.crm.enrichment import CrmEnrichment
from dispatch.crm.lookup import CrmLookup
from dispatch.crm.packages import CrmPackages
from dispatch.crm.timeline import CrmTimeline
from dispatch.events import TicketLog
from dispatch.report_files import Translate
from dispatch.time_tracking import TimeTracker
from storage.db import Database
from storage.types import utcnow


@dataclass(frozen=True, slots=True)
class CrmJobs:
    """The CRM's job handlers: the look-up, the timeline note, the package check."""

    enrichment: CrmEnrichment
    timeline: CrmTimeline
    packages: CrmPackages | None


class CrmFeature:
    """The CRM's parts; ``clients`` is the directory every billing feature uses."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        crm: CrmConnector,
        *,
        translate: Translate,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._clock = clock
        self.lookup = CrmLookup(database, crm, ttl=routing.crm.cache_ttl, clock=clock)
        self.crm_clients = (
            CrmClientDirectory(routing, self.lookup) if routing.crm.clients_from_crm else None
        )
        self.clients: ClientDirectory = self.crm_clients or ClientDirectory(routing)
        self.cards = CrmCardBlocks(routing, clock=clock)
        self.timeline = CrmTimeline(database, routing, crm, translate)

    def follow(
        self, events: TicketLog, *, cards: CardPublisher, time_tracker: TimeTracker
    ) -> CrmJobs:
        """Subscribe to the ticket log (after the cards: the look-up follows the card)."""
        enrichment = CrmEnrichment(self._db, self.lookup, cards, clock=self._clock)
        enrichment.subscribe(events)
        self.timeline.subscribe(events)
        packages = None
        if self.crm_clients is not None:
            packages = CrmPackages(self._db, self.crm_clients, time_tracker)
            packages.subscribe(events)
        return CrmJobs(enrichment, self.timeline, packages)
