"""One registry for every kind of connector (helpdesks, trackers, and the kinds to come).

There is no global registry: :func:`default_registry` returns a fresh one with
the built-in connectors, and tests or deployments register their own plugins on
the instance they hold. Adding a connector means a plugin module in
``connectors/`` and one ``register`` line below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from connectors.bitrix24_crm_plugin import bitrix24_crm_plugin
from connectors.bitrix24_plugin import bitrix24_plugin
from connectors.generic_plugin import generic_plugin
from connectors.helpdeskeddy_plugin import helpdeskeddy_plugin
from connectors.plugin import (
    ConnectorKind,
    ConnectorPlugin,
    ConnectorSettings,
    Selection,
    SettingsMissing,
)
from connectors.redmine_plugin import redmine_plugin
from connectors.rt_plugin import rt_plugin

C = TypeVar("C")

AnyPlugin = ConnectorPlugin[Any, Any]


class ConnectorRegistry:
    """Connector plugins by kind and slug, in the order they were registered."""

    def __init__(self) -> None:
        self._plugins: dict[tuple[str, str], AnyPlugin] = {}

    def register(self, plugin: AnyPlugin, *, replace: bool = False) -> None:
        """Add a plugin; registering a taken slug of the same kind needs ``replace=True``."""
        key = (plugin.kind.name, plugin.slug)
        if key in self._plugins and not replace:
            raise ValueError(f"{plugin.kind.name} {plugin.slug!r} is already registered")
        self._plugins[key] = plugin

    def plugin(self, kind: ConnectorKind[C], slug: str) -> ConnectorPlugin[Any, C]:
        """The plugin of ``kind`` named ``slug``; ValueError lists the known slugs."""
        try:
            return self._plugins[(kind.name, slug)]
        except KeyError:
            known = ", ".join(self.slugs(kind)) or "none"
            raise ValueError(f"unknown {kind.name} {slug!r}; known: {known}") from None

    def slugs(self, kind: ConnectorKind[Any]) -> list[str]:
        """The registered slugs of ``kind``, sorted."""
        return sorted(slug for name, slug in self._plugins if name == kind.name)

    def known_slugs(self) -> dict[str, list[str]]:
        """The registered slugs by kind name (for checking a routing file)."""
        known: dict[str, list[str]] = {}
        for name, slug in sorted(self._plugins):
            known.setdefault(name, []).append(slug)
        return known

    def plugins(self) -> list[AnyPlugin]:
        """Every plugin of every kind, in registration order."""
        return list(self._plugins.values())

    def create(self, kind: ConnectorKind[C], slug: str, source: Mapping[str, Any]) -> C:
        """Build ``slug`` from ``source``; ValueError (SettingsMissing) says what is wrong."""
        plugin = self.plugin(kind, slug)
        return plugin.create(plugin.load_settings(source))

    def choose(
        self, kind: ConnectorKind[Any], named: str | None, source: Mapping[str, Any]
    ) -> str | None:
        """The slug to use: ``named`` (its settings complete), else by each plugin's selection.

        None when nothing is named and no plugin of the kind offers itself (no tracker).
        Raises ValueError for an unknown name and SettingsMissing for incomplete settings.
        """
        if named is not None:
            missing = self._settings(self.plugin(kind, named), source).missing()
            if missing is not None:
                raise SettingsMissing(f"{kind.name}.kind is {named} but {missing}")
            return named
        candidates = [p for p in self._plugins.values() if p.kind.name == kind.name]
        for plugin in candidates:
            offered = plugin.selection is Selection.WHEN_CONFIGURED
            if offered and self._settings(plugin, source).missing() is None:
                return plugin.slug
        fallback = [p.slug for p in candidates if p.selection is Selection.FALLBACK]
        return fallback[0] if fallback else None

    @staticmethod
    def _settings(plugin: AnyPlugin, source: Mapping[str, Any]) -> ConnectorSettings:
        settings: ConnectorSettings = plugin.load_settings(source)
        return settings


def default_registry() -> ConnectorRegistry:
    """A new registry with the built-in connectors.

    Helpdesks: ``helpdeskeddy``, ``rt`` and ``generic``; trackers: ``bitrix24`` and
    ``redmine``; CRMs: ``bitrix24``.
    """
    registry = ConnectorRegistry()
    registry.register(helpdeskeddy_plugin())
    registry.register(rt_plugin())
    registry.register(generic_plugin())
    registry.register(bitrix24_plugin())
    registry.register(redmine_plugin())
    registry.register(bitrix24_crm_plugin())
    return registry
