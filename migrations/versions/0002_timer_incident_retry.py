"""timer incidents: status and the county bureau's retries

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 19:00:00
"""

from alembic import op
import sqlalchemy as sa
import engine.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timer_incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status", sa.String(length=16), server_default="open", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "retried_at", engine.models.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("retried_by", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("retries", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("timer_incidents", schema=None) as batch_op:
        batch_op.drop_column("retries")
        batch_op.drop_column("retried_by")
        batch_op.drop_column("retried_at")
        batch_op.drop_column("status")
