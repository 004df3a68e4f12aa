"""SLA clocks, the ticket's stage and support line, line hand-overs

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-11 10:00:00

Tickets that exist before the upgrade get the stage "" (worked out at their next
status change) and line 1; their SLA clocks are not started after the fact.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stage", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("line", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "sla_clock",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("policy", sa.String(length=32), nullable=False),
        sa.Column("calendar", sa.String(length=16), nullable=False),
        sa.Column("target_s", sa.Integer(), nullable=False),
        sa.Column("used_s", sa.Integer(), nullable=False),
        sa.Column("since", storage.types.UTCDateTime(), nullable=True),
        sa.Column("done_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("warned", sa.Boolean(), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("by_assignment", sa.Boolean(), nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("due_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("next_check_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("ticket_id", "target"),
    )
    op.create_index("ix_sla_clock_next_check_at", "sla_clock", ["next_check_at"])
    op.create_table(
        "line_handover",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("person_key", sa.String(length=32), nullable=False),
        sa.Column("from_line", sa.Integer(), nullable=False),
        sa.Column("to_line", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.String(), nullable=False),
        sa.Column("department_key", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("done_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["question_id"], ["telegram_message.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_line_handover_ticket_id", "line_handover", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_line_handover_ticket_id", table_name="line_handover")
    op.drop_table("line_handover")
    op.drop_index("ix_sla_clock_next_check_at", table_name="sla_clock")
    op.drop_table("sla_clock")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_column("line")
        batch_op.drop_column("stage")
