"""Supervision orders record who issued them; indexes for the case workbench

The case workbench writes supervision orders with the signed-in official's name (``issued_by_name``), lists
the jurisdiction's open orders nearest deadline first (``ix_supervisions_open``), and sorts cases by due time
(``ix_cases_due``: the whole-tree list sorted by due time took 262 ms at 1.07 M cases without it) and by
time overdue: closed cases carry ``late_hours`` (due → closed, indexed), so "most overdue first" merges
the few open cases with an index walk over the closed ones instead of computing and sorting 1.07 M values
(420 ms for the first page, 5 s for a middle page before).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from data_access.core.schema import Timestamp
from data_access.core.sqlfn import hours_between

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("supervisions", sa.Column("issued_by_name", sa.Text(), nullable=True))
    op.create_index("ix_supervisions_open", "supervisions", ["deadline"],
                    sqlite_where=sa.text("resolved_at IS NULL"), postgresql_where=sa.text("resolved_at IS NULL"))
    op.create_index("ix_cases_due", "cases", ["due_at"])
    op.add_column("cases", sa.Column("late_hours", sa.Float(), nullable=True))
    # Recomputes late_hours for the data of its day with its own SQL: frozen history, not changed when the
    # definition moved to data_access/core/derived.py (late_hours / late_hours_sql), which is the one in force.
    cases = sa.table("cases", sa.column("due_at", Timestamp), sa.column("closed_at", Timestamp),
                     sa.column("late_hours", sa.Float()))
    op.execute(cases.update().where(cases.c.closed_at.is_not(None))
               .values(late_hours=hours_between(cases.c.due_at, cases.c.closed_at)))
    op.create_index("ix_cases_late", "cases", ["late_hours"])
    op.execute("ANALYZE cases")


def downgrade() -> None:
    op.drop_index("ix_cases_due", table_name="cases")
    op.drop_index("ix_cases_late", table_name="cases")
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): a batch copy of ``cases`` would break its foreign keys.
    op.execute("ALTER TABLE cases DROP COLUMN late_hours")
    op.drop_index("ix_supervisions_open", table_name="supervisions")
    op.execute("ALTER TABLE supervisions DROP COLUMN issued_by_name")
