"""Which SLA targets a ticket gets: the first matching policy, the client's contract over it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from config.routing import RoutingConfig
from config.sla import Calendar
from storage.models import TicketRow


class SlaTarget(StrEnum):
    """What a clock measures."""

    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


@dataclass(frozen=True, slots=True)
class Targets:
    """The policy chosen for a ticket, with the client's override applied."""

    policy: str
    calendar: Calendar
    first_response: timedelta | None
    resolution: timedelta | None

    def of(self, target: SlaTarget) -> timedelta | None:
        """The target's time, if the policy sets one."""
        return self.first_response if target == SlaTarget.FIRST_RESPONSE else self.resolution


def targets_for(routing: RoutingConfig, ticket: TicketRow) -> Targets | None:
    """The targets of ``ticket`` as it is now; None when no policy matches."""
    client = routing.client_for(company=ticket.client_company, email=ticket.client_email)
    policy = routing.sla.policy_for(
        priority=ticket.priority,
        type=ticket.type,
        client=client.key if client else None,
        status=ticket.status,
    )
    if policy is None:
        return None
    contract = client.sla if client is not None else None
    if contract is None:
        return Targets(policy.name, policy.calendar, policy.first_response, policy.resolution)
    return Targets(
        policy.name,
        contract.calendar or policy.calendar,
        contract.first_response or policy.first_response,
        contract.resolution or policy.resolution,
    )
