"""duplicate monitor: suspected duplicates, charges by payer and time

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 03:30:00
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from storage.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "suspected_duplicates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payer_id", text(length=64), nullable=False),
        sa.Column("original_transaction_id", text(length=64), nullable=False),
        sa.Column("transaction_id", text(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", text(length=3), nullable=False),
        sa.Column("first_paid_at", UTCDateTime(), nullable=False),
        sa.Column("paid_at", UTCDateTime(), nullable=False),
        sa.Column("status", text(length=16), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("detected_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("transaction_id", name="uq_suspected_duplicates_transaction"),
    )
    op.create_index("ix_suspected_duplicates_payer_id", "suspected_duplicates", ["payer_id"])
    op.create_index("ix_suspected_duplicates_paid_at", "suspected_duplicates", ["paid_at"])
    op.create_index("ix_transactions_payer_time", "transactions", ["payer_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_transactions_payer_time", table_name="transactions")
    op.drop_index("ix_suspected_duplicates_paid_at", table_name="suspected_duplicates")
    op.drop_index("ix_suspected_duplicates_payer_id", table_name="suspected_duplicates")
    op.drop_table("suspected_duplicates")
