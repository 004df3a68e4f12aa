"""The environment variables each built-in connector reads, one mixin per connector.

A field named ``rt_url`` is the variable ``RT_URL``. The process settings
(``config.settings.Settings``) inherit :class:`ConnectorEnvironment`, so the
variables are read, checked and reported with the rest, at start; a connector's
own settings model (its plugin module) extends its mixin with the routing-file
options it reads. Only pydantic here: loading settings pulls in no HTTP client.
"""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field, SecretStr


def _http_url(value: str) -> str:
    """Check that ``value`` is an http(s) URL and drop trailing slashes."""
    value = value.strip()
    scheme, separator, rest = value.partition("://")
    if scheme not in {"http", "https"} or not separator or not rest.strip("/"):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


HttpUrlText = Annotated[str, AfterValidator(_http_url)]


def _time_zone(value: str) -> str:
    """Check that ``value`` names an IANA time zone (``Europe/Moscow``)."""
    value = value.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {value!r}, use a name like Europe/Moscow") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_time_zone)]


def _are(names: list[str]) -> str:
    return f"{', '.join(names)} {'is' if len(names) == 1 else 'are'}"


def unset(variables: dict[str, object]) -> str | None:
    """``"A and B are not set"`` for the variables without a value; None when all are set."""
    missing = [name for name, value in variables.items() if not value]
    if not missing:
        return None
    names = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} and {missing[-1]}"
    return f"{names} {'is' if len(missing) == 1 else 'are'} not set"


class HelpdeskWebhookEnvironment(BaseModel):
    """The shared secret every helpdesk webhook must carry."""

    helpdesk_webhook_secret: SecretStr | None = None


HELPDESKEDDY_VARS = ("helpdeskeddy_url", "helpdeskeddy_email", "helpdeskeddy_api_key")


class HelpDeskEddyEnvironment(BaseModel):
    """``HELPDESKEDDY_*``: all three of URL, e-mail and API key, or none."""

    helpdeskeddy_url: HttpUrlText | None = None
    helpdeskeddy_email: str | None = None
    helpdeskeddy_api_key: SecretStr | None = None
    # Capped at 250 to stay below HelpDeskEddy's own API rate limit with room to spare.
    helpdeskeddy_max_requests_per_minute: int = Field(120, ge=1, le=250)

    @property
    def helpdeskeddy_enabled(self) -> bool:
        """Whether the HelpDeskEddy API client is configured (URL, email and key)."""
        return all(getattr(self, name) is not None for name in HELPDESKEDDY_VARS)

    def helpdeskeddy_problems(self) -> list[str]:
        """One line when only some of the three variables are set."""
        present = [name for name in HELPDESKEDDY_VARS if getattr(self, name) is not None]
        if not present or len(present) == len(HELPDESKEDDY_VARS):
            return []
        missing = [name.upper() for name in HELPDESKEDDY_VARS if name not in present]
        return [
            f"{', '.join(missing)}: required when {_are([n.upper() for n in present])} set"
            " (set all three HELPDESKEDDY_* variables or none)"
        ]


RT_CREDENTIAL_VARS = ("rt_token", "rt_user", "rt_password")


class RequestTrackerEnvironment(BaseModel):
    """``RT_*``: the web root, and a token or a user with a password."""

    rt_url: HttpUrlText | None = None
    rt_token: SecretStr | None = None
    rt_user: str | None = None
    rt_password: SecretStr | None = None
    # The zone RT reads TicketSQL dates in for that user (its preference, else $Timezone).
    rt_timezone: TimeZoneName = "UTC"

    @property
    def rt_tz(self) -> ZoneInfo:
        """The zone RT reads TicketSQL dates in for Modest's RT user."""
        return ZoneInfo(self.rt_timezone)

    @property
    def rt_enabled(self) -> bool:
        """Whether Request Tracker is configured (URL, and a token or a user and password)."""
        has_password = self.rt_user is not None and self.rt_password is not None
        return self.rt_url is not None and (self.rt_token is not None or has_password)

    def rt_problems(self) -> list[str]:
        """RT_USER and RT_PASSWORD go together, and any RT credential needs RT_URL."""
        problems: list[str] = []
        if self.rt_user is not None and self.rt_password is None:
            problems.append("RT_PASSWORD: required when RT_USER is set")
        if self.rt_password is not None and self.rt_user is None:
            problems.append("RT_USER: required when RT_PASSWORD is set")
        credentials = [n.upper() for n in RT_CREDENTIAL_VARS if getattr(self, n) is not None]
        if credentials and self.rt_url is None:
            problems.append(f"RT_URL: required when {_are(credentials)} set")
        return problems


class Bitrix24Environment(BaseModel):
    """``BITRIX24_*``: the incoming webhook (its path is a secret) and the event token."""

    bitrix24_webhook_url: SecretStr | None = None
    bitrix24_app_token: SecretStr | None = None


class Bitrix24CrmEnvironment(BaseModel):
    """``BITRIX24_CRM_WEBHOOK_URL``: a webhook with the ``crm`` scope, when the CRM is
    another portal or needs another webhook than the tracker's ``BITRIX24_WEBHOOK_URL``."""

    bitrix24_crm_webhook_url: SecretStr | None = None


class RedmineEnvironment(BaseModel):
    """``REDMINE_*``: the server, the API key, the webhook secret and the request budget."""

    redmine_url: HttpUrlText | None = None
    redmine_api_key: SecretStr | None = None
    redmine_webhook_secret: SecretStr | None = None
    redmine_max_requests_per_minute: int = Field(120, ge=1, le=6000)


class ConnectorEnvironment(
    HelpdeskWebhookEnvironment,
    HelpDeskEddyEnvironment,
    RequestTrackerEnvironment,
    Bitrix24Environment,
    Bitrix24CrmEnvironment,
    RedmineEnvironment,
):
    """Every built-in connector's variables; a new connector adds its mixin here."""

    def connector_problems(self) -> list[str]:
        """Variables that only make sense together but are set apart, one line each."""
        return [*self.helpdeskeddy_problems(), *self.rt_problems()]
