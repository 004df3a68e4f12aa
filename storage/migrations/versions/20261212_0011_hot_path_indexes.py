"""hot path indexes: /queue and /mine in order, the oldest outbox row, the prune

``/queue`` (the unassigned tickets, oldest first) and ``/mine`` (a person's open tickets,
oldest first) read their first 100 tickets from ``(state, received_at)`` and
``(assignee_key, state, received_at)`` instead of sorting every match; the first replaces
the single-column ``ix_ticket_state``, a prefix of it. ``(status, created_at)`` on the
outbox finds the oldest undelivered row (``/healthz``) and the delivered rows old enough
to prune, and on jobs the done ones, without a walk over every row of that status.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-12 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ticket_state_received_at", "ticket", ["state", "received_at"])
    op.create_index(
        "ix_ticket_assignee_state_received_at", "ticket", ["assignee_key", "state", "received_at"]
    )
    op.drop_index("ix_ticket_state", table_name="ticket")
    op.create_index("ix_outbox_status_created_at", "outbox", ["status", "created_at"])
    op.create_index("ix_job_status_created_at", "job", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_job_status_created_at", table_name="job")
    op.drop_index("ix_outbox_status_created_at", table_name="outbox")
    op.create_index("ix_ticket_state", "ticket", ["state"])
    op.drop_index("ix_ticket_assignee_state_received_at", table_name="ticket")
    op.drop_index("ix_ticket_state_received_at", table_name="ticket")
