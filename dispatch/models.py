"""Domain values of the dispatch lifecycle.

The helpdesk vocabulary (``TicketData``, ``HelpdeskEvent``, ...) lives in
:mod:`connectors.types` and is re-exported here for the dispatch services.
Persistence lives in ``storage``; rendering in ``bot``.
"""

from __future__ import annotations

from enum import StrEnum

from connectors.types import Client, HelpdeskEvent, Reply, ReplyAuthor, TicketData, TicketEventKind

__all__ = [
    "Client",
    "HelpdeskEvent",
    "Reply",
    "ReplyAuthor",
    "TicketData",
    "TicketEventKind",
    "TicketState",
    "WritebackState",
]


class TicketState(StrEnum):
    """Where a ticket is in Modest's dispatch lifecycle."""

    UNASSIGNED = "unassigned"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class WritebackState(StrEnum):
    """Whether an assignment made in Modest has reached the helpdesk."""

    NONE = "none"
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
