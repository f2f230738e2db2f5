"""Repeat cases (重复件): the groups of cases that report the same matter, proposed and decided

``duplicate_groups`` (one row a group: its primary case, score, state proposed / confirmed / rejected, who
decided it, when, and a note) and ``duplicate_members`` (the cases of a group with their score).  Filled by
``python -m data_access duplicates`` (data_access/core/duplicates.py) and the supervision centre's writes
(data_access/writes/duplicates.py).  The tables are written out here (frozen history), not imported.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import sqlite

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(
    sqlite.DATETIME(storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d",
                    regexp=r"(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)"),
    "sqlite",
)


def upgrade() -> None:
    op.create_table(
        "duplicate_groups",
        sa.Column("group_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("primary_case_no", sa.String(64), nullable=False),
        sa.Column("village_code", sa.String(32), nullable=False),
        sa.Column("category", sa.String(48), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("same_caller", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("state", sa.String(12), nullable=False, server_default=sa.text("'proposed'")),
        sa.Column("detected_at", Timestamp, nullable=False),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", Timestamp),
        sa.Column("note", sa.Text),
        sa.PrimaryKeyConstraint("group_id", name="pk_duplicate_groups"),
    )
    op.create_index("ix_duplicate_groups_primary_case_no", "duplicate_groups", ["primary_case_no"])
    op.create_index("ix_duplicate_groups_village_code", "duplicate_groups", ["village_code"])
    op.create_index("ix_duplicate_groups_state", "duplicate_groups", ["state", "score"])
    op.create_table(
        "duplicate_members",
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("case_no", sa.String(64), nullable=False),
        sa.Column("score", sa.Float),
        sa.PrimaryKeyConstraint("group_id", "case_no", name="pk_duplicate_members"),
        sa.ForeignKeyConstraint(["group_id"], ["duplicate_groups.group_id"], ondelete="CASCADE",
                                name="fk_duplicate_members_group_id_duplicate_groups"),
    )
    op.create_index("ix_duplicate_members_case", "duplicate_members", ["case_no"])


def downgrade() -> None:
    op.drop_index("ix_duplicate_members_case", table_name="duplicate_members")
    op.drop_table("duplicate_members")
    op.drop_index("ix_duplicate_groups_state", table_name="duplicate_groups")
    op.drop_index("ix_duplicate_groups_village_code", table_name="duplicate_groups")
    op.drop_index("ix_duplicate_groups_primary_case_no", table_name="duplicate_groups")
    op.drop_table("duplicate_groups")
