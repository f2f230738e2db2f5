"""Callbacks (回访): the ratings staff record by ringing the reporters of closed cases back

``callbacks`` is the app's record of each callback (case, the closing it rates, rating, note, who and when, and
who undid it and when); the rating itself is written on the case (``cases.satisfaction``), so every
satisfaction figure includes it.  Not a dataset table: a load keeps it.  ``ix_cases_unrated_closed``: the
closed cases without a rating by close time, for the list of cases to call back.

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

from data_access.core.schema import Timestamp

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("callback_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_no", sa.String(64), nullable=False),
        sa.Column("closed_at", Timestamp, nullable=False),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", Timestamp, nullable=False),
        sa.Column("undone_by", sa.Text),
        sa.Column("undone_at", Timestamp),
    )
    op.create_index("ix_callbacks_case", "callbacks", ["case_no"])
    # the callback list reads recent closings of the unrated closed cases
    op.create_index("ix_cases_unrated_closed", "cases", ["closed_at"],
                    sqlite_where=sa.text("satisfaction IS NULL AND closed_at IS NOT NULL"),
                    postgresql_where=sa.text("satisfaction IS NULL AND closed_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_cases_unrated_closed", table_name="cases")
    op.drop_index("ix_callbacks_case", table_name="callbacks")
    op.drop_table("callbacks")
