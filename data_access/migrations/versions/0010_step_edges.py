"""Step times exactly on a bucket edge (25 %, 50 %, 100 % … of the step's limit) counted in the right bucket

``process_summary`` compared float hours with float limits, so a step of exactly 25 % of its limit could fall
one bucket low, and one exactly at its limit could count as over it (summary.ratio_bucket_sql now compares
with a slack of 1e-6 h; metrics.EDGE_SLACK_HOURS).  Only the roll-up changes: it is rebuilt here.

Revision ID: 0010
Revises: 0009
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from data_access.core.rollups import rebuild_process_summary

    rebuild_process_summary(op.get_bind())


def downgrade() -> None:
    pass  # the older roll-up is a rebuild of the same table with the older comparison; nothing to undo
