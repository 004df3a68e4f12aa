"""PyYAML's syntax errors in plain words, at the line that needs the fix.

PyYAML speaks of tokens (``expected <block end>, but found '<block mapping start>'``);
someone editing a routing file for the first time wants to hear what is wrong with the
line and what to write instead. The common mistakes (indentation, tabs, a ``: `` inside a
value, an unclosed quote or bracket, a key without its colon) get their own sentence; any
other error keeps PyYAML's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml


@dataclass(frozen=True, slots=True)
class Mistake:
    """Where the parser stopped (``problem_line``), where the construct began
    (``context_line``, when PyYAML says), and what it said."""

    problem: str
    problem_line: int
    context: str
    context_line: int | None


_FOUND = re.compile(r"expected <block end>, but found '?(?P<seen>[^']*)'?$")
_FLOW = re.compile(r"expected ',' or '(?P<close>[\]}])', but got '?(?P<got>[^']*)'?$")
_CHARACTER = re.compile(r"found character '(?P<char>.+)' that cannot start any token$")
_OPENERS = {"]": "[", "}": "{"}


def plain(mistake: Mistake) -> tuple[int, str] | None:
    """The line to point at and the sentence for it; None when PyYAML's own words stay."""
    for rule in (_block, _flow, _scanning, _references):
        found = rule(mistake)
        if found is not None:
            return found
    return None


def _block(m: Mistake) -> tuple[int, str] | None:
    found = _FOUND.fullmatch(m.problem)
    if found is None:
        return None
    seen = found["seen"]
    if seen == "<block mapping start>":
        return m.problem_line, (
            "this line is indented differently from the lines above it:"
            " the keys of one section start in the same column"
        )
    if seen == "<block sequence start>":
        return m.problem_line, (
            "this list item is not lined up with the items above it:"
            " every '- ' of one list starts in the same column"
        )
    if seen == "-":
        return m.problem_line, (
            "a list item ('- ') where a 'key: value' line was expected:"
            " one section holds either keys or list items, and '-' needs a space after it"
        )
    if seen == "?":
        return m.problem_line, (
            "a 'key: value' line where a list item was expected:"
            " indent it like the keys of the item above, or start it with '- '"
        )
    if seen in ("<scalar>", "]", "}"):
        return m.problem_line, (
            "more text after a value that has ended (at a closing quote or bracket):"
            " put the whole value in quotes"
        )
    return None


def _flow(m: Mistake) -> tuple[int, str] | None:
    found = _FLOW.fullmatch(m.problem)
    if found is None:
        return None
    close = found["close"]
    opened = f" on line {m.context_line}" if m.context_line is not None else ""
    what = "list" if close == "]" else "mapping"
    return m.problem_line, (
        f"the {what} opened with '{_OPENERS[close]}'{opened} is not closed with '{close}'"
        " (its items are separated by commas; quote an item that contains one)"
    )


def _scanning(m: Mistake) -> tuple[int, str] | None:
    if m.problem == "mapping values are not allowed here":
        return m.problem_line, (
            "a second ': ' on this line: a value that contains ': ' must be in quotes"
        )
    if m.context == "while scanning a quoted scalar" and "end of stream" in m.problem:
        return m.context_line or m.problem_line, "this quote is never closed"
    if m.problem == "could not find expected ':'":
        return m.context_line or m.problem_line, (
            "a key without its ':' (write 'key: value', or '- item' in a list)"
        )
    character = _CHARACTER.fullmatch(m.problem)
    if character is None:
        return None
    if character["char"] == "\\t":
        return m.problem_line, "a tab character: indent with spaces only"
    return m.problem_line, (
        f"a value cannot start with {character['char']!r}: put the value in quotes"
    )


def _references(m: Mistake) -> tuple[int, str] | None:
    if m.problem.startswith("found undefined alias"):
        name = m.problem.rsplit(" ", 1)[-1].strip("'")
        return m.problem_line, (
            f"'*{name}' refers to an anchor '&{name}' that is not defined:"
            " a value that starts with '*' must be in quotes"
        )
    if m.problem.startswith("found unknown escape character"):
        return m.problem_line, (
            "a backslash in double quotes starts an escape YAML does not know:"
            " use single quotes, or write the backslash twice"
        )
    return None


def mistake_of(exc: yaml.MarkedYAMLError) -> Mistake | None:
    """The parts of a PyYAML error the rules read; None without a position."""
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return None
    context_line = exc.context_mark.line + 1 if exc.context_mark is not None else None
    return Mistake(exc.problem or "", mark.line + 1, exc.context or "", context_line)
