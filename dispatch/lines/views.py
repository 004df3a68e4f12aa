"""What the support-line feature shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from config.routing import Department, RoutingConfig

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class HandoverNote:
    """On the card of a ticket passed on: from which line, by whom, why."""

    from_line: int
    by_name: str
    department_name: str | None
    comment: str


@dataclass(frozen=True, slots=True)
class LineQuestion:
    """The specialist's question message: which department of the next line."""

    handover_id: int
    number: str
    subject: str
    to_line: int
    comment: str
    #: Set once the ticket has been passed on (the question then has no buttons).
    passed_to: str | None = None


class LineMessages(Protocol):
    """The hand-over in the specialist's private chat (implemented by the bot adapter)."""

    def line_question(self, question: LineQuestion, departments: Sequence[Department]) -> Payload:
        """Choose the department of the next line; a reply adds a comment."""


def uses_lines(routing: RoutingConfig) -> bool:
    """Whether the routing file puts any department above line 1."""
    return any(department.line > 1 for department in routing.departments)


def next_line_departments(routing: RoutingConfig, line: int) -> list[Department]:
    """The departments a ticket on ``line`` can be passed to."""
    return [department for department in routing.departments if department.line == line + 1]


def line_departments(routing: RoutingConfig, line: int) -> Sequence[Department]:
    """The departments a card offers: all on line 1, that line's once passed on (all
    again if the routing file no longer has a department on that line)."""
    on_line = [department for department in routing.departments if department.line == line]
    return on_line if line > 1 and on_line else routing.departments
