"""Environment settings: secrets, endpoints and limits, read from the env and `.env`.

Nothing here runs at import time; call :func:`load_settings` from the entry point.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.errors import ConfigError

__all__ = ["Settings", "load_settings"]

DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})
HELPDESKEDDY_VARS = ("helpdeskeddy_url", "helpdeskeddy_email", "helpdeskeddy_api_key")
RT_CREDENTIAL_VARS = ("rt_token", "rt_user", "rt_password")

# Telegram's own rule for the X-Telegram-Bot-Api-Secret-Token header.
_WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_ERROR_TYPE = "modest_settings"


def _invalid(message: str, **context: Any) -> PydanticCustomError:
    """Build a validation error whose message is shown to the operator verbatim."""
    return PydanticCustomError(_ERROR_TYPE, message, context or None)


def _http_url(value: str) -> str:
    """Check that `value` is an http(s) URL and drop trailing slashes."""
    value = value.strip()
    scheme, separator, rest = value.partition("://")
    if scheme not in {"http", "https"} or not separator or not rest.strip("/"):
        raise _invalid("must be an http:// or https:// URL")
    return value.rstrip("/")


class Settings(BaseSettings):
    """Process settings; every field is read from the upper-cased environment variable."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        # A blank `FOO=` line (as in .env.example) means "unset", not "empty string".
        env_ignore_empty=True,
        # .env may also hold variables for docker compose and friends.
        extra="ignore",
        frozen=True,
    )

    telegram_bot_token: SecretStr
    telegram_api_base: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    # Hidden from repr because a PostgreSQL URL usually carries a password.
    database_url: str = Field("sqlite+aiosqlite:///./modest.db", repr=False)
    modest_config: Path = Path("config/routing.yaml")
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    helpdesk_webhook_secret: SecretStr | None = None
    helpdeskeddy_url: str | None = None
    helpdeskeddy_email: str | None = None
    helpdeskeddy_api_key: SecretStr | None = None
    # Capped at 250 to stay below HelpDeskEddy's own API rate limit with room to spare.
    helpdeskeddy_max_requests_per_minute: int = Field(120, ge=1, le=250)
    rt_url: str | None = None
    rt_token: SecretStr | None = None
    rt_user: str | None = None
    rt_password: SecretStr | None = None
    # The zone RT reads TicketSQL dates in for that user (its preference, else $Timezone).
    rt_timezone: str = "UTC"
    bitrix24_webhook_url: SecretStr | None = None
    bitrix24_app_token: SecretStr | None = None
    redmine_url: str | None = None
    redmine_api_key: SecretStr | None = None
    redmine_webhook_secret: SecretStr | None = None
    redmine_max_requests_per_minute: int = Field(120, ge=1, le=6000)
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    webhook_max_body_bytes: int = Field(1_048_576, ge=1)

    @field_validator(
        "telegram_api_base", "telegram_webhook_url", "helpdeskeddy_url", "rt_url", "redmine_url"
    )
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _WEBHOOK_SECRET_RE.fullmatch(value.get_secret_value()):
            raise _invalid("must be 1-256 characters, only A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(DATABASE_SCHEMES):
            # Only the scheme is echoed: the rest of the URL may hold a password.
            scheme = value.split("://", 1)[0] if "://" in value else "(none)"
            raise _invalid(
                f"unsupported scheme {scheme!r}, use sqlite+aiosqlite:///path/to/modest.db"
                " or postgresql+asyncpg://user:password@host/dbname"
            )
        return value

    @field_validator("rt_timezone")
    @classmethod
    def _check_rt_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise _invalid(f"unknown time zone {value!r}, use a name like Europe/Moscow") from None
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise _invalid("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        problems: list[str] = []
        if self.telegram_webhook_url is not None and self.telegram_webhook_secret is None:
            problems.append("TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set")
        present = [name for name in HELPDESKEDDY_VARS if getattr(self, name) is not None]
        if present and len(present) < len(HELPDESKEDDY_VARS):
            missing = [name.upper() for name in HELPDESKEDDY_VARS if name not in present]
            verb = "is" if len(present) == 1 else "are"
            problems.append(
                f"{', '.join(missing)}: required when {', '.join(n.upper() for n in present)}"
                f" {verb} set (set all three HELPDESKEDDY_* variables or none)"
            )
        problems.extend(self._rt_problems())
        if problems:
            # `problems` in the context lets load_settings report one line each.
            raise _invalid("; ".join(problems), problems=tuple(problems))
        return self

    def _rt_problems(self) -> list[str]:
        """RT_USER and RT_PASSWORD go together, and any RT credential needs RT_URL."""
        problems: list[str] = []
        if self.rt_user is not None and self.rt_password is None:
            problems.append("RT_PASSWORD: required when RT_USER is set")
        if self.rt_password is not None and self.rt_user is None:
            problems.append("RT_USER: required when RT_PASSWORD is set")
        credentials = [name for name in RT_CREDENTIAL_VARS if getattr(self, name) is not None]
        if credentials and self.rt_url is None:
            names = ", ".join(name.upper() for name in credentials)
            problems.append(
                f"RT_URL: required when {names} {'is' if len(credentials) == 1 else 'are'} set"
            )
        return problems

    @property
    def rt_enabled(self) -> bool:
        """Whether Request Tracker is configured (URL, and a token or a user and password)."""
        has_password = self.rt_user is not None and self.rt_password is not None
        return self.rt_url is not None and (self.rt_token is not None or has_password)

    @property
    def rt_tz(self) -> ZoneInfo:
        """The zone RT reads TicketSQL dates in for Modest's RT user."""
        return ZoneInfo(self.rt_timezone)

    @property
    def helpdeskeddy_enabled(self) -> bool:
        """Whether the HelpDeskEddy API client is configured (URL, email and key)."""
        return all(getattr(self, name) is not None for name in HELPDESKEDDY_VARS)


def load_settings(*, env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Read settings from the environment, `env_file` (None: none) and `overrides`.

    `overrides` are field names (`telegram_bot_token=...`) and win over everything.
    Raises ConfigError with one line per problem, each naming the variable to fix.
    """
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        lines = [line for error in exc.errors() for line in _describe(error)]
        # `from None`: the pydantic error echoes raw input, which may be a secret.
        raise ConfigError("\n".join(lines)) from None


def _describe(error: ErrorDetails) -> list[str]:
    """Turn one pydantic error into operator-facing lines, without the input value."""
    ctx = error.get("ctx") or {}
    if not error["loc"]:
        return list(ctx.get("problems") or [error["msg"]])
    variable = ".".join(str(part) for part in error["loc"]).upper()
    kind = error["type"]
    if kind == "missing":
        message = "required, set it in the environment or .env"
    elif kind == "greater_than_equal":
        message = f"must be at least {ctx['ge']}"
    elif kind == "less_than_equal":
        message = f"must be at most {ctx['le']}"
    elif kind == "literal_error":
        message = f"must be {ctx['expected']}"
    elif kind in {"int_parsing", "int_type", "int_from_float"}:
        message = "must be a whole number"
    elif kind == _ERROR_TYPE:
        message = error["msg"]
    else:
        message = error["msg"][:1].lower() + error["msg"][1:]
    return [f"{variable}: {message}"]
