"""Environment settings: defaults, validation messages, .env handling, secret hygiene."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.settings import Settings, load_settings
from tests.support.paths import REPO

TOKEN = "123456:test-token-value"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Settings variable from the developer's shell, no .env from the repo."""
    fields = {name.upper() for name in Settings.model_fields}
    for name in list(os.environ):
        # Settings match variable names case-insensitively.
        if name.upper() in fields:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def error_lines(**overrides: object) -> list[str]:
    """The lines of the ConfigError that load_settings (without .env) must raise."""
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None, **overrides)
    return str(caught.value).splitlines()


def test_missing_token_names_the_variable() -> None:
    assert error_lines() == ["TELEGRAM_BOT_TOKEN: required, set it in the environment or .env"]


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    settings = load_settings()
    assert settings.telegram_bot_token.get_secret_value() == TOKEN
    assert settings.telegram_api_base == "https://api.telegram.org"
    assert settings.telegram_webhook_url is None
    assert settings.database_url == "sqlite+aiosqlite:///./modest.db"
    assert settings.modest_config == Path("config/routing.yaml")
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.helpdesk_webhook_secret is None
    assert settings.helpdeskeddy_max_requests_per_minute == 120
    assert (settings.log_level, settings.log_format) == ("INFO", "json")
    assert settings.webhook_max_body_bytes == 1_048_576
    assert not settings.helpdeskeddy_enabled


def test_default_polling_lease_hands_polling_over_within_30_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    lease = load_settings().telegram_polling_lease_seconds
    # The holder renews every third of the lease and a standby tries as often: after a
    # crash the lease runs out within one lease, the standby notices within a third more.
    assert lease + lease / 3 <= 30


def test_values_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE", "http://bot-api:8081/")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://modest:pw@db/modest")
    monkeypatch.setenv("MODEST_CONFIG", "/etc/modest/routing.yaml")
    monkeypatch.setenv("HTTP_PORT", "9000")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("LOG_FORMAT", "console")
    settings = load_settings()
    assert settings.telegram_api_base == "http://bot-api:8081"
    assert settings.database_url == "postgresql+asyncpg://modest:pw@db/modest"
    assert settings.modest_config == Path("/etc/modest/routing.yaml")
    assert settings.http_port == 9000
    assert (settings.log_level, settings.log_format) == ("DEBUG", "console")


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("mysql+aiomysql://root:hunter2@db/modest", "'mysql+aiomysql'"),
        ("sqlite:///modest.db", "'sqlite'"),
        ("postgresql://u:hunter2@db/modest", "'postgresql'"),
        ("modest.db", "'(none)'"),
    ],
)
def test_database_url_scheme(url: str, scheme: str) -> None:
    [line] = error_lines(telegram_bot_token=TOKEN, database_url=url)
    assert line == (
        f"DATABASE_URL: unsupported scheme {scheme}, use sqlite+aiosqlite:///path/to/modest.db"
        " or postgresql+asyncpg://user:password@host/dbname"
    )
    assert "hunter2" not in line


def test_webhook_url_requires_secret() -> None:
    lines = error_lines(
        telegram_bot_token=TOKEN, telegram_webhook_url="https://bot.example.com/tg"
    )
    assert lines == ["TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set"]


def test_webhook_with_secret() -> None:
    settings = load_settings(
        env_file=None,
        telegram_bot_token=TOKEN,
        telegram_webhook_url="https://bot.example.com/tg",
        telegram_webhook_secret="Abc_123-xyz",
    )
    assert settings.telegram_webhook_secret is not None
    assert settings.telegram_webhook_secret.get_secret_value() == "Abc_123-xyz"


@pytest.mark.parametrize("secret", ["has space", "naïve", "x" * 257, "semi;colon"])
def test_webhook_secret_charset(secret: str) -> None:
    lines = error_lines(telegram_bot_token=TOKEN, telegram_webhook_secret=secret)
    assert lines == [
        "TELEGRAM_WEBHOOK_SECRET: must be 1-256 characters, only A-Z, a-z, 0-9, _ and -"
    ]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            {"helpdeskeddy_url": "https://acme.helpdeskeddy.com/api/v2"},
            "HELPDESKEDDY_EMAIL, HELPDESKEDDY_API_KEY: required when HELPDESKEDDY_URL is set"
            " (set all three HELPDESKEDDY_* variables or none)",
        ),
        (
            {
                "helpdeskeddy_url": "https://acme.helpdeskeddy.com/api/v2",
                "helpdeskeddy_email": "a@b",
            },
            "HELPDESKEDDY_API_KEY: required when HELPDESKEDDY_URL, HELPDESKEDDY_EMAIL are set"
            " (set all three HELPDESKEDDY_* variables or none)",
        ),
        (
            {"helpdeskeddy_api_key": "k"},
            "HELPDESKEDDY_URL, HELPDESKEDDY_EMAIL: required when HELPDESKEDDY_API_KEY is set"
            " (set all three HELPDESKEDDY_* variables or none)",
        ),
    ],
)
def test_partial_helpdeskeddy(given: dict[str, str], expected: str) -> None:
    assert error_lines(telegram_bot_token=TOKEN, **given) == [expected]


def test_helpdeskeddy_enabled() -> None:
    settings = load_settings(
        env_file=None,
        telegram_bot_token=TOKEN,
        helpdeskeddy_url="https://acme.helpdeskeddy.com/api/v2/",
        helpdeskeddy_email="bot@acme.example",
        helpdeskeddy_api_key="k",
    )
    assert settings.helpdeskeddy_enabled
    assert settings.helpdeskeddy_url == "https://acme.helpdeskeddy.com/api/v2"


def test_cross_field_problems_are_reported_together() -> None:
    lines = error_lines(
        telegram_bot_token=TOKEN,
        telegram_webhook_url="https://bot.example.com/tg",
        helpdeskeddy_email="a@b",
    )
    assert [line.split(":")[0] for line in lines] == [
        "TELEGRAM_WEBHOOK_SECRET",
        "HELPDESKEDDY_URL, HELPDESKEDDY_API_KEY",
    ]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("http_port", 0, "HTTP_PORT: must be at least 1"),
        ("http_port", 70000, "HTTP_PORT: must be at most 65535"),
        ("http_port", "eighty", "HTTP_PORT: must be a whole number"),
        (
            "helpdeskeddy_max_requests_per_minute",
            251,
            "HELPDESKEDDY_MAX_REQUESTS_PER_MINUTE: must be at most 250",
        ),
        (
            "helpdeskeddy_max_requests_per_minute",
            0,
            "HELPDESKEDDY_MAX_REQUESTS_PER_MINUTE: must be at least 1",
        ),
        (
            "telegram_polling_lease_seconds",
            2,
            "TELEGRAM_POLLING_LEASE_SECONDS: must be at least 3",
        ),
        ("log_format", "xml", "LOG_FORMAT: must be 'json' or 'console'"),
        ("log_level", "loud", "LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        (
            "telegram_api_base",
            "api.telegram.org",
            "TELEGRAM_API_BASE: must be an http:// or https:// URL",
        ),
        ("helpdeskeddy_url", "https://", "HELPDESKEDDY_URL: must be an http:// or https:// URL"),
    ],
)
def test_field_limits(field: str, value: object, expected: str) -> None:
    assert error_lines(telegram_bot_token=TOKEN, **{field: value}) == [expected]


def test_several_problems_one_line_each() -> None:
    lines = error_lines(http_port=0, database_url="mysql://x")
    assert lines[0] == "TELEGRAM_BOT_TOKEN: required, set it in the environment or .env"
    assert [line.split(":")[0] for line in lines] == [
        "TELEGRAM_BOT_TOKEN",
        "DATABASE_URL",
        "HTTP_PORT",
    ]


def test_dotenv_in_working_directory(clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nHTTP_PORT=9001\nUNRELATED_VARIABLE=ignored\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.telegram_bot_token.get_secret_value() == TOKEN
    assert settings.http_port == 9001


def test_environment_wins_over_dotenv(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nHTTP_PORT=9001\n", encoding="utf-8"
    )
    monkeypatch.setenv("HTTP_PORT", "9002")
    assert load_settings().http_port == 9002


def test_overrides_win_over_everything(clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nHTTP_PORT=9001\n", encoding="utf-8"
    )
    assert load_settings(http_port=9003).http_port == 9003


def test_explicit_env_file_and_none(clean_env: Path) -> None:
    custom = clean_env / "prod.env"
    custom.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\n", encoding="utf-8")
    assert load_settings(env_file=custom).telegram_bot_token.get_secret_value() == TOKEN
    (clean_env / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN: required"):
        load_settings(env_file=None)


def test_blank_values_count_as_unset(clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nTELEGRAM_WEBHOOK_URL=\nHELPDESKEDDY_URL=\nHTTP_PORT=\n",
        encoding="utf-8",
    )
    settings = load_settings()
    assert settings.telegram_webhook_url is None
    assert settings.helpdeskeddy_url is None
    assert settings.http_port == 8080


def test_env_example_lists_every_variable_with_valid_defaults() -> None:
    example = REPO / ".env.example"
    names = {
        line.split("=", 1)[0]
        for line in example.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }
    assert names == {name.upper() for name in Settings.model_fields}
    # The only thing the example leaves for the operator to fill in is the token.
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=example)
    assert str(caught.value) == "TELEGRAM_BOT_TOKEN: required, set it in the environment or .env"
    settings = load_settings(env_file=example, telegram_bot_token=TOKEN)
    assert settings.model_dump(exclude={"telegram_bot_token"}) == Settings(
        telegram_bot_token=TOKEN, _env_file=None
    ).model_dump(exclude={"telegram_bot_token"})


def test_secrets_stay_out_of_repr_and_errors() -> None:
    secrets = {
        "telegram_bot_token": "123:tok-s3cr3t-1",
        "telegram_webhook_secret": "s3cr3t-2",
        "helpdesk_webhook_secret": "s3cr3t-3",
        "helpdeskeddy_api_key": "s3cr3t-4",
    }
    settings = load_settings(
        env_file=None,
        telegram_webhook_url="https://bot.example.com/tg",
        helpdeskeddy_url="https://acme.helpdeskeddy.com/api/v2",
        helpdeskeddy_email="bot@acme.example",
        database_url="postgresql+asyncpg://modest:s3cr3t-5@db/modest",
        **secrets,
    )
    for text in (repr(settings), str(settings)):
        assert "s3cr3t" not in text
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None, **{**secrets, "telegram_webhook_secret": "s3cr3t bad"})
    assert "s3cr3t" not in str(caught.value)
    assert caught.value.__suppress_context__
