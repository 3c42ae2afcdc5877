"""forgetting a payer: the key of their pending /forget confirmation

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 05:00:00
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("forget_key", text(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("forget_key")
