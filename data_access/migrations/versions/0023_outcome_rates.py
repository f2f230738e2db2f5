"""The outcome rates' counts (三率) in the case roll-ups

``case_summary`` and ``case_summary_county`` get ``n_accepted``, ``n_accepted_in_time``, ``n_resolved`` and
``n_satisfied`` (core/metrics.py defines the response, resolution and satisfaction rates; core/rollups.outcome_flags
counts them), the covering index of the edge days (``ix_cases_reported_cover``, 0004) gets the three columns those
counts read (``accept_hours``, ``allowed_hours``, ``n_reopens``) so that the days at a period's edges stay an
index-only read, and every roll-up is rebuilt here with today's definitions (0008, 0010 and 0017 leave their rebuilds
to this revision: a rebuild writes every column of today's tables, so it can only run once they all exist).

Revision ID: 0023
Revises: 0022
"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# this revision's columns (frozen: not read from core/schema.py, which may change later)
_TABLES = ("case_summary", "case_summary_county")
_COLUMNS = ("n_accepted", "n_accepted_in_time", "n_resolved", "n_satisfied")
_COVER = ["reported_at", "city_code", "county_code", "township_code", "category", "status", "resolution_level",
          "on_the_spot", "closed_late", "hours_to_close", "satisfaction", "report_month"]
_COVER_NEW = [*_COVER, "accept_hours", "allowed_hours", "n_reopens"]


def upgrade() -> None:
    bind = op.get_bind()
    for table in _TABLES:
        have = {c["name"] for c in sa.inspect(bind).get_columns(table)}
        todo = [c for c in _COLUMNS if c not in have]   # a table made from today's definition has them already
        if todo:
            with op.batch_alter_table(table) as batch:
                for col in todo:
                    batch.add_column(sa.Column(col, sa.Integer(), nullable=False, server_default=sa.text("0")))
    _cover(_COVER_NEW)
    from data_access.core.rollups import rebuild_case_summary, rebuild_process_summary

    rebuild_case_summary(bind)
    rebuild_process_summary(bind)


def _cover(columns: list[str]) -> None:
    op.drop_index("ix_cases_reported_cover", table_name="cases", if_exists=True)
    op.create_index("ix_cases_reported_cover", "cases", columns)


def downgrade() -> None:
    _cover(_COVER)
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            for col in _COLUMNS:
                batch.drop_column(col)
