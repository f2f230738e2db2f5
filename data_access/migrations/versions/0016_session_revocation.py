"""Sessions that end when their account changes, and the one-time grants for the server-set cookie

- ``user_sessions.ended_reason``: why a session was revoked — ``user`` (sign-out, idle limit) or ``account``
  (its account's password, role, jurisdiction or enabled state changed), so that the sign-in page can say why.
  Existing revoked rows keep NULL (read as a sign-out).
- ``session_grants``: the one-time grant (its SHA-256) by which the page has the server set the HttpOnly
  session cookie, and the session token sealed with a key derived from the grant; a minute at most.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

from data_access.core.schema import Timestamp

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user_sessions", sa.Column("ended_reason", sa.String(16)))
    op.create_table(
        "session_grants",
        sa.Column("grant_hash", sa.String(64), primary_key=True),
        sa.Column("sealed", sa.String(64), nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("session_grants")
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_column("ended_reason")
