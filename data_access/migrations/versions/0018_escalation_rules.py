"""Escalation rules (自动督办) and the rule that issued an order

``escalation_rules`` holds the rules an admin sets (``python -m data_access rules``); ``supervisions.rule_id``
names the rule that issued an order, and a unique index on (rule_id, case_no) keeps it to one order per case
and rule.  The defaults that follow common practice are inserted disabled (core/escalation.DEFAULT_RULES): an
admin previews them (``escalate --dry-run``) and enables what fits.  They are written out here (a migration is
frozen history); tests/test_escalation.py checks that a fresh database holds core/escalation.DEFAULT_RULES.

Revision ID: 0018
Revises: 0017
"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op

from data_access.core.schema import Timestamp

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


DEFAULT_RULES = (
    dict(name="受理超时 黄牌", category=None, step="accept", measure="share", threshold=1.0, grade="yellow"),
    dict(name="处置超时 黄牌", category=None, step="handle", measure="share", threshold=1.0, grade="yellow"),
    dict(name="逾期 黄牌", category=None, step="case", measure="hours_past", threshold=0.0, grade="yellow"),
    dict(name="逾期一天 红牌", category=None, step="case", measure="hours_past", threshold=24.0, grade="red"),
)


def upgrade() -> None:
    rules = op.create_table(
        "escalation_rules",
        sa.Column("rule_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("category", sa.String(48)),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("measure", sa.String(16), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("grade", sa.String(8), nullable=False),
        sa.Column("scope_code", sa.String(32)),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("changed_at", Timestamp, nullable=False),
    )
    op.add_column("supervisions", sa.Column("rule_id", sa.Integer))
    op.create_index("ix_supervisions_rule_case", "supervisions", ["rule_id", "case_no"], unique=True,
                    sqlite_where=sa.text("rule_id IS NOT NULL"), postgresql_where=sa.text("rule_id IS NOT NULL"))
    now = datetime.now().replace(microsecond=0)
    op.bulk_insert(rules, [dict(r, enabled=False, created_by="(default)", created_at=now, changed_at=now)
                           for r in DEFAULT_RULES])


def downgrade() -> None:
    op.drop_index("ix_supervisions_rule_case", table_name="supervisions")
    with op.batch_alter_table("supervisions") as b:
        b.drop_column("rule_id")
    op.drop_table("escalation_rules")
