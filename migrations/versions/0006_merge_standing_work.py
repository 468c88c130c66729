"""merge the four revisions of issue #4 into one head

Revision ID: 0006
Revises: 0002, 0003, 0004, 0005

Timer-incident retries, civil-affairs lists, yearly work and deadlines were
built side by side, each as a revision on 0001; this revision joins them so
that the schema has one head again. It changes nothing itself.
"""

revision = "0006"
down_revision = ("0002", "0003", "0004", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
