"""Extension requests in the interchange format (extensions.csv): ``case_extensions.origin`` and ``produced_at``

``origin`` tells the dashboard's requests ('app') from the source platform's ('source'), as for the supervision
orders; ``produced_at`` is the row time a batch compares (docs/DATA_CONTRACT.md, "Row time").  Every row stored
before this revision was made in the dashboard (no file carried them): 'app', with its row time the time it was
last written (``changed_at``).

Revision ID: 0024
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op

from data_access.core.schema import Timestamp

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("case_extensions",
                  sa.Column("origin", sa.String(8), nullable=False, server_default=sa.text("'source'")))
    op.add_column("case_extensions", sa.Column("produced_at", Timestamp))
    op.execute("UPDATE case_extensions SET origin = 'app', produced_at = changed_at")


def downgrade() -> None:
    with op.batch_alter_table("case_extensions") as batch:
        batch.drop_column("produced_at")
        batch.drop_column("origin")
