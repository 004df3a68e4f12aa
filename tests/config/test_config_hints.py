"""check-config for a newcomer: "did you mean", YAML mistakes in plain words at their line,
entries named by their key, and never a line 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import Problem, RoutingConfigError
from config.routing import check_routing, load_routing_text
from connectors.registry import default_registry
from modest.cli import main
from tests.support.routing import ROUTING_YAML


def problems(text: str) -> list[str]:
    with pytest.raises(RoutingConfigError) as caught:
        load_routing_text(text, "r.yaml", connectors=default_registry().known_slugs())
    return [str(problem) for problem in caught.value.problems]


def edit(old: str, new: str, text: str = ROUTING_YAML) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line containing ``needle``."""
    [found] = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return found


@pytest.mark.parametrize(
    ("old", "new", "field", "hint"),
    [
        ("language: en", "languag: en", "languag", "language"),
        (
            "  chat_id: -1001234567890",
            "  chat_id: -1001234567890\n  nag_intervl: 5m",
            "dispatch.nag_intervl",
            "nag_interval",
        ),
        (
            "    members: [ivan, olga]",
            "    membrs: [ivan, olga]",
            "departments[support].membrs",
            "members",
        ),
        (
            "    telegram_id: 1002",
            "    telegram_id: 1002\n    helpdesk_ids: 12",
            "people[olga].helpdesk_ids",
            "helpdesk_id",
        ),
    ],
    ids=["top-level", "section", "department", "person"],
)
def test_an_unknown_key_says_which_one_was_meant(
    old: str, new: str, field: str, hint: str
) -> None:
    text = edit(old, new)
    line = line_of(text, field.rsplit(".", 1)[-1] + ":")
    assert problems(text) == [f"r.yaml:{line}: {field}: unknown key; did you mean {hint!r}?"]


def test_an_unknown_key_like_no_other_gets_no_guess() -> None:
    text = edit("language: en", "language: en\nsurprise: 1")
    assert problems(text) == ["r.yaml:3: surprise: unknown key"]


def test_an_unknown_person_says_which_one_was_meant() -> None:
    text = edit("members: [ivan, olga]", "members: [ivan, olgaa]")
    line = line_of(text, "olgaa")
    assert problems(text) == [
        f"r.yaml:{line}: departments[support].members[1]: unknown person 'olgaa';"
        " did you mean 'olga'?"
    ]
    client = "clients:\n  - key: acme\n    name: Acme\n    unlimited: true\n    manager: ivn\n"
    text = ROUTING_YAML + client
    assert problems(text) == [
        f"r.yaml:{line_of(text, 'manager:')}: clients[acme].manager: unknown person 'ivn';"
        " did you mean 'ivan'?"
    ]


def test_a_misspelt_choice_or_connector_says_which_one_was_meant() -> None:
    text = edit("language: en", "language: en\nhelpdesk:\n  kind: helpdeskedy")
    [problem] = problems(text)
    assert problem.startswith(
        "r.yaml:4: helpdesk.kind: unknown helpdesk 'helpdeskedy';"
        " did you mean 'helpdeskeddy'? known: "
    )
    [problem] = problems(edit("roles: [developer]", "roles: [developr]"))
    assert problem.endswith("got 'developr'; did you mean 'developer'?")


def test_entries_are_named_by_their_key() -> None:
    text = edit("    telegram_id: 1002", "    telegram_id: many")
    line = line_of(text, "telegram_id: many")
    assert problems(text) == [
        f"r.yaml:{line}: people[olga].telegram_id: expected a whole number, got 'many'"
    ]
    text = edit("    telegram_id: 1002", "    telegram_id: 1001")
    [_, olga] = [n for n, line in enumerate(text.splitlines(), 1) if "telegram_id: 1001" in line]
    assert problems(text) == [
        f"r.yaml:{olga}: people[olga].telegram_id:"
        " duplicate telegram_id 1001, already used by people[ivan]"
    ]


def test_entries_whose_key_cannot_name_them_are_named_by_position() -> None:
    text = edit("  - key: olga", "  - key: Olga")
    [problem] = [p for p in problems(text) if ".key:" in p]
    assert ": people[1].key: invalid key 'Olga'" in problem


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param(
            "timezone: UTC\ndispatch:\n  chat_id: 1\n departments: []\n",
            4,
            "this line is indented differently from the lines above it:"
            " the keys of one section start in the same column",
            id="indentation",
        ),
        pytest.param(
            "timezone: UTC\npeople:\n  - key: a\n   - key: b\n",
            4,
            "this list item is not lined up with the items above it:"
            " every '- ' of one list starts in the same column",
            id="list-item-out-of-line",
        ),
        pytest.param(
            "timezone: UTC\npeople:\n  key: a\n  - key: b\n",
            4,
            "a list item ('- ') where a 'key: value' line was expected: one section holds"
            " either keys or list items, and '-' needs a space after it",
            id="item-among-keys",
        ),
        pytest.param(
            "people:\n  - key: a\n    name: A\n  name: x\n",
            4,
            "a 'key: value' line where a list item was expected:"
            " indent it like the keys of the item above, or start it with '- '",
            id="key-among-items",
        ),
        pytest.param(
            'timezone: UTC\nname: "Olga" Ivanova\n',
            2,
            "more text after a value that has ended (at a closing quote or bracket):"
            " put the whole value in quotes",
            id="text-after-quotes",
        ),
        pytest.param(
            "timezone: UTC\npeople:\n  - key: a\n    name: [unclosed\n",
            5,
            "the list opened with '[' on line 4 is not closed with ']'"
            " (its items are separated by commas; quote an item that contains one)",
            id="unclosed-list",
        ),
        pytest.param(
            "timezone: UTC\nmatch: {companies: [Acme]\n",
            3,
            "the mapping opened with '{' on line 2 is not closed with '}'"
            " (its items are separated by commas; quote an item that contains one)",
            id="unclosed-mapping",
        ),
        pytest.param(
            "timezone: UTC\nname: Olga: lead\n",
            2,
            "a second ': ' on this line: a value that contains ': ' must be in quotes",
            id="colon-in-value",
        ),
        pytest.param(
            'timezone: UTC\nname: "Olga\nlanguage: en\n',
            2,
            "this quote is never closed",
            id="unclosed-quote",
        ),
        pytest.param(
            "timezone: UTC\ndispatch\n  chat_id: 1\n",
            2,
            "a key without its ':' (write 'key: value', or '- item' in a list)",
            id="missing-colon",
        ),
        pytest.param(
            "timezone: UTC\n\tdispatch: 1\n",
            2,
            "a tab character: indent with spaces only",
            id="tab",
        ),
        pytest.param(
            "timezone: UTC\nname: @olga\n",
            2,
            "a value cannot start with '@': put the value in quotes",
            id="reserved-character",
        ),
        pytest.param(
            "timezone: UTC\nname: *olga\n",
            2,
            "'*olga' refers to an anchor '&olga' that is not defined:"
            " a value that starts with '*' must be in quotes",
            id="undefined-alias",
        ),
        pytest.param(
            'timezone: UTC\npattern: "\\d+"\n',
            2,
            "a backslash in double quotes starts an escape YAML does not know:"
            " use single quotes, or write the backslash twice",
            id="unknown-escape",
        ),
    ],
)
def test_yaml_mistakes_are_said_in_plain_words_at_their_line(
    text: str, line: int, message: str
) -> None:
    assert problems(text) == [f"r.yaml:{line}: <yaml>: {message}"]


def test_a_problem_without_a_line_never_says_line_0(tmp_path: Path) -> None:
    assert (
        str(Problem("r.yaml", 0, "<file>", "file not found")) == "r.yaml: <file>: file not found"
    )
    empty = tmp_path / "empty.yaml"
    empty.write_text("# all commented out\n", encoding="utf-8")
    missing = tmp_path / "missing.yaml"
    for path in (empty, missing):
        [problem] = check_routing(path)
        assert not str(problem).startswith(f"{path}:0"), problem
        assert str(problem).startswith(f"{path}: <")


def test_check_config_prints_them_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "routing.yaml"
    assert main(["check-config", str(missing)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{missing}: <file>: file not found; copy config/routing.example.yaml there and edit it"
    ]
    missing.write_text(edit("    telegram_id: 1002", "    telegram_id: 1002\n    telgram_id: 5"))
    assert main(["check-config", str(missing)]) == 1
    line = line_of(missing.read_text(), "telgram_id")
    assert capsys.readouterr().out.splitlines() == [
        f"{missing}:{line}: people[olga].telgram_id: unknown key; did you mean 'telegram_id'?"
    ]


def test_check_config_checks_the_crm_settings_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("BITRIX24_WEBHOOK_URL", "BITRIX24_CRM_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    path = tmp_path / "routing.yaml"
    path.write_text(ROUTING_YAML + "crm:\n  kind: bitrix24\n", encoding="utf-8")
    assert main(["check-config", str(path)]) == 1
    line = line_of(path.read_text(), "kind: bitrix24")
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:{line}: crm.kind: is bitrix24, but BITRIX24_CRM_WEBHOOK_URL"
        " (or BITRIX24_WEBHOOK_URL) is not set"
    ]
