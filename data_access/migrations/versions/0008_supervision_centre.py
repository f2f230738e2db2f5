"""The supervision centre: time-limit rules, process counts per case, integrity checks, process roll-up

- ``time_limit_rules``: categories whose time limit counts in working days (data_access/core/time_limits.py);
  ``cases.source_due_at`` keeps the dataset's due time beside the effective ``due_at``.
- ``cases.n_returns`` / ``n_reassigns`` / ``n_reopens`` (from ``case_events``), ``rereported`` (a later
  report by the same person in the same grid and category within 30 days of closing) and the hours allowed
  and spent per step, kept by the loader and every write path (data_access/core/derive.py).
- ``case_summary`` and ``case_summary_county`` gain the integrity-check counts; ``process_summary`` (report
  month × township × category × department) holds step times against their limits, returns and
  reassignments, so the supervision centre's charts never scan the case table at city scale.
Existing data is brought up to date here (derived columns filled, roll-ups rebuilt).

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

from data_access.core.schema import INTEGRITY_COLUMNS, Timestamp, process_summary

STEP_HOUR_COLUMNS = ("allowed_hours", "accept_hours", "dispatch_hours", "handle_hours", "feedback_hours")

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE … ADD COLUMN (not a batch copy, which would break the foreign keys to ``cases``).
    op.add_column("cases", sa.Column("source_due_at", Timestamp, nullable=True))
    op.add_column("cases", sa.Column("n_returns", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.add_column("cases", sa.Column("n_reassigns", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.add_column("cases", sa.Column("n_reopens", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.add_column("cases", sa.Column("rereported", sa.Boolean(), nullable=False, server_default=sa.false()))
    for name in STEP_HOUR_COLUMNS:
        op.add_column("cases", sa.Column(name, sa.Float(), nullable=True))
    op.create_index("ix_cases_reporter_phone", "cases", ["reporter_phone"])
    op.create_index("ix_cases_returns", "cases", ["n_returns"], sqlite_where=sa.text("n_returns > 0"),
                    postgresql_where=sa.text("n_returns > 0"))
    op.create_index("ix_cases_late_closed", "cases",
                    ["closed_at", "due_at", "reported_at", "city_code", "county_code", "township_code",
                     "village_code", "top_grid_code", "category"],
                    sqlite_where=sa.text("late_hours > 0"), postgresql_where=sa.text("late_hours > 0"))
    for table in ("case_summary", "case_summary_county"):
        for name in INTEGRITY_COLUMNS:
            op.add_column(table, sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.create_table(
        "time_limit_rules",
        sa.Column("category", sa.String(48), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("working_days", sa.Integer()),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("updated_by", sa.Text()),
        sa.PrimaryKeyConstraint("category", name="pk_time_limit_rules"),
    )
    bind = op.get_bind()
    # the roll-up's columns are generated (steps × buckets); created from the table definition of this release
    process_summary.create(bind)
    # Fills the new derived columns for the data of its day: frozen history.  source_due_at is set here with
    # its own SQL; the rest through data_access/core/derive.py, i.e. with today's definitions of
    # data_access/core/derived.py (the names it imports are kept for this revision).
    cases = sa.table("cases", sa.column("due_at", Timestamp), sa.column("source_due_at", Timestamp))
    op.execute(cases.update().values(source_due_at=cases.c.due_at))
    from data_access.core.derive import (
        derive_event_counts,
        derive_rereported,
        derive_step_hours,
    )

    derive_event_counts(bind)
    derive_rereported(bind)
    derive_step_hours(bind)
    # the roll-ups are rebuilt by revision 0023 (the 三率's counts), the newest that changes their columns:
    # today's rebuild (core/rollups.py) writes today's columns, which case_summary has only from there on


def downgrade() -> None:
    op.drop_table("process_summary")
    op.drop_table("time_limit_rules")
    op.drop_index("ix_cases_late_closed", table_name="cases")
    op.drop_index("ix_cases_returns", table_name="cases")
    op.drop_index("ix_cases_reporter_phone", table_name="cases")
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): a batch copy of ``cases`` would break its foreign keys.
    for table, names in (("case_summary", INTEGRITY_COLUMNS), ("case_summary_county", INTEGRITY_COLUMNS),
                         ("cases", ("rereported", "n_reopens", "n_reassigns", "n_returns", "source_due_at",
                                    *STEP_HOUR_COLUMNS))):
        for name in names:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
