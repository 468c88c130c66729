"""civil-affairs lists: imports, department alerts, quarterly cross-checks

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-04 18:40:00
"""

from alembic import op
import sqlalchemy as sa
import engine.models

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "civil_affairs_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column(
            "imported_at", engine.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("alerts_created", sa.Integer(), nullable=False),
        sa.Column("rows_skipped", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("county_code", "content_hash", name="uq_civil_import_file"),
    )
    op.create_index(
        "ix_civil_affairs_imports_county_code",
        "civil_affairs_imports",
        ["county_code"],
    )

    op.create_table(
        "department_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("assistance_type", sa.String(length=24), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("start_month", sa.String(length=7), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("no_risk_reason", sa.Text(), nullable=True),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("screened_by", sa.String(length=64), nullable=True),
        sa.Column(
            "screened_at", engine.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "created_at", engine.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(["import_id"], ["civil_affairs_imports.id"]),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_number", "month", name="uq_department_alert_month"),
    )
    op.create_index(
        "ix_department_alerts_import_id", "department_alerts", ["import_id"]
    )
    op.create_index(
        "ix_department_alerts_id_number", "department_alerts", ["id_number"]
    )
    op.create_index(
        "ix_department_alerts_household_id", "department_alerts", ["household_id"]
    )
    op.create_index(
        "ix_department_alerts_division_status",
        "department_alerts",
        ["division_code", "status"],
    )

    op.create_table(
        "civil_affairs_cross_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=12), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", engine.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_civil_affairs_cross_checks_county_code",
        "civil_affairs_cross_checks",
        ["county_code"],
    )
    op.create_index(
        "ix_civil_affairs_cross_checks_content_hash",
        "civil_affairs_cross_checks",
        ["content_hash"],
    )


def downgrade() -> None:
    op.drop_table("civil_affairs_cross_checks")
    op.drop_table("department_alerts")
    op.drop_table("civil_affairs_imports")
