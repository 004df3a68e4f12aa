"""Which helpdesk connectors exist and how to build one from settings.

There is no global registry: :func:`default_registry` returns a fresh one, and
tests or plugins add their own factories to the instance they hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, tzinfo

from connectors.base import HelpdeskConnector
from connectors.generic import GenericHelpdeskConnector
from connectors.helpdeskeddy import HelpDeskEddyConnector
from connectors.rt import RequestTrackerConnector


@dataclass(frozen=True, slots=True)
class HelpdeskOptions:
    """Everything a connector factory may need; unused fields are ignored."""

    helpdeskeddy_url: str | None = None
    helpdeskeddy_email: str | None = None
    # Kept out of repr so an options object can be logged or shown in a traceback.
    helpdeskeddy_api_key: str | None = field(default=None, repr=False)
    max_requests_per_minute: int = 120
    ticket_url_template: str | None = None
    portal_tz: tzinfo | None = None
    closed_statuses: frozenset[str] = frozenset({"closed"})
    time_field_id: int | None = None
    rt_url: str | None = None
    rt_token: str | None = field(default=None, repr=False)
    rt_user: str | None = None
    rt_password: str | None = field(default=None, repr=False)
    rt_timezone: tzinfo = UTC


HelpdeskFactory = Callable[[HelpdeskOptions], HelpdeskConnector]


def build_helpdeskeddy(options: HelpdeskOptions) -> HelpdeskConnector:
    """A HelpDeskEddy connector; ValueError names the first missing setting."""
    url = options.helpdeskeddy_url
    email = options.helpdeskeddy_email
    api_key = options.helpdeskeddy_api_key
    missing = [
        name
        for name, value in (
            ("helpdeskeddy_url", url),
            ("helpdeskeddy_email", email),
            ("helpdeskeddy_api_key", api_key),
        )
        if not value
    ]
    if missing or url is None or email is None or api_key is None:
        raise ValueError(f"HelpDeskEddy needs {', '.join(missing)}")
    return HelpDeskEddyConnector(
        base_url=url,
        email=email,
        api_key=api_key,
        ticket_url_template=options.ticket_url_template,
        max_requests_per_minute=options.max_requests_per_minute,
        closed_statuses=options.closed_statuses,
        portal_tz=options.portal_tz,
        time_field_id=options.time_field_id,
    )


def build_rt(options: HelpdeskOptions) -> HelpdeskConnector:
    """A Request Tracker connector; ValueError says which setting is missing."""
    if not options.rt_url:
        raise ValueError("Request Tracker needs rt_url")
    if not options.rt_token and not (options.rt_user and options.rt_password):
        raise ValueError("Request Tracker needs rt_token, or rt_user and rt_password")
    return RequestTrackerConnector(
        base_url=options.rt_url,
        token=options.rt_token,
        user=options.rt_user,
        password=options.rt_password,
        ticket_url_template=options.ticket_url_template,
        timezone=options.rt_timezone,
    )


def build_generic(options: HelpdeskOptions) -> HelpdeskConnector:
    """The webhook-only generic connector (needs no settings)."""
    return GenericHelpdeskConnector()


class HelpdeskRegistry:
    """Connector factories by slug."""

    def __init__(self) -> None:
        self._factories: dict[str, HelpdeskFactory] = {}

    def register(self, slug: str, factory: HelpdeskFactory, *, replace: bool = False) -> None:
        """Add a factory; registering a taken slug needs ``replace=True``."""
        if slug in self._factories and not replace:
            raise ValueError(f"helpdesk {slug!r} is already registered")
        self._factories[slug] = factory

    def create(self, slug: str, options: HelpdeskOptions) -> HelpdeskConnector:
        """Build the connector for ``slug``; ValueError lists the known slugs."""
        try:
            factory = self._factories[slug]
        except KeyError:
            known = ", ".join(self.slugs()) or "none"
            raise ValueError(f"unknown helpdesk {slug!r}; known: {known}") from None
        return factory(options)

    def slugs(self) -> list[str]:
        """Registered slugs, sorted."""
        return sorted(self._factories)


def default_registry() -> HelpdeskRegistry:
    """A new registry with the built-in helpdesks: ``helpdeskeddy``, ``rt`` and ``generic``."""
    registry = HelpdeskRegistry()
    registry.register(HelpDeskEddyConnector.slug, build_helpdeskeddy)
    registry.register(RequestTrackerConnector.slug, build_rt)
    registry.register(GenericHelpdeskConnector.slug, build_generic)
    return registry
