"""The generic helpdesk as a plugin: whole tickets posted to ``/webhooks/generic``.

The generic event format is Modest's own, so the route takes events for
whichever helpdesk is configured; without any other helpdesk configured it is
the one Modest uses.
"""

from __future__ import annotations

from connectors.base import HELPDESK, HelpdeskConnector
from connectors.environment import HelpdeskWebhookEnvironment
from connectors.generic import GenericHelpdeskConnector, parse_generic_webhook
from connectors.plugin import ConnectorPlugin, ConnectorSettings, References, Selection
from connectors.webhooks import (
    TicketDelivered,
    Webhook,
    WebhookRequest,
    admit_shared_secret,
    json_body,
)


class GenericSettings(HelpdeskWebhookEnvironment, ConnectorSettings):
    """The generic helpdesk needs nothing but the webhook secret."""


def parse_generic_request(request: WebhookRequest, settings: GenericSettings) -> TicketDelivered:
    """A JSON body carrying the event and the whole ticket (``docs/webhooks.md``)."""
    kind, ticket, delivery_id = parse_generic_webhook(json_body(request))
    return TicketDelivered(kind=kind, ticket=ticket, delivery_id=delivery_id)


def _build(settings: GenericSettings) -> HelpdeskConnector:
    return GenericHelpdeskConnector()


def generic_plugin() -> ConnectorPlugin[GenericSettings, HelpdeskConnector]:
    """The webhook-only generic helpdesk (needs no settings)."""
    return ConnectorPlugin(
        kind=HELPDESK,
        slug=GenericHelpdeskConnector.slug,
        settings=GenericSettings,
        build=_build,
        webhooks=(
            Webhook("/webhooks/generic", parse=parse_generic_request, admit=admit_shared_secret),
        ),
        selection=Selection.FALLBACK,
        references=References(person="helpdesk_id", department="helpdesk_id"),
    )
