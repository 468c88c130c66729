"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-12-04 17:06:01.637202
"""

from alembic import op
import sqlalchemy as sa
import engine.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clock_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("offset_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "divisions",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("parent_code", sa.String(length=12), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("divisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_divisions_parent_code"), ["parent_code"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("stream", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("task_name", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("stream", "seq"),
    )
    op.create_table(
        "model_versions",
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("process_id", sa.String(length=64), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("spec_json", sa.Text(), nullable=False),
        sa.Column(
            "deployed_at", engine.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("deployed_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("content_hash"),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_versions_process_id"), ["process_id"], unique=False
        )

    op.create_table(
        "monitoring_lines",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("head_name", sa.String(length=64), nullable=False),
        sa.Column("head_id_number", sa.String(length=18), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("bank_account", sa.String(length=32), nullable=True),
        sa.Column("lifted_out", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_before", sa.String(length=32), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("identified_on", sa.Date(), nullable=True),
        sa.Column("green_channel_on", sa.Date(), nullable=True),
        sa.Column("eliminated_on", sa.Date(), nullable=True),
        sa.Column("safety_net_household", sa.Boolean(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["division_code"],
            ["divisions.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("head_id_number"),
    )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_households_division_code"), ["division_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_households_status"), ["status"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("display_name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column(
            "locked_until", engine.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["division_code"],
            ["divisions.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "household_members",
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
        ),
        sa.PrimaryKeyConstraint("id_number"),
    )
    with op.batch_alter_table("household_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_members_household_id"),
            ["household_id"],
            unique=False,
        )

    op.create_table(
        "instances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=64), nullable=False),
        sa.Column("model_hash", sa.String(length=64), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("current_step", sa.String(length=255), nullable=False),
        sa.Column(
            "started_at", engine.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", engine.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "completed_at", engine.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
        ),
        sa.ForeignKeyConstraint(
            ["model_hash"],
            ["model_versions.content_hash"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_instances_division_code"), ["division_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_instances_household_id"), ["household_id"], unique=False
        )

    op.create_table(
        "open_tasks",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("task_name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("form", sa.String(length=128), nullable=False),
        sa.Column(
            "created_at", engine.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("due_at", engine.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
        ),
        sa.PrimaryKeyConstraint("task_id"),
    )
    with op.batch_alter_table("open_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_open_tasks_instance_id"), ["instance_id"], unique=False
        )
        batch_op.create_index(
            "ix_open_tasks_role_division", ["role", "division_code"], unique=False
        )

    op.create_table(
        "timer_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("timer_task_id", sa.String(length=36), nullable=False),
        sa.Column("timer_name", sa.String(length=128), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column(
            "first_failed_at", engine.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_failed_at", engine.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("timer_task_id"),
    )
    with op.batch_alter_table("timer_incidents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_timer_incidents_instance_id"), ["instance_id"], unique=False
        )

    op.create_table(
        "waiting_timers",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("due_at", engine.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("watched_task_id", sa.String(length=36), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at", engine.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
        ),
        sa.PrimaryKeyConstraint("task_id"),
    )
    with op.batch_alter_table("waiting_timers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_waiting_timers_due_at"), ["due_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_waiting_timers_instance_id"), ["instance_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("waiting_timers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waiting_timers_instance_id"))
        batch_op.drop_index(batch_op.f("ix_waiting_timers_due_at"))

    op.drop_table("waiting_timers")
    with op.batch_alter_table("timer_incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timer_incidents_instance_id"))

    op.drop_table("timer_incidents")
    with op.batch_alter_table("open_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_open_tasks_role_division")
        batch_op.drop_index(batch_op.f("ix_open_tasks_instance_id"))

    op.drop_table("open_tasks")
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instances_household_id"))
        batch_op.drop_index(batch_op.f("ix_instances_division_code"))

    op.drop_table("instances")
    with op.batch_alter_table("household_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_members_household_id"))

    op.drop_table("household_members")
    op.drop_table("users")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_status"))
        batch_op.drop_index(batch_op.f("ix_households_division_code"))

    op.drop_table("households")
    op.drop_table("monitoring_lines")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_versions_process_id"))

    op.drop_table("model_versions")
    op.drop_table("events")
    with op.batch_alter_table("divisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_divisions_parent_code"))

    op.drop_table("divisions")
    op.drop_table("clock_state")
