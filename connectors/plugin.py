"""What a connector declares about itself, so nothing outside ``connectors/`` tests its slug.

A connector class states its :class:`Capabilities` (what Modest may ask of it).
A :class:`ConnectorPlugin` declares the rest: its pydantic settings model
(environment values and the routing-file options it reads), the factory, how it
is chosen, the webhooks it serves, and its :class:`References` (which
routing-file keys name people and departments in its system; they hold for a
stand-in of the connector too, such as a test fake).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors.budgets import SharedBudgets
from connectors.webhooks import Webhook

C = TypeVar("C")
S = TypeVar("S", bound="ConnectorSettings")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a connector can do, as data the services ask instead of its name."""

    #: Assignments, notes, statuses and time are written back to the outside system.
    writes_back: bool = False
    #: ``list_updated_since`` works: changes can be polled and reconciled.
    lists_changes: bool = False
    #: Listing changes is how tickets come in at all (the system sends no reliable events).
    polls_for_intake: bool = False
    #: The system posts events to Modest's webhooks.
    accepts_events: bool = False
    #: ``fetch_ticket`` reads one ticket (a webhook that only names a ticket is usable).
    fetches_tickets: bool = False
    #: ``create_ticket`` opens a ticket as its requester (the client cabinet's requests).
    creates_tickets: bool = False
    #: Tickets come with their conversation's replies, so the first staff reply is known
    #: (else the SLA counts the assignment as the first response).
    tells_replies: bool = False


@dataclass(frozen=True, slots=True)
class References:
    """Which routing-file keys name a person and a department in the connector's system."""

    person: str | None = None
    department: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectorKind(Generic[C]):
    """A family of connectors sharing one interface ``C`` (helpdesk, tracker, ...).

    ``name`` is the routing-file section that picks one (``helpdesk.kind``) and
    the word used in messages ("unknown tracker 'jira'").
    """

    name: str


class ConnectorSettings(BaseModel):
    """Base of a connector's settings: environment values and routing-file options.

    Fields named like an environment variable (``rt_url``) read that variable;
    routing-file options are read with ``validation_alias=AliasPath("routing", ...)``.
    Every field has a default, so the settings of a connector that is not the
    configured one still load (its webhooks answer, refusing what they must).
    """

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        arbitrary_types_allowed=True,
    )

    #: Handed in by the composition root (``budgets`` in the source), neither an
    #: environment variable nor a routing option: request budgets shared among the
    #: connectors that call the same system.
    budgets: SharedBudgets | None = Field(
        None, validation_alias="budgets", exclude=True, repr=False
    )

    def missing(self) -> str | None:
        """What is missing to build the connector, naming the variables; None when ready."""
        return None


class SettingsMissing(ValueError):
    """A connector was asked for while its settings are incomplete."""


class Selection(StrEnum):
    """When a connector is used without its kind being named in the routing file."""

    #: Only when the routing file names it.
    NAMED = "named"
    #: Also when no kind is named and its settings are complete.
    WHEN_CONFIGURED = "when_configured"
    #: When no kind is named and no ``WHEN_CONFIGURED`` connector is ready.
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class ConnectorPlugin(Generic[S, C]):
    """Everything Modest needs to know to build one connector and serve its webhooks."""

    kind: ConnectorKind[C]
    slug: str
    settings: type[S]
    build: Callable[[S], C]
    webhooks: tuple[Webhook[S], ...] = ()
    selection: Selection = Selection.NAMED
    #: How the routing file names people and departments for this system.
    references: References = References()

    def load_settings(self, source: Mapping[str, Any]) -> S:
        """The settings from ``source``: environment values by name, options under ``routing``."""
        return self.settings.model_validate(source)

    def create(self, settings: S) -> C:
        """Build the connector; SettingsMissing names what is missing."""
        missing = settings.missing()
        if missing is not None:
            raise SettingsMissing(f"{self.kind.name} {self.slug!r}: {missing}")
        return self.build(settings)


def secret_value(secret: SecretStr | None) -> str | None:
    """The text of a secret setting, for the one call that needs it; None when unset."""
    return secret.get_secret_value() if secret is not None else None
