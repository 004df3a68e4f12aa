"""Redmine as a plugin: its settings, how it is built, its signed webhook.

Redmine 7 posts issue events to ``/webhooks/redmine`` signed with
``X-Redmine-Signature-256`` (HMAC-SHA256 of the body, ``REDMINE_WEBHOOK_SECRET``).
The event only says which issue changed.
"""

from __future__ import annotations

import json

from pydantic import AliasPath, Field

from connectors.environment import RedmineEnvironment, unset
from connectors.observe import observed
from connectors.plugin import ConnectorPlugin, ConnectorSettings, References
from connectors.ratelimit import shared_budget
from connectors.redmine import RedmineConnector, verify_webhook
from connectors.trackers import TRACKER, TrackerConnector
from connectors.webhooks import TaskNamed, Webhook, WebhookRejected, WebhookRequest

SIGNATURE_HEADER = "X-Redmine-Signature-256"


class RedmineSettings(RedmineEnvironment, ConnectorSettings):
    """``REDMINE_*`` plus ``tracker.project`` and ``tracker.redmine_tracker_id``."""

    project: str | None = Field(None, validation_alias=AliasPath("routing", "tracker", "project"))
    tracker_id: int | None = Field(
        None, validation_alias=AliasPath("routing", "tracker", "redmine_tracker_id")
    )

    def missing(self) -> str | None:
        """The server's URL and the API key, when they are not set."""
        return unset({"REDMINE_URL": self.redmine_url, "REDMINE_API_KEY": self.redmine_api_key})


def parse_issue_event(request: WebhookRequest, settings: RedmineSettings) -> TaskNamed:
    """The signature over the raw body (401 when wrong), then ``data.issue.id``."""
    secret = settings.redmine_webhook_secret
    signature = request.head.headers.get(SIGNATURE_HEADER)
    if secret is None or not verify_webhook(request.body, signature, secret.get_secret_value()):
        raise WebhookRejected(401, f"missing or wrong {SIGNATURE_HEADER}", SIGNATURE_HEADER)
    try:
        data = json.loads(request.body)
        issue_id = str(int(data["data"]["issue"]["id"]))
    # Overflow: an id of 1e400 is infinity; recursion: a body nested too deeply.
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
        raise WebhookRejected(
            400, f"expected data.issue.id: {type(exc).__name__}", "data.issue.id"
        ) from exc
    event = data.get("type")
    return TaskNamed(external_id=issue_id, event=event if isinstance(event, str) else "")


def _build(settings: RedmineSettings) -> TrackerConnector:
    assert settings.redmine_url is not None  # checked by missing()
    assert settings.redmine_api_key is not None
    return RedmineConnector(
        base_url=settings.redmine_url,
        api_key=settings.redmine_api_key.get_secret_value(),
        project=settings.project,
        tracker_id=settings.tracker_id,
        max_requests_per_minute=settings.redmine_max_requests_per_minute,
        budget=shared_budget(
            settings.budgets,
            f"{RedmineConnector.slug}:{settings.redmine_url}",
            settings.redmine_max_requests_per_minute,
        ),
        transport=observed(
            None, settings.observer, kind=TRACKER.name, system=RedmineConnector.slug
        ),
    )


def redmine_plugin() -> ConnectorPlugin[RedmineSettings, TrackerConnector]:
    """Redmine issues through its REST API, and ``POST /webhooks/redmine``."""
    return ConnectorPlugin(
        kind=TRACKER,
        slug=RedmineConnector.slug,
        settings=RedmineSettings,
        build=_build,
        webhooks=(Webhook("/webhooks/redmine", parse=parse_issue_event),),
        references=References(person="redmine_id"),
    )
