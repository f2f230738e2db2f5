"""The early warnings' daily counts: ``case_day_counts`` (report day × county × township × village × top grid ×
category → cases)

core/warnings.py read its 70-day window, a year of history and the data's first and last days from ``cases`` on
every refresh: after a day's batch at 1.07 M cases that was ~12 s of a 31 s refresh (issue 22's target: 2 s).  The
roll-up is kept by difference by the loader, the app's writes and the sync like ``case_summary``
(core/rollups.py); built here for an existing database, with this revision's own statement (frozen: not read
from core/rollups.py, which may change later; the same rows as ``rollups.rebuild_day_counts``).

``ix_cases_closed_at`` (closed_at, reported_at, due_at, county, township): the backlog trends' cases (open at some
week end of the last six weeks: still open, or closed since the first week end) as two ranges of an index instead of
a scan of the table (5.3 s → 0.15 s at 1.07 M cases on SQLite).

Revision ID: 0025
Revises: 0024
"""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_DIMS = "county_code, township_code, village_code, top_grid_code, category"


def upgrade() -> None:
    op.create_table(
        "case_day_counts",
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("county_code", sa.String(32)),
        sa.Column("township_code", sa.String(32)),
        sa.Column("village_code", sa.String(32)),
        sa.Column("top_grid_code", sa.String(48)),
        sa.Column("category", sa.String(48), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
    )
    day = ("substr(reported_at, 1, 10)" if op.get_bind().dialect.name == "sqlite"
           else "to_char(reported_at, 'YYYY-MM-DD')")
    op.execute(f"INSERT INTO case_day_counts (month, day, {_DIMS}, n) "
               f"SELECT report_month, {day}, {_DIMS}, count(*) FROM cases GROUP BY report_month, {day}, {_DIMS}")
    op.create_index("ix_case_day_counts_day", "case_day_counts",
                    ["day", "category", "county_code", "township_code", "village_code", "top_grid_code", "n"])
    op.create_index("ix_case_day_counts_township", "case_day_counts", ["township_code", "month"])
    op.create_index("ix_cases_closed_at", "cases", ["closed_at", "reported_at", "due_at", "county_code",
                                                    "township_code"])
    # the planner's statistics of the new index, sampled on SQLite as after a load (as 0021 does)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA analysis_limit=2000")
    op.execute("ANALYZE cases")


def downgrade() -> None:
    op.drop_index("ix_cases_closed_at", table_name="cases")
    op.drop_table("case_day_counts")
