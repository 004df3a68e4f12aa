"""The routing file: loading, lookups, and `file:line: field: message` problems."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from config.errors import ConfigError, Problem, RoutingConfigError
from config.routing import (
    Role,
    RoutingConfig,
    check_routing,
    load_routing,
    load_routing_text,
)
from tests.support.paths import REPO

EXAMPLE = REPO / "config" / "routing.example.yaml"

# Line numbers matter below: every expected problem names a line of this text.
VALID = """\
timezone: Europe/Moscow
language: ru
dispatch:
  chat_id: -100123
departments:
  - key: support
    name: Support
    helpdesk_id: 1
    members: [ivan, olga]
people:
  - key: ivan
    name: Ivan
    telegram_id: 1001
    helpdesk_id: 11
    roles: [dispatcher, specialist]
  - key: olga
    name: Olga
    telegram_id: 1002
    helpdesk_id: 12
"""

SECOND_DEPARTMENT = """\
  - key: dev
    name: Development
people:
"""


def problems(text: str) -> list[str]:
    """The problems load_routing_text must report for `text`, as strings."""
    with pytest.raises(RoutingConfigError) as caught:
        load_routing_text(text, "r.yaml")
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return [str(problem) for problem in caught.value.problems]


def edit(old: str, new: str, text: str = VALID) -> str:
    """VALID with exactly one occurrence of `old` replaced."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_example_file_loads() -> None:
    config = load_routing(EXAMPLE)
    assert check_routing(EXAMPLE) == []
    assert config.tz == ZoneInfo("Europe/Moscow")
    assert config.dispatch.chat_id < 0
    assert len(config.departments) >= 2
    assert len(config.people) >= 4
    for department in config.departments:
        assert all(config.person(key) is not None for key in department.members)


def test_valid_text_and_lookups() -> None:
    config = load_routing_text(VALID)
    ivan, olga = config.people
    support = config.departments[0]
    assert config.timezone == "Europe/Moscow"
    assert config.language == "ru"
    assert config.helpdesk.kind is None
    assert config.helpdesk.ticket_url is None
    assert config.person("ivan") is ivan
    assert config.person("nobody") is None
    assert config.department("support") is support
    assert config.department("nobody") is None
    assert config.person_by_telegram_id(1002) is olga
    assert config.person_by_telegram_id(1) is None
    # YAML integers become strings so they compare with ids from helpdesk APIs.
    assert ivan.helpdesk_id == "11"
    assert support.helpdesk_id == "1"
    assert config.person_by_helpdesk_id("12") is olga
    assert config.person_by_helpdesk_id("13") is None
    assert config.department_by_helpdesk_id("1") is support
    assert config.department_by_helpdesk_id("2") is None
    assert config.members("support") == [ivan, olga]
    assert config.members("nobody") == []
    assert config.departments_of("olga") == [support]
    assert config.departments_of("nobody") == []


def test_roles() -> None:
    ivan, olga = load_routing_text(VALID).people
    assert ivan.roles == {Role.DISPATCHER, Role.SPECIALIST}
    assert ivan.has_role(Role.DISPATCHER)
    assert not ivan.has_role(Role.ADMIN)
    assert olga.roles == frozenset()


def test_optional_sections_and_nulls() -> None:
    text = edit("    members: [ivan, olga]\n", "    members:\n")
    text = edit("    roles: [dispatcher, specialist]\n", "    roles:\n", text)
    text = edit("language: ru\n", "language: en\nhelpdesk:\n", text)
    config = load_routing_text(text)
    assert config.language == "en"
    assert config.members("support") == []
    assert config.people[0].roles == frozenset()
    assert config.helpdesk.kind is None


def test_helpdesk_section() -> None:
    text = edit(
        "language: ru\n",
        "helpdesk:\n  kind: generic\n  ticket_url: https://hd.example/t/{id}?n={number}\n",
    )
    helpdesk = load_routing_text(text).helpdesk
    assert helpdesk.kind == "generic"
    assert helpdesk.ticket_url == "https://hd.example/t/{id}?n={number}"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "Europe/Moscow",
            "Europe/Moskva",
            ["r.yaml:1: timezone: unknown time zone 'Europe/Moskva'"],
            id="timezone",
        ),
        pytest.param(
            "members: [ivan, olga]",
            "members: [ivan, petr]",
            ["r.yaml:9: departments[support].members[1]: unknown person 'petr'"],
            id="unknown-member",
        ),
        pytest.param(
            "members: [ivan, olga]",
            "members:\n      - ivan\n      - olga\n      - petr\n      - ivan",
            [
                "r.yaml:12: departments[support].members[2]: unknown person 'petr'",
                "r.yaml:13: departments[support].members[3]: duplicate member 'ivan'",
            ],
            id="block-list-members",
        ),
        pytest.param(
            "members:",
            "membrs:",
            ["r.yaml:9: departments[support].membrs: unknown key; did you mean 'members'?"],
            id="unknown-key",
        ),
        pytest.param(
            "    name: Support\n",
            "",
            ["r.yaml:6: departments[support].name: required"],
            id="missing-field",
        ),
        pytest.param(
            "dispatch:\n  chat_id: -100123\n",
            "",
            ["r.yaml:1: dispatch: required"],
            id="missing-section",
        ),
        pytest.param(
            "people:\n",
            SECOND_DEPARTMENT.replace("dev", "support", 1),
            [
                "r.yaml:10: departments[1].key:"
                " duplicate key 'support', already used by departments[0]"
            ],
            id="duplicate-department-key",
        ),
        pytest.param(
            "people:\n",
            SECOND_DEPARTMENT + "  - key: extra\n    name: Extra\n",
            [],
            id="department-without-members-is-fine",
        ),
        pytest.param(
            "people:\n",
            edit(
                "    name: Development\n",
                "    name: Development\n    helpdesk_id: '1'\n",
                SECOND_DEPARTMENT,
            ),
            [
                "r.yaml:12: departments[dev].helpdesk_id:"
                " duplicate helpdesk_id '1', already used by departments[support]"
            ],
            id="duplicate-department-helpdesk-id",
        ),
        pytest.param(
            "  - key: olga",
            "  - key: ivan",
            [
                "r.yaml:9: departments[support].members[1]: unknown person 'olga'",
                # Two entries with one key: named by position, as the key names neither.
                "r.yaml:16: people[1].key: duplicate key 'ivan', already used by people[0]",
            ],
            id="duplicate-person-key",
        ),
        pytest.param(
            "telegram_id: 1002",
            "telegram_id: 1001",
            [
                "r.yaml:18: people[olga].telegram_id:"
                " duplicate telegram_id 1001, already used by people[ivan]"
            ],
            id="duplicate-telegram-id",
        ),
        pytest.param(
            "helpdesk_id: 12",
            'helpdesk_id: "11"',
            [
                "r.yaml:19: people[olga].helpdesk_id:"
                " duplicate helpdesk_id '11', already used by people[ivan]"
            ],
            id="duplicate-person-helpdesk-id",
        ),
        pytest.param(
            "roles: [dispatcher, specialist]",
            "roles: [dispatcher, boss]",
            [
                "r.yaml:15: people[ivan].roles[1]: expected 'dispatcher', 'specialist',"
                " 'developer', 'lead', 'manager' or 'admin', got 'boss'"
            ],
            id="unknown-role",
        ),
        pytest.param(
            "  - key: olga",
            "  - key: Olga",
            [
                "r.yaml:16: people[1].key: invalid key 'Olga': use 1-20 characters from a-z, 0-9,"
                " _ and -"
            ],
            id="invalid-key",
        ),
        pytest.param(
            "telegram_id: 1002",
            "telegram_id: olga",
            ["r.yaml:18: people[olga].telegram_id: expected a whole number, got 'olga'"],
            id="not-a-number",
        ),
        pytest.param(
            "    name: Olga\n",
            "    name: ' '\n",
            ["r.yaml:17: people[olga].name: must not be empty"],
            id="blank-name",
        ),
        pytest.param(
            "language: ru",
            "language: de",
            ["r.yaml:2: language: expected 'ru' or 'en', got 'de'"],
            id="language",
        ),
        pytest.param(
            "language: ru",
            "helpdesk:\n  ticket_url: https://hd.example/{ticket}",
            ["r.yaml:3: helpdesk.ticket_url: unknown placeholder {ticket}, use {id} or {number}"],
            id="ticket-url-placeholder",
        ),
        pytest.param(
            "departments:\n  - key: support\n    name: Support\n    helpdesk_id: 1\n"
            "    members: [ivan, olga]\n",
            "departments: []\n",
            ["r.yaml:5: departments: at least one department is required"],
            id="no-departments",
        ),
        pytest.param(
            "language: ru",
            "language: ru\ntimezone: UTC",
            ["r.yaml:3: timezone: duplicate key, also on line 1"],
            id="duplicate-yaml-key",
        ),
    ],
)
def test_problems(old: str, new: str, expected: list[str]) -> None:
    text = edit(old, new)
    if expected:
        assert problems(text) == expected
    else:
        load_routing_text(text)


def test_problems_come_in_line_order() -> None:
    text = edit("Europe/Moscow", "Mars/Olympus")
    text = edit("    name: Olga\n", "", text)
    text = edit("chat_id: -100123", "chat_id: many", text)
    assert problems(text) == [
        "r.yaml:1: timezone: unknown time zone 'Mars/Olympus'",
        "r.yaml:4: dispatch.chat_id: expected a whole number, got 'many'",
        "r.yaml:16: people[olga].name: required",
    ]


def test_problems_between_entries_come_with_field_problems_in_one_round() -> None:
    text = edit("Europe/Moscow", "Mars/Olympus")
    text = edit("members: [ivan, olga]", "members: [ivan, petr]", text)
    text = edit("    helpdesk_id: 12\n", "    helpdesk_id: 11\n", text)
    assert problems(text) == [
        "r.yaml:1: timezone: unknown time zone 'Mars/Olympus'",
        "r.yaml:9: departments[support].members[1]: unknown person 'petr'",
        "r.yaml:19: people[olga].helpdesk_id:"
        " duplicate helpdesk_id '11', already used by people[ivan]",
    ]


def test_an_invalid_person_is_not_also_reported_as_unknown_where_it_is_listed() -> None:
    text = edit("Europe/Moscow", "Mars/Olympus")
    text = edit("  - key: olga", "  - key: Olga", text)
    assert problems(text) == [
        "r.yaml:1: timezone: unknown time zone 'Mars/Olympus'",
        "r.yaml:16: people[1].key: invalid key 'Olga': use 1-20 characters from a-z, 0-9, _ and -",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "timezone: UTC\ndispatch:\n  chat_id: 1\n departments: []\n",
            "r.yaml:4: <yaml>: this line is indented differently from the lines above it:"
            " the keys of one section start in the same column",
            id="indentation",
        ),
        pytest.param(
            "timezone: UTC\npeople:\n  - key: a\n    name: [unclosed\n",
            "r.yaml:5: <yaml>: the list opened with '[' on line 4 is not closed with ']'"
            " (its items are separated by commas; quote an item that contains one)",
            id="unclosed-flow",
        ),
        pytest.param(
            "timezone: UTC\n\tdispatch: 1\n",
            "r.yaml:2: <yaml>: a tab character: indent with spaces only",
            id="tab",
        ),
        pytest.param(
            "timezone: UTC\nlanguage: r\x07u\n",
            "r.yaml:2: <yaml>: a character YAML does not allow (U+0007, invisible) is here:"
            " delete it",
            id="control-character",
        ),
        pytest.param(
            "# all commented out\n",
            "r.yaml: <yaml>: the file is empty; see config/routing.example.yaml",
            id="empty",
        ),
        pytest.param("- a\n- b\n", "r.yaml:1: <root>: expected a mapping", id="not-a-mapping"),
    ],
)
def test_document_problems(text: str, expected: str) -> None:
    assert problems(text) == [expected]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    expected = Problem(
        str(path),
        0,
        "<file>",
        "file not found; copy config/routing.example.yaml there and edit it",
    )
    assert check_routing(path) == [expected]
    with pytest.raises(RoutingConfigError) as caught:
        load_routing(str(path))
    assert caught.value.problems == [expected]
    assert isinstance(caught.value, ConfigError)


def test_file_problems_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(edit("members: [ivan, olga]", "members: [ivan, petr]"), encoding="utf-8")
    [problem] = check_routing(path)
    assert problem == Problem(
        str(path), 9, "departments[support].members[1]", "unknown person 'petr'"
    )
    assert str(problem) == f"{path}:9: departments[support].members[1]: unknown person 'petr'"


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_bytes(b"timezone: UTC\nlanguage: \xff\n")
    assert [str(p) for p in check_routing(path)] == [
        f"{path}:2: <yaml>: the file is not valid UTF-8"
    ]


def test_models_are_frozen() -> None:
    config = load_routing_text(VALID)
    with pytest.raises(ValidationError):
        config.timezone = "UTC"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        config.people[0].name = "Someone"  # type: ignore[misc]


def test_cross_checks_apply_without_the_loader() -> None:
    data = {
        "timezone": "UTC",
        "dispatch": {"chat_id": 1},
        "departments": [{"key": "a", "name": "A", "members": ["ghost"]}],
        "people": [],
    }
    with pytest.raises(ValidationError, match=r"departments\[a\]\.members\[0\]: unknown person"):
        RoutingConfig.model_validate(data)
