"""Times in the roll-ups as whole seconds (integers), so that they can be kept by difference exactly

``case_summary``/``case_summary_county`` ``sum_hours`` and ``process_summary`` ``<step>_hours`` were sums of float
hours: added up in another order (a slice refreshed against a whole rebuild) they differed in the last bits on
PostgreSQL, and a roll-up kept by difference (a case's old contribution taken away, its new one added: issue 19)
would drift.  They become ``sum_seconds`` and ``<step>_seconds`` (bigint, each case's time rounded to the second:
core/rollups.seconds_sql); the roll-ups are rebuilt here.  Downgrade: back to float hours (seconds ÷ 3600).

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# this revision's columns (frozen: not read from core/schema.py, which may change later)
_STEPS = ("accept", "dispatch", "handle", "feedback")
_COLUMNS = {"case_summary": [("sum_hours", "sum_seconds")],
            "case_summary_county": [("sum_hours", "sum_seconds")],
            "process_summary": [(f"{s}_hours", f"{s}_seconds") for s in _STEPS]}


def upgrade() -> None:
    bind = op.get_bind()
    for table, cols in _COLUMNS.items():
        have = {c["name"] for c in sa.inspect(bind).get_columns(table)}
        todo = [(old, new) for old, new in cols if old in have]   # process_summary is made by 0008 from today's
        if not todo:                                               # table definition: already in seconds
            continue
        op.execute(sa.text(f"DELETE FROM {table}"))   # rebuilt below: the new columns need no default
        with op.batch_alter_table(table) as batch:
            for old, new in todo:
                batch.drop_column(old)
                batch.add_column(sa.Column(new, sa.BigInteger(), nullable=False))
    # the roll-ups are rebuilt by 0023 (with today's definitions, which need 0023's columns; 0008 and 0010 leave
    # their rebuilds to it too)


def downgrade() -> None:
    for table, cols in _COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for old, _new in cols:
                batch.add_column(sa.Column(old, sa.Float(), nullable=False, server_default=sa.text("0")))
        for old, new in cols:
            op.execute(sa.text(f"UPDATE {table} SET {old} = {new} / 3600.0"))
        with op.batch_alter_table(table) as batch:
            for _old, new in cols:
                batch.drop_column(new)
