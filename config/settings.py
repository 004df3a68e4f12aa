"""Environment settings: secrets, endpoints and limits, read from the env and `.env`.

The connectors' variables (``HELPDESKEDDY_*``, ``RT_*``, ...) are declared by the
connectors themselves (``connectors.environment``) and read here with the rest.
Nothing here runs at import time; call :func:`load_settings` from the entry point.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.errors import ConfigError
from connectors.environment import ConnectorEnvironment

__all__ = ["Settings", "load_settings"]

DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})

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


class Settings(BaseSettings, ConnectorEnvironment):
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
    # The holder renews it every third of this and a standby tries as often, so another
    # instance polls at most 4/3 of this after the holder died (about 27 s by default).
    telegram_polling_lease_seconds: int = Field(20, ge=3, le=300)
    # Hidden from repr because a PostgreSQL URL usually carries a password.
    database_url: str = Field("sqlite+aiosqlite:///./modest.db", repr=False)
    modest_config: Path = Path("config/routing.yaml")
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    webhook_max_body_bytes: int = Field(1_048_576, ge=1)
    #: The client cabinet: None means on when PORTAL_BASE_URL is set.
    portal_enabled: bool | None = None
    portal_base_url: str | None = None
    #: ``GET /metrics`` wants ``Authorization: Bearer <this>``; unset, it answers only
    #: requests from the loopback interface.
    metrics_token: SecretStr | None = None

    @field_validator("telegram_api_base", "telegram_webhook_url", "portal_base_url")
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
        problems.extend(self.connector_problems())
        if self.portal_enabled and self.portal_base_url is None:
            problems.append("PORTAL_BASE_URL: required when PORTAL_ENABLED is on")
        if problems:
            # `problems` in the context lets load_settings report one line each.
            raise _invalid("; ".join(problems), problems=tuple(problems))
        return self

    @property
    def portal_on(self) -> bool:
        """Whether the client cabinet is served (PORTAL_ENABLED, default: a base URL is set)."""
        if self.portal_enabled is None:
            return self.portal_base_url is not None
        return self.portal_enabled


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
    elif kind == "value_error":
        # A connector's own check (connectors.environment) says what is wrong, verbatim.
        message = str(ctx["error"])
    else:
        message = error["msg"][:1].lower() + error["msg"][1:]
    return [f"{variable}: {message}"]
