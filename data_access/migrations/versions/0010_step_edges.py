"""Step times exactly on a bucket edge (25 %, 50 %, 100 % … of the step's limit) counted in the right bucket

``process_summary`` compared float hours with float limits, so a step of exactly 25 % of its limit could fall
one bucket low, and one exactly at its limit could count as over it (summary.ratio_bucket_sql now compares
with a slack of 1e-6 h; metrics.EDGE_SLACK_HOURS).  Only the roll-up changes: it is rebuilt here.

Revision ID: 0010
Revises: 0009
"""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # rebuilt by revision 0017 (times as whole seconds), the newest that changes the roll-ups' columns: today's
    # rebuild (core/rollups.py) writes today's columns
    pass


def downgrade() -> None:
    pass  # the older roll-up is a rebuild of the same table with the older comparison; nothing to undo
