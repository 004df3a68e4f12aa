"""Connectors in the composition root: which are configured, building them from the
registry, the routing keys they name people by, and the HTTP app serving their webhooks.

Nothing here names a vendor: the registry (``connectors.registry``) and each
connector's plugin declare all of it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web

from config.errors import ConfigError
from config.routing import RoutingConfig
from config.settings import Settings
from connectors.base import HELPDESK, HelpdeskConnector
from connectors.budgets import SharedBudgets
from connectors.crm import CRM, CrmConnector
from connectors.observe import RequestObserver
from connectors.plugin import ConnectorKind, SettingsMissing
from connectors.registry import ConnectorRegistry, default_registry
from connectors.trackers import TRACKER, TrackerConnector
from modest.domain import Domain
from modest.metrics import Metrics
from modest.metrics_web import MetricsEndpoint, add_metrics_route
from modest.web import (
    Deliveries,
    WebhookEndpoint,
    WebhookServer,
    build_web_app,
    task_deliveries,
    ticket_deliveries,
)
from storage.db import Database

C = TypeVar("C")


def connector_source(
    settings: Settings,
    routing: RoutingConfig,
    budgets: SharedBudgets | None = None,
    observer: RequestObserver | None = None,
) -> dict[str, Any]:
    """What connectors read their settings from: the environment values by name, and
    the routing file under ``routing`` (each connector picks the fields it declares);
    ``budgets`` are the request budgets the connectors built together share;
    ``observer`` is told how each of their HTTP requests ended (metrics)."""
    source = {**dict(settings), "routing": routing.model_dump()}
    if budgets is not None:
        source["budgets"] = budgets
    if observer is not None:
        source["observer"] = observer
    return source


def configured_kind(
    kind: ConnectorKind[Any],
    named: str | None,
    settings: Settings,
    routing: RoutingConfig,
    registry: ConnectorRegistry | None = None,
) -> str | None:
    """Which connector of ``kind`` this deployment uses; ConfigError names what is missing."""
    registry = registry or default_registry()
    try:
        return registry.choose(kind, named, connector_source(settings, routing))
    except SettingsMissing as exc:
        raise ConfigError(str(exc)) from None
    except ValueError as exc:
        raise ConfigError(f"{kind.name}.kind: {exc}") from None


def build_connector(
    kind: ConnectorKind[C],
    named: str | None,
    settings: Settings,
    routing: RoutingConfig,
    registry: ConnectorRegistry | None = None,
    budgets: SharedBudgets | None = None,
    observer: RequestObserver | None = None,
) -> C | None:
    """The configured connector of ``kind`` (None when there is none), built by the registry."""
    registry = registry or default_registry()
    slug = configured_kind(kind, named, settings, routing, registry)
    if slug is None:
        return None
    try:
        return registry.create(kind, slug, connector_source(settings, routing, budgets, observer))
    except ValueError as exc:
        raise ConfigError(f"{kind.name}.kind is {slug}: {exc}") from exc


def helpdesk_kind(
    settings: Settings, routing: RoutingConfig, registry: ConnectorRegistry | None = None
) -> str:
    """Which helpdesk connector this deployment uses."""
    slug = configured_kind(HELPDESK, routing.helpdesk.kind, settings, routing, registry)
    if slug is None:
        raise ConfigError("helpdesk.kind: no helpdesk connector is registered")
    return slug


def build_helpdesk(
    settings: Settings,
    routing: RoutingConfig,
    registry: ConnectorRegistry | None = None,
    budgets: SharedBudgets | None = None,
    observer: RequestObserver | None = None,
) -> HelpdeskConnector:
    """The helpdesk connector named by the configuration."""
    helpdesk = build_connector(
        HELPDESK, routing.helpdesk.kind, settings, routing, registry, budgets, observer
    )
    if helpdesk is None:
        raise ConfigError("helpdesk.kind: no helpdesk connector is registered")
    return helpdesk


def build_tracker(
    settings: Settings,
    routing: RoutingConfig,
    registry: ConnectorRegistry | None = None,
    budgets: SharedBudgets | None = None,
    observer: RequestObserver | None = None,
) -> TrackerConnector | None:
    """The task tracker for developer tasks, or None when ``tracker.kind`` is not set."""
    return build_connector(
        TRACKER, routing.tracker.kind, settings, routing, registry, budgets, observer
    )


def build_crm(
    settings: Settings,
    routing: RoutingConfig,
    registry: ConnectorRegistry | None = None,
    budgets: SharedBudgets | None = None,
    observer: RequestObserver | None = None,
) -> CrmConnector | None:
    """The CRM requesters and contracts are looked up in, or None without ``crm.kind``."""
    return build_connector(CRM, routing.crm.kind, settings, routing, registry, budgets, observer)


def bind_references(
    routing: RoutingConfig,
    registry: ConnectorRegistry,
    *,
    helpdesk: str,
    tracker: str | None,
    crm: str | None = None,
) -> RoutingConfig:
    """The routing with the routing-file keys the configured connectors name people by.

    The slugs are the configured kinds, so a stand-in (a test fake) keeps the keys of
    the connector the routing file names.
    """
    configured: list[tuple[ConnectorKind[Any], str | None]] = [
        (HELPDESK, helpdesk),
        (TRACKER, tracker),
        (CRM, crm),
    ]
    for kind, slug in configured:
        if slug is not None and slug in registry.slugs(kind):
            refs = registry.plugin(kind, slug).references
            routing = routing.with_references(
                kind.name, person=refs.person, department=refs.department
            )
    return routing


def build_http(
    settings: Settings,
    routing: RoutingConfig,
    helpdesk: HelpdeskConnector,
    domain: Domain,
    database: Database,
    *,
    tracker: TrackerConnector | None = None,
    registry: ConnectorRegistry | None = None,
    metrics: Metrics | None = None,
    budgets: SharedBudgets | None = None,
) -> web.Application:
    """The aiohttp app: every webhook the registered connectors declare, ``/healthz``,
    and ``/metrics`` when there are ``metrics``."""
    registry = registry or default_registry()
    source = connector_source(settings, routing)
    # A webhook that needs its own connector configured (one that only names a ticket)
    # is told whether it is the one in use.
    active = {HELPDESK.name: helpdesk.slug, TRACKER.name: tracker.slug if tracker else ""}
    endpoints = [
        endpoint
        for plugin in registry.plugins()
        for endpoint in WebhookEndpoint.of(
            plugin,
            plugin.load_settings(source),
            configured=active.get(plugin.kind.name) == plugin.slug,
        )
    ]
    deliveries = Deliveries()
    ticket_deliveries(deliveries, domain.intake, helpdesk)
    task_deliveries(deliveries, domain.dev_sync)
    max_body = settings.webhook_max_body_bytes
    server = WebhookServer(deliveries, max_body, metrics=metrics)
    app = build_web_app(endpoints, server, database, max_body, health=domain.health)
    if metrics is not None:
        token = settings.metrics_token
        endpoint = MetricsEndpoint(
            metrics,
            database,
            dispatch_chat=routing.dispatch.chat_id,
            budgets=budgets,
            token=token.get_secret_value() if token else None,
        )
        add_metrics_route(app, endpoint)
    return app
