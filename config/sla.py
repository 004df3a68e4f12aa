"""The status model and the SLA policies of the routing file.

```yaml
statuses:                      # optional: the helpdesk's statuses onto the five stages
  classification: [open]       # (defaults for HelpDeskEddy and RT below)
  in_work: [process]
  waiting_client: [waiting]    # clocks paused
  internal: [developer]        # waiting for a colleague or a developer; clocks run
  feedback: [answered]         # awaiting the client's confirmation; resolution stopped
sla:
  warn_at: 80%                 # pre-breach warning at this share of a target
  policies:                    # first match wins
    - name: critical
      priorities: [urgent]     # also: types, clients, statuses; each a list, any of it
      first_response: 15m
      resolution: 4h
      calendar: 24x7           # default: working_hours
    - name: standard
      first_response: 1h
      resolution: 16h
clients:
  - key: acme
    sla: {resolution: 8h}      # the client's contract overrides the policy's targets
```

Targets take ``s``, ``m``, ``h`` and ``d`` (``1d`` is 24 hours of counted time:
under ``calendar: working_hours`` write ``9h`` for one working day of nine hours).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, model_validator

from config.schedule import Duration
from config.sections import Key, Section, invalid, null_as
from config.yaml_lines import Loc

_TARGET = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")
_SHARE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


class Stage(StrEnum):
    """Where a ticket is in the team's status model."""

    CLASSIFICATION = "classification"
    IN_WORK = "in_work"
    WAITING_CLIENT = "waiting_client"
    INTERNAL = "internal"
    FEEDBACK = "feedback"


class Calendar(StrEnum):
    """Which time a clock counts."""

    WORKING_HOURS = "working_hours"
    ALWAYS = "24x7"


#: The standard statuses of each helpdesk (closing statuses close the ticket: no stage).
DEFAULT_STATUSES: Mapping[str, Mapping[str, Stage]] = {
    "helpdeskeddy": {"open": Stage.CLASSIFICATION, "process": Stage.IN_WORK},
    "rt": {"new": Stage.CLASSIFICATION, "open": Stage.IN_WORK, "stalled": Stage.WAITING_CLIENT},
}
#: Other helpdesks (generic webhooks, plugins) most often speak RT's words.
DEFAULT_STATUSES_GENERIC = DEFAULT_STATUSES["rt"]


def parse_target(value: object) -> timedelta:
    """``"15m"``, ``"4h"``, ``"1d"``, ``"1h30m"`` (a bare number is seconds)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and (match := _TARGET.match(value)) and any(match.groups()):
        days, hours, minutes, secs = (int(part or 0) for part in match.groups())
        seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    else:
        raise invalid(f"invalid duration {value!r}: use e.g. 15m, 4h, 2d or 1h30m")
    if seconds < 60:
        raise invalid("must be at least 1m")
    return timedelta(seconds=seconds)


def parse_share(value: object) -> float:
    """``"80%"``, ``80`` or ``0.8``: a share strictly between 0 and 1."""
    share: float | None = None
    if isinstance(value, str) and (match := _SHARE.match(value)):
        share = float(match.group(1)) / 100
    elif isinstance(value, int | float) and not isinstance(value, bool):
        share = float(value) / 100 if value > 1 else float(value)
    if share is None or not 0 < share < 1:
        raise invalid(f"invalid share {value!r}: use a percentage such as 80%")
    return share


Target = Annotated[timedelta, BeforeValidator(parse_target)]
Share = Annotated[float, BeforeValidator(parse_share)]
_Names = Annotated[tuple[str, ...], null_as(())]


class StatusesSection(Section):
    """The helpdesk's statuses of each stage; they extend the helpdesk's defaults."""

    classification: _Names = ()
    in_work: _Names = ()
    waiting_client: _Names = ()
    internal: _Names = ()
    feedback: _Names = ()

    @model_validator(mode="after")
    def _each_status_once(self) -> StatusesSection:
        seen: dict[str, Stage] = {}
        for stage in Stage:
            for status in getattr(self, stage.value):
                if status in seen:
                    raise invalid(f"status {status!r} is mapped to {seen[status]} and {stage}")
                seen[status] = stage
        return self

    def stages(self, helpdesk_kind: str | None) -> dict[str, Stage]:
        """Status → stage: the helpdesk's defaults, then this section on top."""
        # Without a kind the helpdesk is HelpDeskEddy when its settings are there; other
        # helpdesks (generic webhooks, plugins) most often speak RT's words.
        mapping = dict(
            DEFAULT_STATUSES.get(helpdesk_kind or "helpdeskeddy", DEFAULT_STATUSES_GENERIC)
        )
        for stage in Stage:
            mapping.update(dict.fromkeys(getattr(self, stage.value), stage))
        return mapping


class ClientSla(Section):
    """A client's contract: the targets (and calendar) that replace the policy's."""

    first_response: Target | None = None
    resolution: Target | None = None
    calendar: Calendar | None = None


class Policy(Section):
    """Targets for the tickets it matches: every given list must hold the ticket's value."""

    name: Key
    priorities: _Names = ()
    types: _Names = ()
    clients: Annotated[tuple[Key, ...], null_as(())] = ()
    statuses: _Names = ()
    first_response: Target | None = None
    resolution: Target | None = None
    calendar: Calendar = Calendar.WORKING_HOURS

    @model_validator(mode="after")
    def _has_a_target(self) -> Policy:
        if self.first_response is None and self.resolution is None:
            raise invalid("give first_response, resolution or both")
        return self

    def matches(self, *, priority: str, type: str, client: str | None, status: str) -> bool:
        """Whether a ticket with these values falls under the policy."""
        return (
            _holds(self.priorities, priority)
            and _holds(self.types, type)
            and (not self.clients or client in self.clients)
            and _holds(self.statuses, status)
        )


def _holds(wanted: Iterable[str], value: str) -> bool:
    names = {name.casefold().strip() for name in wanted}
    return not names or value.casefold().strip() in names


class SlaSection(Section):
    """Response and resolution targets; without policies there are no SLA clocks."""

    warn_at: Share = 0.8
    policies: Annotated[tuple[Policy, ...], null_as(())] = ()
    #: How often the clocks are scanned for warnings and breaches.
    scan_interval: Duration = timedelta(seconds=15)

    @property
    def enabled(self) -> bool:
        """Whether any policy is configured."""
        return bool(self.policies)

    def policy_for(
        self, *, priority: str, type: str, client: str | None, status: str
    ) -> Policy | None:
        """The first policy that matches, if any."""
        return next(
            (
                policy
                for policy in self.policies
                if policy.matches(priority=priority, type=type, client=client, status=status)
            ),
            None,
        )


def sla_conflicts(
    sla: SlaSection,
    statuses: StatusesSection,
    *,
    helpdesk_kind: str | None,
    client_keys: set[str],
) -> list[tuple[Loc, str]]:
    """Policies naming a client that does not exist or a status no stage maps, repeated names."""
    mapped = statuses.stages(helpdesk_kind)
    found: list[tuple[Loc, str]] = []
    names: dict[str, int] = {}
    for index, policy in enumerate(sla.policies):
        loc: Loc = ("sla", "policies", index)
        if policy.name in names:
            first = names[policy.name]
            message = f"duplicate name {policy.name!r}, already used by sla.policies[{first}]"
            found.append(((*loc, "name"), message))
        names.setdefault(policy.name, index)
        for position, key in enumerate(policy.clients):
            if key not in client_keys:
                found.append(((*loc, "clients", position), f"unknown client {key!r}"))
        for position, status in enumerate(policy.statuses):
            if status not in mapped:
                message = f"status {status!r} is mapped to no stage: add it under statuses:"
                found.append(((*loc, "statuses", position), message))
    return found
