"""Problems between the entries of a routing file: unknown or repeated members, and keys
and ids used twice (the reference keys a helpdesk looks entries up by among them)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from config.clients import Client
from config.hints import did_you_mean
from config.sections import (
    DEPARTMENT_REFERENCES,
    PERSON_REFERENCES,
    UNIQUE_REFERENCES,
    Department,
    Person,
)
from config.yaml_lines import Loc, entry_names, format_loc

_Entry = TypeVar("_Entry", bound=BaseModel)


def partial_conflicts(data: object) -> list[tuple[Loc, str]]:
    """``find_conflicts`` over the entries that are valid on their own.

    pydantic skips the whole-file check when any field is invalid; running it on what
    did validate shows every problem in one round instead of two.
    """
    if not isinstance(data, dict):
        return []
    raw_people = data.get("people")
    people = _valid_entries(raw_people, Person)
    # With a person entry invalid, a reference to it cannot be told from a typo: the
    # "unknown person" checks wait for the next round.
    complete = isinstance(raw_people, list) and len(people) == len(raw_people)
    return entry_conflicts(
        people,
        _valid_entries(data.get("departments"), Department),
        _valid_entries(data.get("clients"), Client),
        known={person.key for _, person in people} if complete else None,
        names=entry_names(data),
    )


def _valid_entries(raw: object, model: type[_Entry]) -> list[tuple[int, _Entry]]:
    if not isinstance(raw, list):
        return []
    entries: list[tuple[int, _Entry]] = []
    for index, item in enumerate(raw):
        try:
            entries.append((index, model.model_validate(item)))
        except ValidationError:
            continue  # reported by the full validation already
    return entries


def entry_conflicts(
    people: list[tuple[int, Person]],
    departments: list[tuple[int, Department]],
    clients: list[tuple[int, Client]],
    *,
    known: set[str] | None,
    names: Mapping[Loc, str],
) -> list[tuple[Loc, str]]:
    """Entries in conflict; ``names`` (``entry_names``) names the entry a message refers to."""
    conflicts = [
        *_duplicates("departments", "key", ((d.key, i) for i, d in departments), names),
        *_unique_references("departments", DEPARTMENT_REFERENCES, departments, names),
        *_duplicates("people", "key", ((p.key, i) for i, p in people), names),
        *_duplicates("people", "telegram_id", ((p.telegram_id, i) for i, p in people), names),
        *_unique_references("people", PERSON_REFERENCES, people, names),
        *_duplicates("clients", "key", ((c.key, i) for i, c in clients), names),
    ]
    if known is None:
        return conflicts
    for index, client in clients:
        if client.manager is not None and client.manager not in known:
            conflicts.append((("clients", index, "manager"), _unknown(client.manager, known)))
    for index, department in departments:
        listed: set[str] = set()
        for position, member in enumerate(department.members):
            loc: Loc = ("departments", index, "members", position)
            if member not in known:
                conflicts.append((loc, _unknown(member, known)))
            elif member in listed:
                conflicts.append((loc, f"duplicate member {member!r}"))
            listed.add(member)
    return conflicts


def _unknown(person: str, known: set[str]) -> str:
    return f"unknown person {person!r}{did_you_mean(person, known)}"


def _unique_references(
    section: str,
    keys: tuple[str, ...],
    entries: list[tuple[int, Person]] | list[tuple[int, Department]],
    names: Mapping[Loc, str],
) -> list[tuple[Loc, str]]:
    """Repeats of the reference keys a helpdesk looks entries up by."""
    return [
        conflict
        for key in keys
        if key in UNIQUE_REFERENCES
        for conflict in _duplicates(
            section, key, ((e.refs.get(key), i) for i, e in entries), names
        )
    ]


def _duplicates(
    section: str,
    attribute: str,
    values: Iterable[tuple[Hashable | None, int]],
    names: Mapping[Loc, str],
) -> list[tuple[Loc, str]]:
    """Report every repeat of a value after its first use (None never counts)."""
    first: dict[Hashable, int] = {}
    found: list[tuple[Loc, str]] = []
    for value, index in values:
        if value is None:
            continue
        if value in first:
            used = format_loc((section, first[value]), names)
            message = f"duplicate {attribute} {value!r}, already used by {used}"
            found.append(((section, index, attribute), message))
        else:
            first[value] = index
    return found
