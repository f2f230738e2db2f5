"""An index on ``changed_at`` of cases and case_events, for ``export --since``

``export --since T`` reads the rows written after ``T``; without an index it scans both tables whole (about
0.7 s at 50,000 cases, growing with the database).  With it the cost follows the change.

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_changed", "cases", ["changed_at"])
    op.create_index("ix_case_events_changed", "case_events", ["changed_at"])


def downgrade() -> None:
    op.drop_index("ix_case_events_changed", table_name="case_events")
    op.drop_index("ix_cases_changed", table_name="cases")
