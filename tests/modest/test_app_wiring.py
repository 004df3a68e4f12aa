"""The composition root refuses a helpdesk or tracker whose settings are missing."""

from __future__ import annotations

import pytest

from config.errors import ConfigError
from config.routing import load_routing_text
from config.settings import load_settings
from modest.app import build_tracker, helpdesk_kind
from tests.support.routing import ROUTING_YAML


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "RT_URL",
        "RT_TOKEN",
        "HELPDESKEDDY_URL",
        "REDMINE_URL",
        "REDMINE_API_KEY",
        "BITRIX24_WEBHOOK_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_rt_without_its_settings_is_a_clear_error() -> None:
    routing = load_routing_text(ROUTING_YAML + "helpdesk: {kind: rt}\n")
    with pytest.raises(ConfigError, match="RT_URL"):
        helpdesk_kind(load_settings(env_file=None, telegram_bot_token="1:x"), routing)
    ready = load_settings(
        env_file=None, telegram_bot_token="1:x", rt_url="http://rt.test", rt_token="t"
    )
    assert helpdesk_kind(ready, routing) == "rt"


def test_a_tracker_without_its_settings_is_a_clear_error() -> None:
    routing = load_routing_text(ROUTING_YAML + "tracker: {kind: redmine, project: dev}\n")
    with pytest.raises(ConfigError, match=r"tracker\.kind is redmine"):
        build_tracker(load_settings(env_file=None, telegram_bot_token="1:x"), routing)
    assert (
        build_tracker(
            load_settings(env_file=None, telegram_bot_token="1:x"), load_routing_text(ROUTING_YAML)
        )
        is None
    )
