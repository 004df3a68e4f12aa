"""What each background job carries: one frozen model per job kind.

The job table stores a payload as JSON; these models are the only way the
dispatch services write or read one, so a job's fields are named and typed in
one place. Field names are the stored keys, so jobs queued by an older version
still read.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from dispatch.models import TicketEventKind
from storage.db import UnitOfWork
from storage.models import JobRow


class JobPayload(BaseModel):
    """Base of the job payloads; ``job_kind`` is the stored ``job.kind``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    job_kind: ClassVar[str]

    @classmethod
    def of(cls, job: JobRow) -> Self:
        """Read a stored job's payload (a ValidationError if it does not fit)."""
        return cls.model_validate(job.payload)

    def ticket_ref(self) -> int | None:
        """The ticket the job is about, if it has one yet."""
        return None

    def stored(self) -> dict[str, Any]:
        """The payload as the job table keeps it."""
        return self.model_dump(mode="json")


class _OnTicket(JobPayload):
    ticket_id: int

    def ticket_ref(self) -> int | None:
        return self.ticket_id


class FetchTicket(JobPayload):
    """Read a ticket a webhook named from the helpdesk, then apply the event."""

    job_kind: ClassVar[str] = "helpdesk.fetch"
    source: str
    kind: TicketEventKind
    external_id: str
    #: The dispatch chat's notice (a message row) when this read retries a failed one.
    notice: int | None = None

    def stored(self) -> dict[str, Any]:
        """The payload as the job table keeps it (no ``notice`` on a first read)."""
        return self.model_dump(mode="json", exclude_none=True)


class WriteBack(_OnTicket):
    """Write an assignment made in Modest to the helpdesk (``version``: which one)."""

    job_kind: ClassVar[str] = "helpdesk.assign"
    version: int


class HelpdeskNote(_OnTicket):
    """An internal note in the helpdesk ticket."""

    job_kind: ClassVar[str] = "helpdesk.note"
    text: str


class HelpdeskStatus(_OnTicket):
    """The ticket's status in the helpdesk."""

    job_kind: ClassVar[str] = "helpdesk.status"
    status: str


class HelpdeskTime(_OnTicket):
    """The ticket's total time spent, in the helpdesk's own field."""

    job_kind: ClassVar[str] = "helpdesk.time"
    total_minutes: int


class CreateDevTask(JobPayload):
    """Create a developer task in the tracker for a ticket (``draft``: the question row)."""

    job_kind: ClassVar[str] = "tracker.create"
    ticket: int
    statement: str
    specialist: str | None = None
    developer: str
    draft: int

    def ticket_ref(self) -> int | None:
        return self.ticket


class SyncDevTask(JobPayload):
    """Read one tracker task again (a tracker event named it)."""

    job_kind: ClassVar[str] = "tracker.sync"
    task: str


class CrmEnrich(_OnTicket):
    """Look the ticket's requester up in the CRM and show who they are on the card."""

    job_kind: ClassVar[str] = "crm.enrich"


class CrmNote(_OnTicket):
    """A note on the CRM timeline of the requester's company, for one close (``round``)."""

    job_kind: ClassVar[str] = "crm.note"
    round: int


class CrmPackageCheck(JobPayload):
    """A CRM client's package thresholds in a month, against its contract read afresh."""

    job_kind: ClassVar[str] = "crm.package"
    client_key: str
    month: str


def enqueue(uow: UnitOfWork, job: JobPayload) -> None:
    """Queue ``job`` in ``uow``'s transaction; it runs after the commit."""
    uow.jobs.enqueue(kind=job.job_kind, payload=job.stored(), ticket_id=job.ticket_ref())
