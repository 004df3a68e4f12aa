"""``modest check-config``: the routing file, and the settings it depends on.

The verdict is the one ``modest run`` reaches about the same files: a routing file
that names a connector whose settings are missing fails here too. Only pydantic,
PyYAML and the connector plugins are imported (no database, no Telegram library),
so the check answers at once and needs no bot token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.routing import RoutingConfig, check_routing, load_routing
from config.yaml_lines import parse_yaml
from connectors.environment import ConnectorEnvironment
from connectors.plugin import ConnectorKind
from connectors.registry import ConnectorRegistry

#: The routing-file sections that pick a connector, and the kind each picks.
_KINDS = ("helpdesk", "tracker", "crm")


class RoutingPathOnly(BaseSettings):
    """What check-config, report and history need: they work without a bot token."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)
    modest_config: Path = Path("config/routing.yaml")
    database_url: str = "sqlite+aiosqlite:///./modest.db"


class ConnectorSettingsOnly(BaseSettings, ConnectorEnvironment):
    """The connectors' environment variables, read as ``modest run`` reads them."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)


def config_problems(path: Path, registry: ConnectorRegistry) -> list[str]:
    """Every problem, one line each: ``file:line: field: message`` or ``environment: ...``."""
    problems = check_routing(path, connectors=registry.known_slugs())
    if problems:
        return [str(problem) for problem in problems]
    routing = load_routing(path, connectors=registry.known_slugs())
    try:
        env = ConnectorSettingsOnly()
    except ValidationError as exc:
        return [_environment_line(error) for error in exc.errors(include_url=False)]
    lines = [f"environment: {line}" for line in env.connector_problems()]
    return lines + _missing_settings(path, routing, env, registry)


def _missing_settings(
    path: Path, routing: RoutingConfig, env: ConnectorSettingsOnly, registry: ConnectorRegistry
) -> list[str]:
    """A connector the routing file names whose settings are not all set."""
    source = {**dict(env), "routing": routing.model_dump()}
    named = {
        "helpdesk": routing.helpdesk.kind,
        "tracker": routing.tracker.kind,
        "crm": routing.crm.kind,
    }
    lines: list[str] = []
    document = None
    for kind_name in _KINDS:
        slug = named[kind_name]
        if slug is None:
            continue
        kind: ConnectorKind[Any] = ConnectorKind(kind_name)
        missing = registry.plugin(kind, slug).load_settings(source).missing()
        if missing is None:
            continue
        document = document or parse_yaml(path.read_text(encoding="utf-8"))
        line = document.line_of((kind_name, "kind"))
        lines.append(f"{path}:{line}: {kind_name}.kind: is {slug}, but {missing}")
    return lines


def _environment_line(error: Any) -> str:
    variable = ".".join(str(part) for part in error["loc"]).upper()
    return f"environment: {variable}: {error['msg']}"
