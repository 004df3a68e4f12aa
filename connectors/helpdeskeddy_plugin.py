"""HelpDeskEddy as a plugin: its settings, how it is built, its webhook.

Its webhook (a Dispatcher rule) only names a ticket; the connector fetches it.
With no ``helpdesk.kind`` in the routing file HelpDeskEddy is used whenever its
three variables are set.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from pydantic import AliasPath, Field

from connectors.base import HELPDESK, HelpdeskConnector
from connectors.environment import HelpDeskEddyEnvironment, HelpdeskWebhookEnvironment, unset
from connectors.helpdeskeddy import HelpDeskEddyConnector
from connectors.helpdeskeddy_parse import parse_webhook
from connectors.observe import observed
from connectors.plugin import ConnectorPlugin, ConnectorSettings, References, Selection
from connectors.ratelimit import shared_budget
from connectors.webhooks import (
    TicketNamed,
    Webhook,
    WebhookRequest,
    admit_shared_secret,
    flat_fields,
)


class HelpDeskEddySettings(HelpdeskWebhookEnvironment, HelpDeskEddyEnvironment, ConnectorSettings):
    """``HELPDESKEDDY_*`` plus ``helpdesk.ticket_url``, ``timezone`` and ``helpdeskeddy:``."""

    ticket_url_template: str | None = Field(
        None, validation_alias=AliasPath("routing", "helpdesk", "ticket_url")
    )
    #: The routing file's time zone, the portal's unless ``helpdeskeddy.timezone`` says.
    timezone: str | None = Field(None, validation_alias=AliasPath("routing", "timezone"))
    #: The portal's time zone: naive dates in its answers are read in it.
    portal_timezone: str | None = Field(
        None, validation_alias=AliasPath("routing", "helpdeskeddy", "timezone")
    )
    #: Names of priorities and types are taken in the bot's language.
    language: str = Field("ru", validation_alias=AliasPath("routing", "language"))
    time_field_id: int | None = Field(
        None, validation_alias=AliasPath("routing", "helpdeskeddy", "time_field_id")
    )
    #: ``helpdeskeddy.max_requests_per_minute`` in the routing file wins over the variable.
    routing_max_requests_per_minute: int | None = Field(
        None, validation_alias=AliasPath("routing", "helpdeskeddy", "max_requests_per_minute")
    )

    @property
    def requests_per_minute(self) -> int:
        """The routing file's request budget, else ``HELPDESKEDDY_MAX_REQUESTS_PER_MINUTE``."""
        return self.routing_max_requests_per_minute or self.helpdeskeddy_max_requests_per_minute

    def missing(self) -> str | None:
        """The ``HELPDESKEDDY_*`` variables that are not set."""
        return unset(
            {
                "HELPDESKEDDY_URL": self.helpdeskeddy_url,
                "HELPDESKEDDY_EMAIL": self.helpdeskeddy_email,
                "HELPDESKEDDY_API_KEY": self.helpdeskeddy_api_key,
            }
        )


def parse_ticket_reference(request: WebhookRequest, settings: object) -> TicketNamed:
    """A JSON or form body naming a ticket: ``ticket_id``, ``event``, ``delivery_id``."""
    kind, ticket_id, delivery_id = parse_webhook(flat_fields(request))
    return TicketNamed(kind=kind, external_id=ticket_id, delivery_id=delivery_id)


def _build(settings: HelpDeskEddySettings) -> HelpdeskConnector:
    # All three are checked by missing() before a build.
    assert settings.helpdeskeddy_url is not None
    assert settings.helpdeskeddy_email is not None
    assert settings.helpdeskeddy_api_key is not None
    zone = settings.portal_timezone or settings.timezone
    return HelpDeskEddyConnector(
        base_url=settings.helpdeskeddy_url,
        email=settings.helpdeskeddy_email,
        api_key=settings.helpdeskeddy_api_key.get_secret_value(),
        ticket_url_template=settings.ticket_url_template,
        max_requests_per_minute=settings.requests_per_minute,
        budget=shared_budget(
            settings.budgets,
            f"{HelpDeskEddyConnector.slug}:{settings.helpdeskeddy_url}",
            settings.requests_per_minute,
        ),
        transport=observed(
            None, settings.observer, kind=HELPDESK.name, system=HelpDeskEddyConnector.slug
        ),
        portal_tz=ZoneInfo(zone)
        if (zone := settings.portal_timezone or settings.timezone)
        else None,
        time_field_id=settings.time_field_id,
        language=settings.language,
    )


def helpdeskeddy_plugin() -> ConnectorPlugin[HelpDeskEddySettings, HelpdeskConnector]:
    """HelpDeskEddy: REST API v2, and ``POST /webhooks/helpdeskeddy``."""
    return ConnectorPlugin(
        kind=HELPDESK,
        slug=HelpDeskEddyConnector.slug,
        settings=HelpDeskEddySettings,
        build=_build,
        webhooks=(
            Webhook(
                "/webhooks/helpdeskeddy",
                parse=parse_ticket_reference,
                admit=admit_shared_secret,
                only_when_configured=True,
            ),
        ),
        selection=Selection.WHEN_CONFIGURED,
        references=References(person="helpdesk_id", department="helpdesk_id"),
    )
