"""The early warnings (风险预警): the ``warnings`` table

The warning engine (data_access/core/warnings.py) runs after each load and sync and stores what it found, so
that the 风险预警 page reads the current warnings at once; staff set each warning's state (new → acknowledged
→ handled or false alarm, with a note), kept across recomputations.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

from data_access.core.schema import Timestamp

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "warnings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("region_code", sa.String(48), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("category", sa.String(48), nullable=False, server_default=sa.text("''")),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("observed", sa.Float, nullable=False),
        sa.Column("expected", sa.Float, nullable=False),
        sa.Column("lower", sa.Float),
        sa.Column("upper", sa.Float),
        sa.Column("p_value", sa.Float),
        sa.Column("q_value", sa.Float),
        sa.Column("severity", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default=sa.text("'new'")),
        sa.Column("state_note", sa.Text),
        sa.Column("state_by", sa.String(64)),
        sa.Column("state_at", Timestamp),
        sa.Column("computed_at", Timestamp, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_warnings"),
    )
    op.create_index("ix_warnings_key", "warnings", ["kind", "region_code", "category", "first_day"], unique=True)
    op.create_index("ix_warnings_last_day", "warnings", ["last_day"])


def downgrade() -> None:
    op.drop_index("ix_warnings_last_day", table_name="warnings")
    op.drop_index("ix_warnings_key", table_name="warnings")
    op.drop_table("warnings")
