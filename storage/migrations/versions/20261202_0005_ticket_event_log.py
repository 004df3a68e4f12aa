"""ticket event log, ticket channel; backfill of the history of existing tickets

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 17:20:00

The backfill writes, for every ticket that exists before the upgrade, what its
rows still tell: created, assigned, closed, each time entry and each developer
task (created, done). They carry ``source = backfill`` so a reader can tell
them from events recorded as they happened.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=32), nullable=False, server_default="")
        )
    event = op.create_table(
        "ticket_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ticket_event_ticket_id", "ticket_event", ["ticket_id", "id"])
    op.create_index("ix_ticket_event_kind_at", "ticket_event", ["kind", "at"])
    _backfill(op.get_bind(), event)


def downgrade() -> None:
    op.drop_index("ix_ticket_event_kind_at", table_name="ticket_event")
    op.drop_index("ix_ticket_event_ticket_id", table_name="ticket_event")
    op.drop_table("ticket_event")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("channel")


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _event(ticket_id: int, at: datetime, kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "at": at,
        "kind": kind,
        "actor_kind": fields.get("actor_kind", "system"),
        "actor": fields.get("actor"),
        "source": "backfill",
        "changes": fields.get("changes", {}),
        "detail": fields.get("detail", {}),
    }


def _ticket_events(row: Any) -> Iterator[dict[str, Any]]:
    created = _aware(row.created_at) or _aware(row.received_at)
    assert created is not None
    yield _event(row.id, created, "created", actor_kind="helpdesk")
    assigned_at = _aware(row.assigned_at)
    if assigned_at is not None and (row.assignee_key or row.helpdesk_assignee):
        by_helpdesk = row.assigned_by in (None, "helpdesk")
        yield _event(
            row.id,
            assigned_at,
            "assigned",
            actor_kind="helpdesk" if by_helpdesk else "person",
            actor=None if by_helpdesk else row.assigned_by,
            changes={
                "assignee": [None, row.assignee_key],
                "department": [None, row.department_key],
            },
            detail={"how": "helpdesk" if by_helpdesk else "button"},
        )
    closed_at = _aware(row.closed_at)
    if row.state == "closed" and closed_at is not None:
        yield _event(row.id, closed_at, "closed", actor_kind="helpdesk")


def _backfill(bind: Any, event: sa.Table) -> None:
    per_ticket: dict[int, list[dict[str, Any]]] = {}
    tickets = bind.execute(
        sa.text(
            "SELECT id, created_at, received_at, assigned_at, assigned_by, assignee_key,"
            " helpdesk_assignee, department_key, state, closed_at FROM ticket"
        )
    )
    for row in tickets:
        per_ticket[row.id] = list(_ticket_events(row))
    entries = bind.execute(
        sa.text(
            "SELECT ticket_id, round, person_key, minutes, billable, created_at"
            " FROM time_entry ORDER BY id"
        )
    )
    for row in entries:
        per_ticket.setdefault(row.ticket_id, []).append(
            _event(
                row.ticket_id,
                _aware(row.created_at) or datetime.now(UTC),
                "time_recorded",
                actor_kind="person",
                actor=row.person_key,
                detail={
                    "minutes": row.minutes,
                    "billable": bool(row.billable),
                    "round": row.round,
                },
            )
        )
    tasks = bind.execute(
        sa.text(
            "SELECT ticket_id, tracker, external_id, specialist_key, closed, created_at, updated_at"
            " FROM dev_task ORDER BY id"
        )
    )
    for row in tasks:
        detail = {"tracker": row.tracker, "task": row.external_id}
        created = _aware(row.created_at) or datetime.now(UTC)
        events = per_ticket.setdefault(row.ticket_id, [])
        actor = {"actor_kind": "person", "actor": row.specialist_key} if row.specialist_key else {}
        events.append(_event(row.ticket_id, created, "dev_task_created", detail=detail, **actor))
        if row.closed:
            done = _aware(row.updated_at) or created
            events.append(_event(row.ticket_id, done, "dev_task_done", detail=detail))
    batch: list[dict[str, Any]] = []
    for ticket_id in sorted(per_ticket):
        batch.extend(sorted(per_ticket[ticket_id], key=lambda e: e["at"]))
        if len(batch) >= _BATCH:
            bind.execute(event.insert(), batch)
            batch = []
    if batch:
        bind.execute(event.insert(), batch)
