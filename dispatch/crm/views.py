"""The CRM block of a ticket's card, as the bot renders it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CrmCard:
    """Who wrote, from which company, under which contract; ``found`` False: not in the CRM.

    Minutes are this month's: ``used_minutes`` None when the ticket is billed to no
    client; ``package_minutes`` None without a package (unlimited, or no contract).
    """

    found: bool
    requester_name: str = ""
    position: str = ""
    company_name: str | None = None
    company_url: str | None = None
    has_contract: bool = False
    contract_number: str = ""
    package_minutes: int | None = None
    used_minutes: int | None = None
    overage_minutes: int = 0
    portal: str = ""
    manager_name: str | None = None
