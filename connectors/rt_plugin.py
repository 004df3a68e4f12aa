"""Request Tracker as a plugin: its settings, how it is built, its webhook.

RT is polled (``helpdesk.poll_interval``); a scrip may also post to
``/webhooks/rt`` to name a changed ticket, which is then fetched at once.
People are RT user names (``rt_user``), departments queues (``rt_queue``); a
reply by a person's RT user is a staff reply without asking RT.
"""

from __future__ import annotations

from pydantic import AliasPath, Field, field_validator

from connectors.base import HELPDESK, HelpdeskConnector
from connectors.environment import HelpdeskWebhookEnvironment, RequestTrackerEnvironment
from connectors.helpdeskeddy_plugin import parse_ticket_reference
from connectors.observe import observed
from connectors.plugin import ConnectorPlugin, ConnectorSettings, References, secret_value
from connectors.rt import RequestTrackerConnector
from connectors.webhooks import Webhook, admit_shared_secret

#: The routing-file key naming a person's RT user (and so its staff, for replies).
PERSON_KEY = "rt_user"


class RequestTrackerSettings(
    HelpdeskWebhookEnvironment, RequestTrackerEnvironment, ConnectorSettings
):
    """``RT_*`` (``RT_TIMEZONE`` among them), ``helpdesk.ticket_url`` and the people's
    ``rt_user`` (staff whose replies need no look-up)."""

    ticket_url_template: str | None = Field(
        None, validation_alias=AliasPath("routing", "helpdesk", "ticket_url")
    )
    staff_users: frozenset[str] = Field(
        frozenset(), validation_alias=AliasPath("routing", "people")
    )

    @field_validator("staff_users", mode="before")
    @classmethod
    def _rt_users(cls, people: object) -> frozenset[str]:
        """The RT user of every routing-file person that has one."""
        if not isinstance(people, list | tuple):
            return frozenset()
        users = (person.get(PERSON_KEY) for person in people if isinstance(person, dict))
        return frozenset(user for user in users if isinstance(user, str) and user.strip())

    def missing(self) -> str | None:
        """RT_URL, and a token or a user with a password."""
        no_url = self.rt_url is None
        no_login = self.rt_token is None and (self.rt_user is None or self.rt_password is None)
        if no_url and no_login:
            return "RT_URL and RT_TOKEN (or RT_USER and RT_PASSWORD) are not set"
        if no_url:
            return "RT_URL is not set"
        if no_login:
            return "RT_TOKEN (or RT_USER and RT_PASSWORD) is not set"
        return None


def _build(settings: RequestTrackerSettings) -> HelpdeskConnector:
    assert settings.rt_url is not None  # checked by missing()
    return RequestTrackerConnector(
        base_url=settings.rt_url,
        token=secret_value(settings.rt_token),
        user=settings.rt_user,
        password=secret_value(settings.rt_password),
        ticket_url_template=settings.ticket_url_template,
        timezone=settings.rt_tz,
        staff_users=settings.staff_users,
        transport=observed(
            None, settings.observer, kind=HELPDESK.name, system=RequestTrackerConnector.slug
        ),
    )


def rt_plugin() -> ConnectorPlugin[RequestTrackerSettings, HelpdeskConnector]:
    """Request Tracker 5: REST2, and ``POST /webhooks/rt`` from a scrip."""
    return ConnectorPlugin(
        kind=HELPDESK,
        slug=RequestTrackerConnector.slug,
        settings=RequestTrackerSettings,
        build=_build,
        webhooks=(
            Webhook(
                "/webhooks/rt",
                parse=parse_ticket_reference,
                admit=admit_shared_secret,
                only_when_configured=True,
            ),
        ),
        references=References(person=PERSON_KEY, department="rt_queue"),
    )
