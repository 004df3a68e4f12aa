"""outbox: the message a send replies to is a column, not a payload key

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 17:40:00

Rows still waiting at the upgrade keep their reply: ``payload.reply_to_row`` moves
into ``reply_to_id``.
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply_to_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_outbox_reply_to_id_telegram_message", "telegram_message", ["reply_to_id"], ["id"]
        )
    bind = op.get_bind()
    waiting = bind.execute(
        sa.text("SELECT id, payload FROM outbox WHERE status IN ('pending', 'sending')")
    ).all()
    for row_id, raw in waiting:
        payload = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
        if "reply_to_row" not in payload:
            continue
        reply_to = payload.pop("reply_to_row")
        bind.execute(
            sa.text(
                "UPDATE outbox SET reply_to_id = :reply_to, payload = :payload WHERE id = :id"
            ),
            {"reply_to": int(reply_to), "payload": json.dumps(payload), "id": row_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint("fk_outbox_reply_to_id_telegram_message", type_="foreignkey")
        batch_op.drop_column("reply_to_id")
