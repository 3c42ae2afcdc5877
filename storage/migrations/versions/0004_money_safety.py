"""money safety: refund attempts with fixed keys, one live refund per charge, payer links

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 01:05:00
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NOT_FAILED = sa.text("status <> 'failed'")


def upgrade() -> None:
    op.create_table(
        "payer_links",
        sa.Column("payer_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("payer_id", "telegram_user_id"),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint("uq_refunds_ticket_id", type_="unique")
        batch_op.drop_constraint("uq_refunds_reference", type_="unique")
        batch_op.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(
            sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(sa.Column("next_attempt_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("requests_sent", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE refunds SET idempotency_key = reference")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.alter_column(
            "idempotency_key", existing_type=sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False
        )
        batch_op.create_unique_constraint("uq_refunds_idempotency_key", ["idempotency_key"])
        batch_op.create_unique_constraint("uq_refunds_ticket_attempt", ["ticket_id", "attempt"])
        batch_op.create_index("ix_refunds_ticket_id", ["ticket_id"], unique=False)
        batch_op.create_index("ix_refunds_next_attempt_at", ["next_attempt_at"], unique=False)
    # Partial unique indexes: a charge, and a ticket, have at most one refund that has not failed.
    op.create_index(
        "uq_refunds_live_charge", "refunds", ["transaction_id"], unique=True,
        sqlite_where=NOT_FAILED, postgresql_where=NOT_FAILED,
    )
    op.create_index(
        "uq_refunds_live_ticket", "refunds", ["ticket_id"], unique=True,
        sqlite_where=NOT_FAILED, postgresql_where=NOT_FAILED,
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "payer_check", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                server_default="unnamed",
            )
        )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uploaded_by", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_evidence_uploaded_by", ["uploaded_by"], unique=False)
    with op.batch_alter_table("agent_prompts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draft", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True))
    with op.batch_alter_table("processed_updates", schema=None) as batch_op:
        batch_op.create_index("ix_processed_updates_processed_at", ["processed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("processed_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_processed_updates_processed_at")
    with op.batch_alter_table("agent_prompts", schema=None) as batch_op:
        batch_op.drop_column("draft")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_uploaded_by")
        batch_op.drop_column("uploaded_by")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("payer_check")
    op.drop_index("uq_refunds_live_ticket", table_name="refunds")
    op.drop_index("uq_refunds_live_charge", table_name="refunds")
    # Only the latest attempt of each ticket survives the way back to one refund per ticket.
    op.execute(
        "DELETE FROM refunds WHERE attempt < (SELECT MAX(r.attempt) FROM refunds r "
        "WHERE r.ticket_id = refunds.ticket_id)"
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_refunds_next_attempt_at")
        batch_op.drop_index("ix_refunds_ticket_id")
        batch_op.drop_constraint("uq_refunds_ticket_attempt", type_="unique")
        batch_op.drop_constraint("uq_refunds_idempotency_key", type_="unique")
        batch_op.drop_column("requests_sent")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("idempotency_key")
        batch_op.drop_column("attempt")
        batch_op.create_unique_constraint("uq_refunds_reference", ["reference"])
        batch_op.create_unique_constraint("uq_refunds_ticket_id", ["ticket_id"])
    op.drop_table("payer_links")
