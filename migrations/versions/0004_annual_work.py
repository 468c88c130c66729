"""annual work: yearly household data, yearly runs, standing reminders

Revision ID: 0004
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import engine.models

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "household_years",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("updated_on", sa.Date(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("household_id", "year"),
    )
    with op.batch_alter_table("household_years") as batch_op:
        batch_op.create_index(
            "ix_household_years_household_id", ["household_id"], unique=False
        )

    op.create_table(
        "yearly_runs",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("started_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("finished_at", engine.models.UTCDateTime(), nullable=True),
        sa.Column("cases_started", sa.Integer(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )

    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("text", sa.String(length=255), nullable=False),
        sa.Column("created_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("closed_at", engine.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "year"),
    )


def downgrade() -> None:
    op.drop_table("reminders")
    op.drop_table("yearly_runs")
    op.drop_table("household_years")
