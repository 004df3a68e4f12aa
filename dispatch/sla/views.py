"""What the SLA feature shows: a ticket's nearest target, warnings, breaches, ``/sla``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from dispatch.sla.policies import SlaTarget

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SlaNote:
    """A ticket's nearest target: time left (negative: overdue), and when it falls due."""

    target: SlaTarget
    left: timedelta
    #: While the clock runs: the moment the target is reached (working hours counted).
    due_at: datetime | None
    paused: bool
    #: First response only: the assignment counts (the helpdesk tells no replies).
    by_assignment: bool = False


@dataclass(frozen=True, slots=True)
class SlaNotice:
    """A warning (``breach`` False) or a breach of one target of one ticket."""

    ticket_id: int
    number: str
    subject: str
    target: SlaTarget
    breach: bool
    #: Time left when the notice was made (negative: overdue).
    left: timedelta
    target_time: timedelta


@dataclass(frozen=True, slots=True)
class AtRisk:
    """A line of ``/sla``: a ticket past its warning, or overdue."""

    ticket_id: int
    number: str
    subject: str
    assignee_name: str | None
    note: SlaNote


class SlaMessages(Protocol):
    """SLA warnings, breaches and ``/sla`` (implemented by the bot adapter)."""

    def sla_warning(self, notice: SlaNotice, *, url: str | None) -> Payload:
        """The assignee's private warning: time left to a target."""

    def sla_digest(self, notices: Sequence[SlaNotice], *, total: int, buttons: bool) -> Payload:
        """Many warnings and breaches for one chat at once, in one message (``notices``:
        the most urgent of ``total``)."""

    def sla_list(self, tickets: Sequence[AtRisk]) -> Payload:
        """``/sla``: tickets at risk and overdue, most urgent first, a button to each card."""
