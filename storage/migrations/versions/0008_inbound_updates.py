"""webhook mode: Telegram updates recorded on arrival, handled after

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 07:30:00
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.create_index("ix_inbound_updates_handled_at", "inbound_updates", ["handled_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_updates_handled_at", table_name="inbound_updates")
    op.drop_table("inbound_updates")
