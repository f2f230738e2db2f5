"""Escalation rules that move a case one level up (升级, issue 23)

A rule's ``grade`` column now holds its action: an order's grade (普通, 黄牌, 红牌) or ``upgrade``; ``rule_upgrades``
records the cases a rule moved one level up, one row per rule and case (its primary key keeps a rule to one upgrade
of a case, as ``ix_supervisions_rule_case`` does for orders).  The move itself is the case's ``escalate`` log entry.

Revision ID: 0022
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

from data_access.core.schema import Timestamp

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_upgrades",
        sa.Column("rule_id", sa.Integer, primary_key=True),
        sa.Column("case_no", sa.String(64), primary_key=True),
        sa.Column("upgraded_at", Timestamp, nullable=False),
        sa.Column("from_level", sa.String(16), nullable=False),
        sa.Column("to_level", sa.String(16), nullable=False),
        sa.Column("to_code", sa.String(32), nullable=False),
    )
    op.create_index("ix_rule_upgrades_case", "rule_upgrades", ["case_no"])


def downgrade() -> None:
    op.drop_index("ix_rule_upgrades_case", table_name="rule_upgrades")
    op.drop_table("rule_upgrades")
