"""deadlines: warning times on open tasks and timers, escalations

Revision ID: 0005
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import engine.models

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("open_tasks") as batch_op:
        batch_op.add_column(
            sa.Column("warn_at", engine.models.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("waiting_timers") as batch_op:
        batch_op.add_column(
            sa.Column("warn_at", engine.models.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("instances") as batch_op:
        batch_op.add_column(
            sa.Column(
                "escalations_open", sa.Integer(), server_default="0", nullable=False
            )
        )

    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.String(length=64), nullable=False),
        sa.Column("deadline_title", sa.String(length=128), nullable=False),
        sa.Column("step_task_id", sa.String(length=36), nullable=False),
        sa.Column("step_name", sa.String(length=64), nullable=False),
        sa.Column("step_title", sa.String(length=128), nullable=False),
        sa.Column("step_role", sa.String(length=32), nullable=False),
        sa.Column("due_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("opened_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("climb_at", engine.models.UTCDateTime(), nullable=True),
        sa.Column("climb_every_seconds", sa.Integer(), nullable=False),
        sa.Column("supervised_at", engine.models.UTCDateTime(), nullable=True),
        sa.Column("supervised_by", sa.String(length=64), nullable=True),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("closed_at", engine.models.UTCDateTime(), nullable=True),
        sa.Column("closed_reason", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("escalations") as batch_op:
        batch_op.create_index("ix_escalations_climb_at", ["climb_at"], unique=False)
        batch_op.create_index(
            "ix_escalations_instance_id", ["instance_id"], unique=False
        )
        batch_op.create_index(
            "ix_escalations_role_division", ["role", "division_code"], unique=False
        )


def downgrade() -> None:
    op.drop_table("escalations")
    with op.batch_alter_table("instances") as batch_op:
        batch_op.drop_column("escalations_open")
    with op.batch_alter_table("waiting_timers") as batch_op:
        batch_op.drop_column("warn_at")
    with op.batch_alter_table("open_tasks") as batch_op:
        batch_op.drop_column("warn_at")
