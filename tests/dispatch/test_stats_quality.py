"""The quality check's matching: whole words in any case, Cyrillic included; patterns; excerpts."""

from __future__ import annotations

from pathlib import Path

from config.quality import QualitySection
from config.routing import check_routing
from dispatch.stats.quality import ForbiddenWords, excerpt
from tests.support.routing import ROUTING_YAML


def words(*found: str, patterns: tuple[str, ...] = ()) -> ForbiddenWords:
    return ForbiddenWords(QualitySection(forbidden_words=found, forbidden_patterns=patterns))


def test_words_match_whole_words_in_any_case() -> None:
    check = words("блин", "не моя проблема", "ok")
    assert [h.term for h in check.find("БЛИН! Блин, блин-то")] == ["блин"] * 3
    assert check.find("блинчик, оближи, Блинов") == []
    assert [h.term for h in check.find("Это  не\nМОЯ   проблема.")] == ["не моя проблема"]
    assert check.find("broken, okay") == []
    assert [h.term for h in check.find("It is OK.")] == ["ok"]


def test_patterns_catch_inflected_forms() -> None:
    check = words(patterns=(r"дурак\w*", r"\bидиот(ы|ов|ам)?\b"))
    text = "Дураков нет, дураки есть; идиотов тоже, идиотизм — нет"
    assert [text[h.start : h.end] for h in check.find(text)] == ["Дураков", "дураки", "идиотов"]


def test_the_excerpt_marks_every_match_around_the_first() -> None:
    text = "Начало. " + "x" * 100 + " Ну блин,\nопять блин. " + "y" * 200
    check = words("блин")
    shown = excerpt(text, check.find(text))
    marked = [piece for piece, hit in shown.pieces if hit]
    assert marked == ["блин", "блин"]
    assert shown.pieces[0] == ("…", False)
    assert shown.pieces[-1] == ("…", False)
    assert "\n" not in shown.plain
    assert len(shown.plain) < 200


def test_overlapping_matches_are_marked_once() -> None:
    check = words("блин", patterns=(r"ну\s+блин",))
    text = "ну блин же"
    hits = check.find(text)
    assert [(h.term, text[h.start : h.end]) for h in hits] == [(r"ну\s+блин", "ну блин")]


def test_bad_words_and_patterns_are_reported_with_their_lines(tmp_path: Path) -> None:
    config = tmp_path / "routing.yaml"
    config.write_text(
        ROUTING_YAML
        + "quality:\n"
        + "  forbidden_words: [блин, '!!']\n"
        + "  forbidden_patterns:\n"
        + "    - 'ok\\w+'\n"
        + "    - '(unclosed'\n"
        + "    - 'x*'\n",
        encoding="utf-8",
    )
    problems = [str(problem) for problem in check_routing(config)]
    lines = len(ROUTING_YAML.splitlines())
    assert problems == [
        f"{config}:{lines + 2}: quality.forbidden_words[1]: "
        "'!!' has no letters or digits to match",
        f"{config}:{lines + 5}: quality.forbidden_patterns[1]: invalid regular expression: "
        "missing ), unterminated subpattern at position 0",
        f"{config}:{lines + 6}: quality.forbidden_patterns[2]: "
        "matches empty text, so it would match every reply",
    ]
