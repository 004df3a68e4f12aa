"""crm: look-ups kept between calls, tickets' requesters in the CRM, timeline notes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_cache",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("fetched_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "ticket_crm",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("contact_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("company_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("requester", sa.JSON(), nullable=False),
        sa.Column("looked_up_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    with op.batch_alter_table("ticket_crm", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_crm_company_id"), ["company_id"], unique=False)
    op.create_table(
        "crm_note",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("company_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("note_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("written_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("ticket_id", "round"),
    )


def downgrade() -> None:
    op.drop_table("crm_note")
    with op.batch_alter_table("ticket_crm", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_crm_company_id"))
    op.drop_table("ticket_crm")
    op.drop_table("crm_cache")
