"""A ticket as a line of a list: the few columns ``/queue`` and ``/mine`` show.

The lists read up to a hundred tickets at a time; reading them as these plain rows
instead of whole ``TicketRow`` objects (thirty columns, the body among them, each an
ORM identity to build) is most of what a list costs to read.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlmodel import col

from storage.models import TicketRow


@dataclass(frozen=True, slots=True)
class TicketLine:
    """One ticket of a list, as it is stored."""

    id: int
    number: str
    subject: str
    received_at: datetime
    #: The stage of the status model (``config.sla.Stage``), "" when none is set.
    stage: str


@functools.cache
def line_columns() -> Select[Any]:
    """``SELECT`` of a line's columns from ``ticket`` (built once; callers add the rest)."""
    return select(
        col(TicketRow.id),
        col(TicketRow.number),
        col(TicketRow.subject),
        col(TicketRow.received_at),
        col(TicketRow.stage),
    )


def lines_of(rows: Sequence[Any]) -> list[TicketLine]:
    """The result rows of a :func:`line_columns` query as lines."""
    return [TicketLine(*row) for row in rows]
