"""The roll-ups' month indexes hold every dimension a difference is applied by

A sync batch (and every write in the app) adds its differences to the roll-ups by key (core/rollups._apply): each
difference finds its stored row by all its dimensions.  ``ix_case_summary_month`` (month, county, township),
``ix_case_summary_county_month`` (month, county) and ``ix_process_summary_month`` (month, county, township) left
the category, status, resolution level or department to the table: each lookup read ~50 rows to keep one, and a
10,000-case batch at 1.07 M skewed cases spent ~1.5 s of PostgreSQL in the three statements of each roll-up
(the check, the UPDATE and the INSERT of new keys).  The same indexes now end with those columns; a page's
query by month and place uses the same leading columns as before.

Revision ID: 0029
Revises: 0028
"""
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

_NEW = {
    ("ix_case_summary_month", "case_summary"):
        ["month", "county_code", "township_code", "category", "status", "resolution_level"],
    ("ix_case_summary_county_month", "case_summary_county"):
        ["month", "county_code", "category", "status", "resolution_level"],
    ("ix_process_summary_month", "process_summary"):
        ["month", "county_code", "township_code", "category", "department_code"],
}
_OLD = {
    ("ix_case_summary_month", "case_summary"): ["month", "county_code", "township_code"],
    ("ix_case_summary_county_month", "case_summary_county"): ["month", "county_code"],
    ("ix_process_summary_month", "process_summary"): ["month", "county_code", "township_code"],
}


def _replace(indexes: dict) -> None:
    for (name, table), cols in indexes.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, cols)


def upgrade() -> None:
    _replace(_NEW)


def downgrade() -> None:
    _replace(_OLD)
