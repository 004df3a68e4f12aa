"""The routing file: who dispatches, which departments exist and who works in them.

The file is YAML (see `config/routing.example.yaml`). :func:`load_routing` validates it
and reports every problem as `file:line: field: message`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Annotated, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from config.clients import Client, ReportsSection, TimePromptSection
from config.conflicts import entry_conflicts, partial_conflicts
from config.crm import CrmSection
from config.errors import Problem, RoutingConfigError
from config.hints import accepted_keys, did_you_mean
from config.quality import QualitySection
from config.schedule import WorkingHours
from config.sections import (
    CONNECTORS_CONTEXT,
    ERROR_TYPE,
    EXAMPLE_FILE,
    Department,
    DispatchSection,
    HelpDeskEddySection,
    HelpdeskSection,
    Person,
    Role,
    Section,
    TrackerSection,
    invalid,
    null_as,
)
from config.sla import SlaSection, StatusesSection, sla_conflicts
from config.yaml_lines import Loc, YamlSyntaxError, entry_names, format_loc, parse_yaml

#: The connector kind ``helpdesk.kind`` picks (``connectors.base.HELPDESK``).
HELPDESK_KIND = "helpdesk"


class ReferenceKeys(NamedTuple):
    """The routing-file keys one connector names people and departments by."""

    person: str | None
    department: str | None


__all__ = [
    "Department",
    "DispatchSection",
    "HelpdeskSection",
    "Person",
    "Problem",
    "Role",
    "RoutingConfig",
    "check_routing",
    "find_conflicts",
    "load_routing",
    "load_routing_text",
]


class RoutingConfig(Section):
    """The whole routing file, cross-checked, with lookups by key and by id.

    Lookup tables are built during validation, so instances made with
    `model_construct` or `model_copy(update=...)` have empty lookups.
    """

    timezone: str
    language: Literal["ru", "en"] = "ru"
    helpdesk: Annotated[HelpdeskSection, null_as({})] = Field(default_factory=HelpdeskSection)
    dispatch: DispatchSection
    working_hours: WorkingHours | None = None
    helpdeskeddy: Annotated[HelpDeskEddySection, null_as({})] = Field(
        default_factory=HelpDeskEddySection
    )
    departments: tuple[Department, ...]
    people: tuple[Person, ...]
    clients: Annotated[tuple[Client, ...], null_as(())] = ()
    time_prompt: Annotated[TimePromptSection, null_as({})] = Field(
        default_factory=TimePromptSection
    )
    reports: Annotated[ReportsSection, null_as({})] = Field(default_factory=ReportsSection)
    tracker: Annotated[TrackerSection, null_as({})] = Field(default_factory=TrackerSection)
    quality: Annotated[QualitySection, null_as({})] = Field(default_factory=QualitySection)
    crm: Annotated[CrmSection, null_as({})] = Field(default_factory=CrmSection)
    statuses: Annotated[StatusesSection, null_as({})] = Field(default_factory=StatusesSection)
    sla: Annotated[SlaSection, null_as({})] = Field(default_factory=SlaSection)

    _people: dict[str, Person] = PrivateAttr(default_factory=dict)
    _departments: dict[str, Department] = PrivateAttr(default_factory=dict)
    _by_telegram_id: dict[int, Person] = PrivateAttr(default_factory=dict)
    _people_by_ref: dict[tuple[str, str], Person] = PrivateAttr(default_factory=dict)
    _departments_by_ref: dict[tuple[str, str], Department] = PrivateAttr(default_factory=dict)
    #: Per connector kind, the keys it names people and departments by (``with_references``).
    _reference_keys: dict[str, ReferenceKeys] = PrivateAttr(
        default_factory=lambda: {HELPDESK_KIND: ReferenceKeys("helpdesk_id", "helpdesk_id")}
    )

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise invalid(f"unknown time zone {value!r}") from None
        return value

    @field_validator("departments")
    @classmethod
    def _check_departments(cls, value: tuple[Department, ...]) -> tuple[Department, ...]:
        if not value:
            raise invalid("at least one department is required")
        return value

    @model_validator(mode="after")
    def _cross_check(self) -> RoutingConfig:
        conflicts = find_conflicts(self)
        if conflicts:
            names = entry_names(self.model_dump())
            text = "; ".join(f"{format_loc(loc, names)}: {m}" for loc, m in conflicts)
            # The structured list rides along so the loader can give each its own line.
            raise invalid(text, conflicts=tuple(conflicts))
        # Private attributes may be set on frozen models; validation is the only writer.
        self._people = {person.key: person for person in self.people}
        self._departments = {department.key: department for department in self.departments}
        self._by_telegram_id = {p.telegram_id: p for p in self.people if p.telegram_id is not None}
        # Reversed: where a key may repeat (tracker ids), the first entry wins.
        self._people_by_ref = {ref: p for p in reversed(self.people) for ref in p.refs.items()}
        self._departments_by_ref = {
            ref: d for d in reversed(self.departments) for ref in d.refs.items()
        }
        return self

    @property
    def tz(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)

    def person(self, key: str) -> Person | None:
        """The person with this key, if any."""
        return self._people.get(key)

    def department(self, key: str) -> Department | None:
        """The department with this key, if any."""
        return self._departments.get(key)

    def person_by_telegram_id(self, telegram_id: int) -> Person | None:
        """The person with this Telegram user id, if any."""
        return self._by_telegram_id.get(telegram_id)

    def with_references(
        self, kind: str, *, person: str | None, department: str | None
    ) -> RoutingConfig:
        """This routing with the connector of ``kind`` naming people and departments by
        the keys ``person`` and ``department`` (what the connector declares).

        Unbound, the helpdesk names both by ``helpdesk_id`` and other kinds by nothing.
        """
        bound = self.model_copy()
        bound._reference_keys = {**self._reference_keys, kind: ReferenceKeys(person, department)}
        return bound

    def _keys(self, kind: str) -> ReferenceKeys:
        return self._reference_keys.get(kind, ReferenceKeys(None, None))

    def person_ref(self, person: Person, kind: str = HELPDESK_KIND) -> str | None:
        """How the configured connector of ``kind`` names this person."""
        return person.ref(self._keys(kind).person)

    def department_ref(self, department: Department, kind: str = HELPDESK_KIND) -> str | None:
        """How the configured connector of ``kind`` names this department."""
        return department.ref(self._keys(kind).department)

    def person_by_helpdesk_id(self, ref: str) -> Person | None:
        """The person the configured helpdesk names `ref`, if any."""
        key = self._keys(HELPDESK_KIND).person
        return self._people_by_ref.get((key, ref)) if key is not None else None

    def person_by_ref(self, ref: str, kind: str) -> Person | None:
        """The person the configured connector of ``kind`` names ``ref``, if any."""
        key = self._keys(kind).person
        return self._people_by_ref.get((key, ref)) if key is not None else None

    def department_by_helpdesk_id(self, ref: str) -> Department | None:
        """The department the configured helpdesk names `ref`, if any."""
        key = self._keys(HELPDESK_KIND).department
        return self._departments_by_ref.get((key, ref)) if key is not None else None

    def client(self, key: str) -> Client | None:
        """The client with this key, if any."""
        return next((client for client in self.clients if client.key == key), None)

    def client_for(self, *, company: str, email: str) -> Client | None:
        """The client a ticket belongs to, by company name or e-mail domain."""
        return next((c for c in self.clients if c.matches(company=company, email=email)), None)

    def members(self, department_key: str) -> list[Person]:
        """People of a department in file order; empty for an unknown department."""
        department = self._departments.get(department_key)
        if department is None:
            return []
        return [self._people[key] for key in department.members]

    def departments_of(self, person_key: str) -> list[Department]:
        """Departments that list the person, in file order."""
        return [d for d in self.departments if person_key in d.members]


def find_conflicts(config: RoutingConfig) -> list[tuple[Loc, str]]:
    """Problems between entries: unknown or repeated members, keys and ids used twice."""
    return [
        *entry_conflicts(
            list(enumerate(config.people)),
            list(enumerate(config.departments)),
            list(enumerate(config.clients)),
            known={person.key for person in config.people},
            names=entry_names(config.model_dump()),
        ),
        *sla_conflicts(
            config.sla,
            config.statuses,
            helpdesk_kind=config.helpdesk.kind,
            client_keys={client.key for client in config.clients},
        ),
    ]


#: The known connector slugs by kind (``{"helpdesk": ["generic", ...]}``), when the caller
#: has a connector registry: ``helpdesk.kind`` and ``tracker.kind`` are then checked too.
KnownConnectors = Mapping[str, Collection[str]]


def load_routing(path: str | Path, *, connectors: KnownConnectors | None = None) -> RoutingConfig:
    """Read and validate a routing file; raise RoutingConfigError listing every problem."""
    config, problems = _check_file(Path(path), connectors)
    if config is None:
        raise RoutingConfigError(problems)
    return config


def check_routing(path: str | Path, *, connectors: KnownConnectors | None = None) -> list[Problem]:
    """Problems in a routing file, in line order; empty when the file is valid."""
    return _check_file(Path(path), connectors)[1]


def load_routing_text(
    text: str, filename: str = "<string>", *, connectors: KnownConnectors | None = None
) -> RoutingConfig:
    """Validate routing YAML given as text; `filename` only labels the problems."""
    config, problems = _check_text(text, filename, connectors)
    if config is None:
        raise RoutingConfigError(problems)
    return config


def _check_file(
    path: Path, connectors: KnownConnectors | None
) -> tuple[RoutingConfig | None, list[Problem]]:
    filename = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        message = f"file not found; copy {EXAMPLE_FILE} there and edit it"
        return None, [Problem(filename, 0, "<file>", message)]
    except OSError as exc:
        return None, [Problem(filename, 0, "<file>", f"cannot read the file: {exc.strerror}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, [Problem(filename, line, "<yaml>", "the file is not valid UTF-8")]
    return _check_text(text, filename, connectors)


def _check_text(
    text: str, filename: str, connectors: KnownConnectors | None
) -> tuple[RoutingConfig | None, list[Problem]]:
    """Parse and validate: the config when valid, else None and the problems."""
    try:
        document = parse_yaml(text)
    except YamlSyntaxError as exc:
        return None, [Problem(filename, exc.line, "<yaml>", exc.message)]
    if document.data is None:
        return None, [Problem(filename, 0, "<yaml>", f"the file is empty; see {EXAMPLE_FILE}")]
    problems = [
        Problem(
            filename,
            d.line,
            format_loc(d.loc, entry_names(document.data)),
            f"duplicate key, also on line {d.first_line}",
        )
        for d in document.duplicates
    ]
    config: RoutingConfig | None = None
    try:
        context = {CONNECTORS_CONTEXT: connectors} if connectors is not None else None
        config = RoutingConfig.model_validate(document.data, context=context)
    except ValidationError as exc:
        errors = exc.errors()
        found = [pair for error in errors for pair in _describe(error)]
        if not any("conflicts" in (error.get("ctx") or {}) for error in errors):
            found.extend(partial_conflicts(document.data))
        names = entry_names(document.data)
        problems.extend(
            Problem(filename, document.line_of(loc), format_loc(loc, names), message)
            for loc, message in found
        )
    if problems:
        # Stable sort: same-line problems keep pydantic's field order.
        return None, sorted(problems, key=lambda problem: problem.line)
    return config, []


# Plain messages, and prefixes that get the offending scalar appended.
_FIXED_MESSAGES = {
    "missing": "required",
    "string_too_short": "must not be empty",
}
_TYPE_MESSAGES = {
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), "expected a whole number"),
    "string_type": "expected text",
    **dict.fromkeys(("model_type", "model_attributes_type", "dict_type"), "expected a mapping"),
    **dict.fromkeys(
        ("tuple_type", "list_type", "set_type", "frozen_set_type", "iterable_type"),
        "expected a list",
    ),
}


def _describe(error: ErrorDetails) -> list[tuple[Loc, str]]:
    """Turn one pydantic error into (path, message) pairs for the operator."""
    ctx = error.get("ctx") or {}
    if "conflicts" in ctx:
        return list(ctx["conflicts"])
    kind, loc = error["type"], error["loc"]
    if kind == "invalid_key":
        # YAML 1.1 reads `on:`/`no:`/`1:` as non-text keys; pydantic's loc drops the spelling.
        return [((*loc[:-1], str(error["input"])), "unknown key (not text; quote it)")]
    if kind == ERROR_TYPE:
        message = error["msg"]
    elif kind == "extra_forbidden":
        message = "unknown key" + _known_key(loc)
    elif kind in _FIXED_MESSAGES:
        message = _FIXED_MESSAGES[kind]
    elif kind in _TYPE_MESSAGES:
        message = _TYPE_MESSAGES[kind] + _got(error["input"])
    elif kind in {"literal_error", "enum"}:
        message = f"expected {ctx['expected']}{_got(error['input'])}" + _choice(error)
    elif kind == "greater_than":
        message = f"must be greater than {ctx['gt']}{_got(error['input'])}"
    else:
        message = error["msg"][:1].lower() + error["msg"][1:]
    return [(loc, message)]


def _known_key(loc: Loc) -> str:
    """``; did you mean 'members'?`` for a misspelt key of a section."""
    key = loc[-1] if loc else None
    if not isinstance(key, str):
        return ""
    return did_you_mean(key, accepted_keys(RoutingConfig, loc[:-1]))


def _choice(error: ErrorDetails) -> str:
    """``; did you mean 'dispatcher'?`` for a misspelt choice (a role, a language)."""
    value = error["input"]
    if not isinstance(value, str):
        return ""
    return did_you_mean(value, re.findall(r"'([^']*)'", str(error["ctx"]["expected"])))


def _got(value: object) -> str:
    """`, got ...` for scalar input; containers would only clutter the line."""
    if value is None:
        return ", got an empty value"
    if isinstance(value, str | int | float | bool):
        return f", got {value!r}"
    return ""
