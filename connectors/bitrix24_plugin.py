"""Bitrix24 as a plugin: its settings, how it is built, its outbound events.

Bitrix24 posts ``ONTASKUPDATE`` and ``ONTASKCOMMENTADD`` form-encoded to
``/webhooks/bitrix24``; the event proves itself with ``auth[application_token]``
(``BITRIX24_APP_TOKEN``), and only says which task changed.
"""

from __future__ import annotations

from pydantic import AliasPath, Field

from connectors.bitrix24 import Bitrix24Connector
from connectors.bitrix24_parse import parse_event
from connectors.bitrix24_rest import portal_limiter
from connectors.environment import Bitrix24Environment, unset
from connectors.observe import observed
from connectors.payload import PayloadError
from connectors.plugin import ConnectorPlugin, ConnectorSettings, References
from connectors.trackers import TRACKER, TrackerConnector
from connectors.webhooks import RequestHead, TaskNamed, Webhook, WebhookRejected, WebhookRequest

_TOKEN_FIELD = "auth[application_token]"  # noqa: S105 - a form key, not a secret


class Bitrix24Settings(Bitrix24Environment, ConnectorSettings):
    """``BITRIX24_*`` plus ``tracker.bitrix24_done_statuses``."""

    done_statuses: frozenset[int] = Field(
        frozenset({5}), validation_alias=AliasPath("routing", "tracker", "bitrix24_done_statuses")
    )

    def missing(self) -> str | None:
        """The incoming webhook's URL, when it is not set."""
        return unset({"BITRIX24_WEBHOOK_URL": self.bitrix24_webhook_url})


def admit_event(head: RequestHead, settings: Bitrix24Settings) -> None:
    """Refuse every event while no application token is configured."""
    if not settings.bitrix24_app_token:
        raise WebhookRejected(
            401, "Bitrix24 events are disabled: BITRIX24_APP_TOKEN is not set", _TOKEN_FIELD
        )


def parse_task_event(request: WebhookRequest, settings: Bitrix24Settings) -> TaskNamed:
    """The token (401 when wrong), then which task the event is about."""
    token = settings.bitrix24_app_token
    try:
        event = parse_event(request.form, app_token=token.get_secret_value() if token else "")
    except PayloadError as exc:
        if exc.field == _TOKEN_FIELD:
            raise WebhookRejected(401, exc.message, exc.field) from exc
        raise
    return TaskNamed(external_id=event.task_id, event=event.event)


def _build(settings: Bitrix24Settings) -> TrackerConnector:
    assert settings.bitrix24_webhook_url is not None  # checked by missing()
    url = settings.bitrix24_webhook_url.get_secret_value()
    return Bitrix24Connector(
        webhook_url=url,
        done_statuses=settings.done_statuses,
        limiter=portal_limiter(settings.budgets, url),
        transport=observed(
            None, settings.observer, kind=TRACKER.name, system=Bitrix24Connector.slug
        ),
    )


def bitrix24_plugin() -> ConnectorPlugin[Bitrix24Settings, TrackerConnector]:
    """Bitrix24 tasks through an incoming webhook, and ``POST /webhooks/bitrix24``."""
    return ConnectorPlugin(
        kind=TRACKER,
        slug=Bitrix24Connector.slug,
        settings=Bitrix24Settings,
        build=_build,
        webhooks=(Webhook("/webhooks/bitrix24", parse=parse_task_event, admit=admit_event),),
        references=References(person="bitrix24_id"),
    )
