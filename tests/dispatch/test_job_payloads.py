"""Job payloads are typed: what the services queue, and jobs queued by the previous version."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dispatch.job_payloads import (
    CreateDevTask,
    FetchTicket,
    HelpdeskNote,
    HelpdeskTime,
    SyncDevTask,
    WriteBack,
)
from dispatch.models import TicketEventKind
from storage.models import JobRow

#: Payloads exactly as the untyped code stored them before (jobs still queued at upgrade).
STORED_BEFORE = [
    (FetchTicket, {"source": "helpdeskeddy", "kind": "ticket.created", "external_id": "41"}),
    (WriteBack, {"ticket_id": 3, "version": 2}),
    (HelpdeskNote, {"ticket_id": 3, "text": "Time spent: 0:30"}),
    (HelpdeskTime, {"ticket_id": 3, "total_minutes": 90}),
    (
        CreateDevTask,
        {"ticket": 3, "statement": "fix", "specialist": "olga", "developer": "petr", "draft": 9},
    ),
    (SyncDevTask, {"task": "77"}),
]


@pytest.mark.parametrize(("model", "payload"), STORED_BEFORE)
def test_a_job_stored_by_the_previous_version_reads_and_stores_the_same(
    model: type[WriteBack], payload: dict[str, object]
) -> None:
    job = JobRow(kind=model.job_kind, payload=payload)
    assert model.of(job).stored() == payload


def test_fields_are_typed_and_the_ticket_is_known() -> None:
    fetch = FetchTicket.of(JobRow(kind="helpdesk.fetch", payload=STORED_BEFORE[0][1]))
    assert fetch.kind is TicketEventKind.CREATED
    assert fetch.ticket_ref() is None
    assert WriteBack(ticket_id=3, version=1).ticket_ref() == 3
    assert CreateDevTask(ticket=5, statement="s", developer="petr", draft=1).ticket_ref() == 5


def test_a_payload_that_does_not_fit_its_kind_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="version"):
        WriteBack.of(JobRow(kind="helpdesk.assign", payload={"ticket_id": 3}))
