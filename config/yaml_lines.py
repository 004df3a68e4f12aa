"""Parse YAML while remembering on which line every key and list item starts.

PyYAML's composer keeps a start mark on every node; we walk the node tree once and
record a 1-based line for each path such as ("departments", 0, "members", 1), so that
validation errors about the constructed data can point back into the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["DuplicateKey", "Loc", "YamlDocument", "YamlSyntaxError", "format_loc", "parse_yaml"]

Loc = tuple[str | int, ...]
_MERGE_TAG = "tag:yaml.org,2002:merge"


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


def format_loc(loc: Loc) -> str:
    """Render a path like `departments[0].members[1]` (`<root>` for the document)."""
    text = ""
    for part in loc:
        # bool is an int too, but a YAML key like `on:` is not a list index.
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "<root>"


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
        mark = exc.problem_mark or exc.context_mark
        # PyYAML phrases some problems as a continuation: "but found another document".
        message = (exc.problem or "").removeprefix("but ") or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.context_mark is not None:
            message += f" ({exc.context} started on line {exc.context_mark.line + 1})"
        return YamlSyntaxError(mark.line + 1 if mark is not None else 0, message)
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return YamlSyntaxError(line, f"character #x{exc.character:04x} is not allowed")
    return YamlSyntaxError(0, str(exc).splitlines()[0] if str(exc) else "invalid YAML")
