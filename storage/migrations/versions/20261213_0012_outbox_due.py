"""outbox due index: whether anything may go now, without finding every chat's head

``(status, not_before)`` answers "when may the first pending row go" with one index seek.
The sender asks it before looking for each chat's head: after an outage every chat's head
waits out a backoff, and a pass found them all (in 50 chats, ~2 ms on PostgreSQL behind
100,000 held rows) only to send none.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-13 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_status_not_before", "outbox", ["status", "not_before"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status_not_before", table_name="outbox")
