"""merchant broadcasts: broadcasts, drafts, payers' tip subscription, outbox rows of a broadcast

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 04:00:00
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from storage.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", text(length=16), nullable=False),
        sa.Column("source", text(length=16), nullable=False),
        sa.Column("tip_number", sa.Integer(), nullable=True),
        sa.Column("text_en", text(length=4096), nullable=True),
        sa.Column("text_zh", text(length=4096), nullable=True),
        sa.Column("audience", text(length=8), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("scheduled_at", UTCDateTime(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_broadcasts_status", "broadcasts", ["status"])
    op.create_index("ix_broadcasts_scheduled_at", "broadcasts", ["scheduled_at"])
    op.create_table(
        "broadcast_drafts",
        sa.Column("merchant_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("step", text(length=16), nullable=False),
        sa.Column("tip_number", sa.Integer(), nullable=True),
        sa.Column("text_en", text(length=4096), nullable=True),
        sa.Column("text_zh", text(length=4096), nullable=True),
        sa.Column("audience", text(length=8), nullable=True),
        sa.Column("scheduled_at", UTCDateTime(), nullable=True),
        sa.Column("key", text(length=16), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id"),
    )
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("tips", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("tips_asked", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("broadcast_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_outbox_broadcast_id", ["broadcast_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_broadcast_id")
        batch_op.drop_column("broadcast_id")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("tips_asked")
        batch_op.drop_column("tips")
    op.drop_table("broadcast_drafts")
    op.drop_index("ix_broadcasts_scheduled_at", table_name="broadcasts")
    op.drop_index("ix_broadcasts_status", table_name="broadcasts")
    op.drop_table("broadcasts")
