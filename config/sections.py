"""The sections of the routing file: people, departments, dispatch and helpdesk settings."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from config.hints import did_you_mean
from config.schedule import Duration

_KEY_RE = re.compile(r"[a-z0-9_-]{1,20}")
_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_TICKET_URL_FIELDS = frozenset({"id", "number"})
ERROR_TYPE = "modest_routing"
EXAMPLE_FILE = "config/routing.example.yaml"


def invalid(message: str, **context: Any) -> PydanticCustomError:
    """Build a validation error whose message is shown to the operator verbatim."""
    return PydanticCustomError(ERROR_TYPE, message, context or None)


def _check_key(value: str) -> str:
    if not _KEY_RE.fullmatch(value):
        raise invalid(f"invalid key {value!r}: use 1-20 characters from a-z, 0-9, _ and -")
    return value


def null_as(empty: object) -> BeforeValidator:
    """Read an explicit null as `empty`.

    `roles:` with every item commented out is null in YAML; treat it as left out.
    """
    return BeforeValidator(lambda value: empty if value is None else value)


def _helpdesk_ref(value: object) -> object:
    # YAML reads `helpdesk_id: 11` as an int; helpdesk APIs hand ids around as text.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _check_slug(value: str) -> str:
    if not _SLUG_RE.fullmatch(value):
        raise invalid(f"invalid connector {value!r}: use a-z, 0-9, _ and -")
    return value


#: Validation context key: the known connector slugs by kind, when a registry is at hand.
CONNECTORS_CONTEXT = "connectors"


def check_known(kind: str, slug: str | None, info: ValidationInfo) -> str | None:
    """A connector the caller's registry does not know is an error here, with its line."""
    known = ((info.context or {}).get(CONNECTORS_CONTEXT) or {}).get(kind)
    if slug is not None and known is not None and slug not in known:
        names = ", ".join(sorted(known)) or "none"
        raise invalid(f"unknown {kind} {slug!r}{did_you_mean(slug, known) or ';'} known: {names}")
    return slug


Key = Annotated[str, AfterValidator(_check_key)]
#: A connector's name (``helpdesk.kind``); which ones exist is the connectors' registry's to say.
ConnectorSlug = Annotated[str, AfterValidator(_check_slug)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
HelpdeskRef = Annotated[
    str, BeforeValidator(_helpdesk_ref), StringConstraints(strip_whitespace=True, min_length=1)
]


class Role(StrEnum):
    """What a person may do; a person can hold several roles."""

    DISPATCHER = "dispatcher"
    SPECIALIST = "specialist"
    DEVELOPER = "developer"
    LEAD = "lead"
    MANAGER = "manager"
    ADMIN = "admin"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: The keys that name a person in an outside system; which key a connector reads is
#: the connector's to declare (its ``References``), so the values are kept by key.
PERSON_REFERENCES = ("helpdesk_id", "rt_user", "bitrix24_id", "redmine_id")
#: The keys that name a department in an outside system.
DEPARTMENT_REFERENCES = ("helpdesk_id", "rt_queue")
#: Keys a helpdesk looks people and departments up by: a value may name one entry only.
UNIQUE_REFERENCES = frozenset({"helpdesk_id", "rt_user", "rt_queue"})


def _references(entry: BaseModel, keys: tuple[str, ...]) -> dict[str, str]:
    values = ((key, getattr(entry, key)) for key in keys)
    return {key: value for key, value in values if value is not None}


class Person(Section):
    """Someone who can be assigned tickets or can dispatch them."""

    key: Key
    name: Name
    telegram_id: int | None = Field(None, gt=0)
    helpdesk_id: HelpdeskRef | None = None
    rt_user: HelpdeskRef | None = None
    bitrix24_id: HelpdeskRef | None = None
    redmine_id: HelpdeskRef | None = None
    roles: Annotated[frozenset[Role], null_as(())] = frozenset()
    #: How clients reach this person (e-mail, phone), shown in the client cabinet.
    contact: str | None = None

    def has_role(self, role: Role) -> bool:
        """Whether the person holds `role`."""
        return role in self.roles

    @property
    def refs(self) -> Mapping[str, str]:
        """The person's ids in outside systems, by routing-file key (``redmine_id``...)."""
        return _references(self, PERSON_REFERENCES)

    def ref(self, key: str | None) -> str | None:
        """The person's id under ``key`` (a connector's ``References``), if any."""
        return self.refs.get(key) if key is not None else None


class Department(Section):
    """A group of people a ticket can be routed to; `members` are person keys."""

    key: Key
    name: Name
    helpdesk_id: HelpdeskRef | None = None
    rt_queue: HelpdeskRef | None = None
    #: The tracker project for this department's developer tasks (default: tracker.project).
    tracker_project: str | None = None
    members: Annotated[tuple[Key, ...], null_as(())] = ()
    #: The support line: 1 classification and simple questions, 2 experts, 3 development.
    line: int = Field(1, ge=1, le=3)

    @property
    def refs(self) -> Mapping[str, str]:
        """The department's ids in outside systems, by routing-file key (``rt_queue``...)."""
        return _references(self, DEPARTMENT_REFERENCES)

    def ref(self, key: str | None) -> str | None:
        """The department's id under ``key`` (a connector's ``References``), if any."""
        return self.refs.get(key) if key is not None else None


class DispatchSection(Section):
    """Where ticket cards are posted, and how unassigned tickets are raised again."""

    chat_id: int
    nag_interval: Duration = timedelta(minutes=5)
    digest_threshold: int = Field(5, ge=1)
    escalate_after: int = Field(3, ge=1)
    always_nag_priorities: Annotated[frozenset[str], null_as(())] = frozenset()


class HelpDeskEddySection(Section):
    """HelpDeskEddy API limits (the environment variable is the fallback)."""

    max_requests_per_minute: int | None = Field(None, ge=1, le=250)
    #: Custom field that receives the time spent on a ticket, in minutes (optional).
    time_field_id: int | None = Field(None, gt=0)
    #: The portal's time zone (its dates carry none); default: the routing file's.
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise invalid(f"unknown time zone {value!r}") from None
        return value


class HelpdeskSection(Section):
    """Which helpdesk feeds tickets and how to link to a ticket in its web UI."""

    #: A helpdesk connector (``helpdeskeddy``, ``rt``, ``generic``...); checked at start.
    kind: ConnectorSlug | None = None
    ticket_url: str | None = None
    poll_interval: Duration = timedelta(seconds=30)
    reconcile_interval: Duration = timedelta(minutes=10)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str | None, info: ValidationInfo) -> str | None:
        return check_known("helpdesk", value, info)

    @field_validator("ticket_url")
    @classmethod
    def _check_ticket_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise invalid("must be an http:// or https:// URL")
        try:
            fields = {
                name for _, name, _, _ in string.Formatter().parse(value) if name is not None
            }
        except ValueError as exc:
            raise invalid(f"invalid template: {exc}") from exc
        unknown = sorted(fields - _TICKET_URL_FIELDS)
        if unknown:
            raise invalid(f"unknown placeholder {{{unknown[0]}}}, use {{id}} or {{number}}")
        return value


class TrackerSection(Section):
    """Where developer tasks go; no ``kind`` means no developer-task button."""

    #: A tracker connector (``bitrix24``, ``redmine``...); checked at start.
    kind: ConnectorSlug | None = None
    #: Redmine project identifier, or the Bitrix24 workgroup id.
    project: str | None = None
    redmine_tracker_id: int | None = Field(None, gt=0)
    #: Bitrix24 statuses that count as done: 5 (completed), optionally 4 (awaiting control).
    bitrix24_done_statuses: Annotated[frozenset[int], null_as((5,))] = frozenset({5})
    #: The helpdesk status a ticket gets when its developer task is done (e.g. ``process``).
    done_status: str | None = None
    #: How often linked open tasks are read again (trackers without reliable events).
    poll_interval: Duration = timedelta(minutes=2)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str | None, info: ValidationInfo) -> str | None:
        return check_known("tracker", value, info)
