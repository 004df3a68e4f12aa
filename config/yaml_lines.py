"""Parse YAML while remembering on which line every key and list item starts.

PyYAML's composer keeps a start mark on every node; we walk the node tree once and
record a 1-based line for each path such as ("departments", 0, "members", 1), so that
validation errors about the constructed data can point back into the file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from config.yaml_words import mistake_of, plain

__all__ = [
    "DuplicateKey",
    "Loc",
    "YamlDocument",
    "YamlSyntaxError",
    "entry_names",
    "format_loc",
    "parse_yaml",
]

Loc = tuple[str | int, ...]
_MERGE_TAG = "tag:yaml.org,2002:merge"
#: What an entry's ``key`` looks like (``config.sections.Key``): only such keys name it.
_ENTRY_KEY = re.compile(r"[a-z0-9_-]{1,20}")


class YamlSyntaxError(Exception):
    """The text is not a single well-formed YAML document."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class DuplicateKey:
    """A mapping key given twice; like PyYAML, the later value is the one used."""

    loc: Loc
    line: int
    first_line: int


@dataclass(frozen=True)
class YamlDocument:
    """Plain data as `yaml.safe_load` would return it, plus where each path starts."""

    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    duplicates: tuple[DuplicateKey, ...] = ()

    def line_of(self, loc: Loc) -> int:
        """Line of `loc`, or of its nearest ancestor present in the file (0: none)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return 0


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document with the safe loader; raise YamlSyntaxError if malformed."""
    try:
        # The reader checks for forbidden characters already in the constructor.
        loader = yaml.SafeLoader(text)
        try:
            return _load(loader)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text) from exc


def _load(loader: yaml.SafeLoader) -> YamlDocument:
    node = loader.get_single_node()
    if node is None:
        return YamlDocument(data=None)
    walker = _Walker()
    # Walk before constructing: construction flattens `<<` merges in place.
    walker.walk(node, ())
    data = loader.construct_document(node)
    return YamlDocument(data=data, lines=walker.lines, duplicates=tuple(walker.duplicates))


def format_loc(loc: Loc, names: Mapping[Loc, str] | None = None) -> str:
    """Render a path like `people[olga].telegram_id` (`<root>` for the document).

    A list item is named by its key when ``names`` has one for it (``entry_names``),
    else by its position: `departments[0].members[1]`.
    """
    text = ""
    for end, part in enumerate(loc, start=1):
        # bool is an int too, but a YAML key like `on:` is not a list index.
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{(names or {}).get(loc[:end], part)}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "<root>"


def entry_names(data: object) -> dict[Loc, str]:
    """The list items that can be named by their ``key`` (a valid key, unique in its list).

    ``{("people", 1): "olga"}``: problems then say `people[olga].telegram_id`.
    """
    names: dict[Loc, str] = {}
    active: set[int] = set()  # aliases may make the data recursive

    def walk(value: object, loc: Loc) -> None:
        if id(value) in active or not isinstance(value, dict | list | tuple):
            return
        active.add(id(value))
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str):
                    walk(item, (*loc, key))
        else:
            keys = [item.get("key") if isinstance(item, dict) else None for item in value]
            counts = Counter(keys)
            for index, item in enumerate(value):
                key = keys[index]
                if isinstance(key, str) and _ENTRY_KEY.fullmatch(key) and counts[key] == 1:
                    names[(*loc, index)] = key
                walk(item, (*loc, index))
        active.discard(id(value))

    walk(data, ())
    return names


class _Walker:
    """Collects start lines of mapping keys and sequence items, and duplicate keys."""

    def __init__(self) -> None:
        self.lines: dict[Loc, int] = {}
        self.duplicates: list[DuplicateKey] = []
        # Aliases may make the graph recursive; never re-enter a node being walked.
        self._active: set[int] = set()

    def walk(self, node: Node, loc: Loc) -> None:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if id(node) in self._active:
            return
        self._active.add(id(node))
        if isinstance(node, MappingNode):
            self._walk_mapping(node, loc)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, (*loc, index))
        self._active.discard(id(node))

    def _walk_mapping(self, node: MappingNode, loc: Loc) -> None:
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key: str = key_node.value
            path = (*loc, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                self.duplicates.append(DuplicateKey(path, line, seen[key]))
                # The later value wins, so its lines are the ones to report.
                self._forget(path)
            seen[key] = line
            # A key's line, not its value's: `dispatch:` rather than the line below it.
            self.lines[path] = line
            self.walk(value_node, path)

    def _forget(self, prefix: Loc) -> None:
        for path in [path for path in self.lines if path[: len(prefix)] == prefix]:
            del self.lines[path]


def _syntax_error(exc: yaml.YAMLError, text: str) -> YamlSyntaxError:
    """Describe a PyYAML error in one line, at the line where the parser stopped."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mistake = mistake_of(exc)
        said = plain(mistake) if mistake is not None else None
        if said is not None:
            return YamlSyntaxError(*said)
        mark = exc.problem_mark or exc.context_mark
        # PyYAML phrases some problems as a continuation: "but found another document".
        message = (exc.problem or "").removeprefix("but ") or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark is not None:
            message += f" ({exc.context} started on line {exc.context_mark.line + 1})"
        return YamlSyntaxError(mark.line + 1 if mark is not None else 1, message)
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return YamlSyntaxError(
            line,
            f"a character YAML does not allow (U+{exc.character:04X}, invisible) is here:"
            " delete it",
        )
    return YamlSyntaxError(1, str(exc).splitlines()[0] if str(exc) else "invalid YAML")
