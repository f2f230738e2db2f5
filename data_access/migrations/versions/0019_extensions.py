"""Extension requests (延期申请): the table ``case_extensions``

A handling unit's request for more time on an open case, approved or refused in the dashboard
(data_access/writes/extensions.py); the approved ones move the case's due time (core/time_limits.apply_rules).
No data to convert: the table starts empty.

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

from data_access.core.schema import Timestamp

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_extensions",
        sa.Column("extension_id", sa.String(64), primary_key=True),
        sa.Column("case_no", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(48)),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("day_kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("requested_at", Timestamp, nullable=False),
        sa.Column("requested_by", sa.Text),
        sa.Column("requested_by_user", sa.Text),
        sa.Column("decided_at", Timestamp),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_by_user", sa.Text),
        sa.Column("decision_note", sa.Text),
        sa.Column("changed_at", Timestamp, nullable=False),
    )
    op.create_index("ix_case_extensions_case_no", "case_extensions", ["case_no"])
    op.create_index("ix_case_extensions_approved", "case_extensions", ["case_no"],
                    sqlite_where=sa.text("status = 'approved'"), postgresql_where=sa.text("status = 'approved'"))


def downgrade() -> None:
    op.drop_index("ix_case_extensions_approved", table_name="case_extensions")
    op.drop_index("ix_case_extensions_case_no", table_name="case_extensions")
    op.drop_table("case_extensions")
