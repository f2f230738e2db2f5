"""The same-matter index of cases (phone, grid, category, reported_at, source) in place of the phone's

Finding a closed case's re-reports (derive.derive_rereported) probed the index on the phone alone and read
every case of the phone from the table: with phones shared by thousands of cases (a hotline's frequent
callers, an office's number) the load of 1.07 M cases stopped after 18 minutes (issue 24).  The composite
index makes each case's re-reports one range of it, read without the table; leading with the phone, it
serves every lookup by phone the old index did.

Revision ID: 0015
Revises: 0014
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_same_matter", "cases",
                    ["reporter_phone", "grid_code", "category", "reported_at", "source"])
    op.drop_index("ix_cases_reporter_phone", table_name="cases")


def downgrade() -> None:
    op.create_index("ix_cases_reporter_phone", "cases", ["reporter_phone"])
    op.drop_index("ix_cases_same_matter", table_name="cases")
