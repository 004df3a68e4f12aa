"""The connector registry: choosing and building, settings owned by each connector,
capabilities and references declared as data (nothing outside connectors/ tests a slug)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar, get_args

import pytest
from pydantic import SecretStr

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from config.errors import ConfigError
from config.routing import RoutingConfig, load_routing_text
from config.settings import Settings, load_settings
from connectors.base import HELPDESK, HelpdeskConnector
from connectors.bitrix24 import Bitrix24Connector
from connectors.environment import ConnectorEnvironment
from connectors.fake import FakeHelpdesk
from connectors.generic import GenericHelpdeskConnector
from connectors.helpdeskeddy import HelpDeskEddyConnector
from connectors.plugin import Capabilities, SettingsMissing
from connectors.redmine import RedmineConnector
from connectors.registry import default_registry
from connectors.rt import RequestTrackerConnector
from connectors.trackers import TRACKER
from modest.domain import build_domain, periodic_jobs
from modest.wiring import bind_references, build_helpdesk, connector_source
from storage.db import Database
from tests.support.routing import ROUTING_YAML

HDE = {
    "helpdeskeddy_url": "https://acme.helpdeskeddy.com/api/v2",
    "helpdeskeddy_email": "bot@acme.test",
    "helpdeskeddy_api_key": "hde-s3cret",
}


@pytest.fixture(autouse=True)
def no_connector_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No connector variable from the developer's shell."""
    for name in ConnectorEnvironment.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def settings(**env: Any) -> Settings:
    return load_settings(env_file=None, telegram_bot_token="1:x", **env)


def routing(extra: str = "") -> RoutingConfig:
    return load_routing_text(ROUTING_YAML + extra, "routing.yaml")


def test_one_registry_for_every_kind_and_a_fresh_one_each_time() -> None:
    registry = default_registry()
    assert registry.known_slugs() == {
        "helpdesk": ["generic", "helpdeskeddy", "rt"],
        "tracker": ["bitrix24", "redmine"],
        "crm": ["bitrix24"],
    }
    registry.register(default_registry().plugin(HELPDESK, "generic"), replace=True)
    with pytest.raises(ValueError, match="helpdesk 'generic' is already registered"):
        registry.register(default_registry().plugin(HELPDESK, "generic"))
    assert default_registry() is not registry
    assert default_registry().plugin(TRACKER, "redmine") == registry.plugin(TRACKER, "redmine")


def test_choosing_a_connector_by_name_or_by_its_settings() -> None:
    registry = default_registry()
    assert registry.choose(HELPDESK, None, {}) == "generic"
    assert registry.choose(HELPDESK, None, HDE) == "helpdeskeddy"
    rt = {"rt_url": "http://rt.test", "rt_token": "t"}
    assert registry.choose(HELPDESK, None, rt) == "generic", "RT is used only when named"
    assert registry.choose(HELPDESK, "rt", rt) == "rt"
    assert registry.choose(TRACKER, None, {}) is None
    with pytest.raises(SettingsMissing, match=r"tracker\.kind is redmine but REDMINE_URL and"):
        registry.choose(TRACKER, "redmine", {})
    with pytest.raises(ValueError, match="unknown tracker 'jira'; known: bitrix24, redmine"):
        registry.choose(TRACKER, "jira", {})


def test_an_unknown_kind_is_a_config_error_at_start_and_in_check_config() -> None:
    with pytest.raises(ConfigError, match=r"helpdesk\.kind: unknown helpdesk 'zendesk'"):
        build_helpdesk(settings(), routing("helpdesk: {kind: zendesk}\n"))
    text = ROUTING_YAML + "tracker:\n  kind: jira\n"
    with pytest.raises(ConfigError) as caught:
        load_routing_text(text, "r.yaml", connectors=default_registry().known_slugs())
    assert str(caught.value).endswith(
        "tracker.kind: unknown tracker 'jira'; known: bitrix24, redmine"
    )


def test_every_variable_a_connector_reads_is_read_at_start_and_secrets_are_secret() -> None:
    env_fields = set(Settings.model_fields)
    for plugin in default_registry().plugins():
        for name, field in plugin.settings.model_fields.items():
            if field.validation_alias is not None:
                continue  # a routing-file option
            assert name in env_fields, (plugin.slug, name)
            if any(word in name for word in ("key", "token", "secret", "password", "webhook")):
                assert SecretStr in get_args(field.annotation), (plugin.slug, name)


def test_a_connector_builds_from_its_variables_and_its_routing_options() -> None:
    env = settings(**HDE, helpdeskeddy_max_requests_per_minute=100)
    options = routing(
        "helpdesk: {ticket_url: 'https://hd.test/t/{id}'}\n"
        "helpdeskeddy: {time_field_id: 7, max_requests_per_minute: 50}\n"
        "tracker: {kind: redmine, project: dev, redmine_tracker_id: 3}\n"
    )
    source = connector_source(env, options)
    registry = default_registry()
    hde: Any = registry.plugin(HELPDESK, "helpdeskeddy").load_settings(source)
    assert hde.ticket_url_template == "https://hd.test/t/{id}"
    assert (hde.time_field_id, hde.requests_per_minute, hde.timezone) == (
        7,
        50,
        "Europe/Moscow",
    )
    assert hde.helpdeskeddy_api_key.get_secret_value() == "hde-s3cret"
    assert "hde-s3cret" not in repr(hde)
    redmine: Any = registry.plugin(TRACKER, "redmine").load_settings(source)
    assert (redmine.project, redmine.tracker_id) == ("dev", 3)
    assert redmine.missing() == "REDMINE_URL and REDMINE_API_KEY are not set"


class PollingDesk(FakeHelpdesk):
    """A helpdesk of an unknown name whose intake is polling."""

    slug: ClassVar[str] = "polling-desk"
    capabilities: ClassVar[Capabilities] = Capabilities(lists_changes=True, polls_for_intake=True)


class ReconcilingDesk(FakeHelpdesk):
    """Webhooks bring tickets; listing only catches the lost ones."""

    slug: ClassVar[str] = "rt"  # the name alone no longer makes it the polled one
    capabilities: ClassVar[Capabilities] = Capabilities(lists_changes=True, writes_back=True)


@pytest.mark.parametrize(
    ("helpdesk", "interval"),
    [(PollingDesk(), timedelta(seconds=7)), (ReconcilingDesk(), timedelta(minutes=3))],
    ids=["polls-for-intake", "reconciles"],
)
async def test_polling_follows_the_capabilities_not_the_slug(
    helpdesk: HelpdeskConnector, interval: timedelta, sqlite_url: str
) -> None:
    config = routing("helpdesk: {poll_interval: 7s, reconcile_interval: 3m}\n")
    database = Database(sqlite_url)
    texts = Texts("en")
    domain = build_domain(
        database,
        config,
        helpdesk,
        TelegramRenderer(texts, config.tz),
        translate=texts,
        job_retry_delay=1.0,
    )
    jobs = {job.id: job.every for job in periodic_jobs(config, helpdesk, domain)}
    await database.dispose()
    assert jobs["helpdesk.poll"] == interval


def test_built_in_capabilities() -> None:
    assert not GenericHelpdeskConnector.capabilities.writes_back
    assert not GenericHelpdeskConnector.capabilities.fetches_tickets
    assert HelpDeskEddyConnector.capabilities.lists_changes
    assert not HelpDeskEddyConnector.capabilities.polls_for_intake
    assert RequestTrackerConnector.capabilities.polls_for_intake
    assert all(
        c.capabilities.accepts_events
        for c in (GenericHelpdeskConnector, HelpDeskEddyConnector, Bitrix24Connector)
    )
    assert RedmineConnector.capabilities.accepts_events


def test_people_keep_their_keys_and_each_connector_reads_its_own() -> None:
    yaml = ROUTING_YAML.replace(
        "    helpdesk_id: 13\n",
        "    helpdesk_id: 13\n    rt_user: petr\n    bitrix24_id: 547\n    redmine_id: 5\n",
    ).replace("    helpdesk_id: 2\n", "    helpdesk_id: 2\n    rt_queue: Development\n")
    config = load_routing_text(yaml + "helpdesk: {kind: rt}\n")
    petr, dev = config.person("petr"), config.department("dev")
    assert petr is not None
    assert dev is not None
    assert petr.refs == {
        "helpdesk_id": "13",
        "rt_user": "petr",
        "bitrix24_id": "547",
        "redmine_id": "5",
    }
    # Unbound (services built by hand): the helpdesk names people by helpdesk_id.
    assert config.person_ref(petr) == "13"
    registry = default_registry()
    for tracker, expected in (("redmine", "5"), ("bitrix24", "547")):
        bound = bind_references(config, registry, helpdesk="rt", tracker=tracker)
        assert bound.person_ref(petr) == "petr"
        assert bound.department_ref(dev) == "Development"
        assert bound.person_by_helpdesk_id("petr") is petr
        assert bound.department_by_helpdesk_id("Development") is dev
        assert bound.person_by_helpdesk_id("13") is None
        assert bound.person_ref(petr, TRACKER.name) == expected
    assert config.person_ref(petr) == "13", "binding makes a copy"
