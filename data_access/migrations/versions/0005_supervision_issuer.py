"""Supervision orders record who issued them; a partial index lists open orders by deadline

The case workbench writes supervision orders with the signed-in official's name (``issued_by_name``), and
lists the jurisdiction's open orders nearest deadline first (``ix_supervisions_open``).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("supervisions") as batch:
        batch.add_column(sa.Column("issued_by_name", sa.Text(), nullable=True))
    op.create_index("ix_supervisions_open", "supervisions", ["deadline"],
                    sqlite_where=sa.text("resolved_at IS NULL"), postgresql_where=sa.text("resolved_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_supervisions_open", table_name="supervisions")
    with op.batch_alter_table("supervisions") as batch:
        batch.drop_column("issued_by_name")
