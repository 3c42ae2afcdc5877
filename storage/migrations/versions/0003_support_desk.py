"""support desk

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 13:29:21.338649
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from storage.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    op.create_table(
        "agent_prompts",
        sa.Column("agent_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("agent_id"),
    )
    op.create_table(
        "support_cards",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("with_photo", sa.Boolean(), nullable=False),
        sa.Column("assigned_to", sa.BigInteger(), nullable=True),
        sa.Column("assigned_name", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
        sa.Column("last_actor_name", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
        sa.Column("shown_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("touched_at", UTCDateTime(), nullable=False),
        sa.Column("sla_pings", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
        ),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    with op.batch_alter_table("support_cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_cards_touched_at"), ["touched_at"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default="send"
            )
        )
        batch_op.add_column(
            sa.Column("photo_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("ticket_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("thread_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("parse_mode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_column("method")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("parse_mode")
        batch_op.drop_column("thread_id")
        batch_op.drop_column("ticket_id")
        batch_op.drop_column("action")
        batch_op.drop_column("photo_sha256")

    with op.batch_alter_table("support_cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_cards_touched_at"))

    op.drop_table("support_cards")
    op.drop_table("agent_prompts")
