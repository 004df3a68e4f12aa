"""Builds the domain services (dispatch/) and the helpdesk job runner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from config.routing import RoutingConfig
from connectors.base import HelpdeskConnector
from connectors.crm import CrmConnector
from connectors.trackers import TrackerConnector
from dispatch.assignment import AssignmentService
from dispatch.cards import CardPublisher
from dispatch.clients import ClientDirectory
from dispatch.crm.feature import CrmFeature, CrmJobs
from dispatch.dev_sync import DevTaskSync
from dispatch.dev_tasks import DevTaskService
from dispatch.digests.board import Digests
from dispatch.digests.burst import BurstDigests
from dispatch.digests.pace import ChatPace
from dispatch.events import Source, TicketLog
from dispatch.health.unreadable import UnreadableTickets
from dispatch.health.watch import CHECK_EVERY, ConnectorWatch, Watched
from dispatch.helpdesk_notes import HelpdeskNotes
from dispatch.history import TicketHistory
from dispatch.intake import IntakeService
from dispatch.job_payloads import (
    CreateDevTask,
    CrmEnrich,
    CrmNote,
    CrmPackageCheck,
    FetchTicket,
    HelpdeskNote,
    HelpdeskStatus,
    HelpdeskTime,
    SyncDevTask,
    WriteBack,
)
from dispatch.lines.service import LineService
from dispatch.lists import TicketLists
from dispatch.reassign import Reassignment
from dispatch.reconcile import HelpdeskPoller
from dispatch.reminders import ReminderService
from dispatch.report_delivery import MonthlyReports, ReportMailer
from dispatch.report_files import Translate
from dispatch.reports import ReportService
from dispatch.sla.scan import SlaService
from dispatch.stats.command import StatsRenderer, StatsReports
from dispatch.stats.digest import WeeklyDigest
from dispatch.stats.quality import QualityCheck, QualityRenderer
from dispatch.stats.service import StatsService
from dispatch.subscriptions import subscribe_features
from dispatch.time_followup import TimeFollowUp
from dispatch.time_tracking import TimeTracker
from dispatch.views import Renderer
from dispatch.writeback import HelpdeskSync
from scheduler.housekeeping import PeriodicJob
from scheduler.jobs import JobKind, JobObserver, JobRunner
from storage.db import Database


class StatsRendering(StatsRenderer, QualityRenderer, Protocol):
    """How statistics and quality alerts look (the bot's ``TelegramStatsRenderer``)."""


@dataclass(frozen=True, slots=True)
class Statistics:
    """``/stats``, the weekly digest (and the reply check): wired when something draws them."""

    reports: StatsReports
    digest: WeeklyDigest


def build_statistics(
    database: Database, routing: RoutingConfig, renderer: StatsRendering
) -> Statistics:
    """The statistics services around one database."""
    service = StatsService(database, routing)
    reports = StatsReports(database, routing, service, renderer)
    return Statistics(reports, WeeklyDigest(database, routing, service, reports))


@dataclass(frozen=True, slots=True)
class Domain:
    """The services the HTTP intake, the bot and the scheduler all call."""

    intake: IntakeService
    assignment: AssignmentService
    reassignment: Reassignment
    reminders: ReminderService
    lists: TicketLists
    time_tracker: TimeTracker
    time_followup: TimeFollowUp
    reports: ReportService
    monthly_reports: MonthlyReports
    dev_tasks: DevTaskService
    dev_sync: DevTaskSync
    poller: HelpdeskPoller
    job_runner: JobRunner
    events: TicketLog
    history: TicketHistory
    health: ConnectorWatch
    unreadable: UnreadableTickets
    #: Lists new tickets in digests when their cards would wait too long.
    bursts: BurstDigests
    sla: SlaService
    lines: LineService
    crm: CrmFeature | None = None
    #: None when the domain is built without a statistics renderer (no bot to draw them).
    stats: Statistics | None = None


def build_domain(
    database: Database,
    routing: RoutingConfig,
    helpdesk: HelpdeskConnector,
    renderer: Renderer,
    *,
    translate: Translate,
    job_retry_delay: float,
    tracker: TrackerConnector | None = None,
    crm: CrmConnector | None = None,
    stats_renderer: StatsRendering | None = None,
    pace: ChatPace | None = None,
    job_observer: JobObserver | None = None,
) -> Domain:
    """Wire the dispatch services around one ticket event log.

    The features that follow a ticket's changes subscribe to the log here
    (``dispatch.subscriptions``). Statistics and the reply check come with a
    ``stats_renderer``. ``pace`` is how fast the outbox may post into the dispatch chat
    (the limiter's; burst digests decide with it); ``job_observer`` is told how each
    job run ended (metrics).
    """
    events = TicketLog()
    crm_feature = CrmFeature(database, routing, crm, translate=translate) if crm else None
    clients = crm_feature.clients if crm_feature else ClientDirectory(routing)
    cards = CardPublisher(
        routing,
        renderer,
        dev_tasks=tracker is not None,
        clients=clients,
        crm=crm_feature.cards if crm_feature else None,
    )
    digests = Digests(database, routing, renderer, cards)
    bursts = BurstDigests(database, routing, digests, pace=pace)
    writes_back = helpdesk.capabilities.writes_back
    notes = HelpdeskNotes(translate)
    time_tracker = TimeTracker(
        database, routing, renderer, events, notes=notes if writes_back else None, clients=clients
    )
    subscribe_features(
        events,
        routing,
        cards,
        time_tracker=time_tracker,
        writes_back=writes_back,
        quality=QualityCheck(routing, stats_renderer) if stats_renderer else None,
        bursts=bursts,
        tells_replies=helpdesk.capabilities.tells_replies,
    )
    crm_jobs = (
        crm_feature.follow(events, cards=cards, time_tracker=time_tracker) if crm_feature else None
    )
    intake = IntakeService(database, routing, events)
    assignment = AssignmentService(database, routing, cards, events, writes_back=writes_back)
    health = ConnectorWatch(database, routing, renderer, _watched(helpdesk, tracker))
    unreadable = UnreadableTickets(database, routing, renderer, helpdesk=helpdesk.title)
    sync = HelpdeskSync(
        database, routing, helpdesk, intake, events, unreadable=unreadable, watch=health
    )
    reports = ReportService(database, routing, clients=clients)
    dev_tasks = DevTaskService(database, routing, renderer, tracker, helpdesk, events, notes=notes)
    dev_sync = DevTaskSync(database, routing, renderer, tracker, dev_tasks, events, notes=notes)
    via = Source.POLL if helpdesk.capabilities.polls_for_intake else Source.RECONCILE
    kinds = _job_kinds(sync, dev_tasks, dev_sync, delay=job_retry_delay)
    kinds.update(_crm_job_kinds(crm_jobs, delay=job_retry_delay))
    return Domain(
        dev_tasks=dev_tasks,
        dev_sync=dev_sync,
        reports=reports,
        monthly_reports=MonthlyReports(reports, ReportMailer(routing, translate)),
        intake=intake,
        assignment=assignment,
        reassignment=Reassignment(
            database,
            routing,
            cards,
            events,
            writes_back=writes_back,
            notes=notes if writes_back else None,
        ),
        reminders=ReminderService(database, routing, cards, renderer, events, digests=digests),
        lists=TicketLists(database, routing, renderer),
        time_tracker=time_tracker,
        time_followup=TimeFollowUp(database, routing, renderer, time_tracker),
        poller=HelpdeskPoller(database, helpdesk, intake, via=via),
        job_runner=JobRunner(database, kinds, observer=job_observer),
        events=events,
        history=TicketHistory(database, routing),
        health=health,
        unreadable=unreadable,
        bursts=bursts,
        sla=SlaService(database, routing, cards, renderer, events),
        lines=LineService(
            database, routing, renderer, events, notes=notes if writes_back else None
        ),
        crm=crm_feature,
        stats=build_statistics(database, routing, stats_renderer) if stats_renderer else None,
    )


def _watched(helpdesk: HelpdeskConnector, tracker: TrackerConnector | None) -> list[Watched]:
    """The configured connectors; tickets stop coming in when a helpdesk read from fails."""
    capabilities = helpdesk.capabilities
    reads = capabilities.fetches_tickets or capabilities.polls_for_intake
    watched = [Watched("helpdesk", helpdesk, blocks_intake=reads)]
    if tracker is not None:
        watched.append(Watched("tracker", tracker))
    return watched


def _job_kinds(
    sync: HelpdeskSync, dev_tasks: DevTaskService, dev_sync: DevTaskSync, *, delay: float
) -> dict[str, JobKind]:
    """How each background job runs, and how long a failing one keeps being tried."""
    lasting = {"base_delay": delay, "max_delay": 900.0}
    return {
        FetchTicket.job_kind: JobKind(sync.fetch, sync.fetch_failed, max_attempts=12, **lasting),
        WriteBack.job_kind: JobKind(
            sync.write_back, sync.writeback_failed, max_attempts=5, base_delay=delay
        ),
        HelpdeskNote.job_kind: JobKind(sync.note, None, max_attempts=20, **lasting),
        HelpdeskStatus.job_kind: JobKind(sync.status, None, max_attempts=20, **lasting),
        HelpdeskTime.job_kind: JobKind(sync.time_field, None, max_attempts=20, **lasting),
        CreateDevTask.job_kind: JobKind(dev_tasks.create, None, max_attempts=20, **lasting),
        SyncDevTask.job_kind: JobKind(dev_sync.sync_job, None, max_attempts=12, **lasting),
    }


def _crm_job_kinds(jobs: CrmJobs | None, *, delay: float) -> dict[str, JobKind]:
    """The CRM's jobs: a card's look-up is tried a few times only (it is not worth
    an edit much later), a timeline note for longer."""
    if jobs is None:
        return {}
    kinds = {
        CrmEnrich.job_kind: JobKind(
            jobs.enrichment.enrich,
            jobs.enrichment.gave_up,
            max_attempts=4,
            base_delay=delay,
            max_delay=120.0,
        ),
        CrmNote.job_kind: JobKind(
            jobs.timeline.write, None, max_attempts=12, base_delay=delay, max_delay=900.0
        ),
    }
    if jobs.packages is not None:
        kinds[CrmPackageCheck.job_kind] = JobKind(
            jobs.packages.check, None, max_attempts=3, base_delay=delay
        )
    return kinds


def periodic_jobs(
    routing: RoutingConfig, helpdesk: HelpdeskConnector, domain: Domain
) -> list[PeriodicJob]:
    """Reminder and SLA passes, and helpdesk polling where the connector can list tickets."""
    interval = routing.dispatch.nag_interval
    # A pass every quarter interval (at most 15 s apart) keeps reminders on time.
    every = max(timedelta(seconds=1), min(timedelta(seconds=15), interval / 4))
    jobs = [
        PeriodicJob("reminders.pass", domain.reminders.run_pass, every),
        # Idle unless new tickets came in during the last seconds (then one look a second).
        PeriodicJob("cards.burst", domain.bursts.run_pass, timedelta(seconds=1)),
        PeriodicJob("time.ask_again", domain.time_followup.ask_again, timedelta(minutes=1)),
        PeriodicJob("reports.monthly", domain.monthly_reports.run, timedelta(minutes=5)),
        PeriodicJob("connectors.check", domain.health.check_all, CHECK_EVERY),
        # Priorities and types are shown by their helpdesk names; new ones appear within the hour.
        PeriodicJob("helpdesk.dictionaries", helpdesk.load_dictionaries, timedelta(hours=1)),
    ]
    if domain.stats is not None:
        jobs.append(
            PeriodicJob("stats.weekly_digest", domain.stats.digest.run, timedelta(minutes=5))
        )
    if domain.sla.enabled:
        jobs.append(PeriodicJob("sla.pass", domain.sla.run_pass, routing.sla.scan_interval))
    if domain.dev_tasks.enabled:
        # Bitrix24 never retries an event and Redmine before 7 sends none: poll too.
        jobs.append(
            PeriodicJob("tracker.sync", domain.dev_sync.sync_open, routing.tracker.poll_interval)
        )
    capabilities = helpdesk.capabilities
    if capabilities.lists_changes:
        # Where polling is the intake (RT) it runs often; elsewhere it catches lost webhooks.
        poll = (
            routing.helpdesk.poll_interval
            if capabilities.polls_for_intake
            else routing.helpdesk.reconcile_interval
        )
        jobs.append(PeriodicJob("helpdesk.poll", domain.poller.run_once, poll))
    return jobs
