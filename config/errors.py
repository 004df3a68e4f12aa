"""Errors raised while loading Modest's configuration."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class ConfigError(Exception):
    """The configuration (environment or routing file) is unusable.

    The message is meant for the operator: one line per problem, each naming
    the environment variable or the file position to fix, never a secret value.
    """


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a routing file, pinned to a line (0 when there is none: the file
    is missing or empty, and the line is then left out)."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line > 0 else self.file
        return f"{where}: {self.field}: {self.message}"


class RoutingConfigError(ConfigError):
    """The routing file is missing, is not valid YAML or fails validation."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))
