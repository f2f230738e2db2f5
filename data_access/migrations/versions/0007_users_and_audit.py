"""Users (sign-in, role, jurisdiction) and the audit log

Officials sign in with a password hashed by argon2id (``data_access/core/users.py``) or through an OpenID Connect
provider mapped by e-mail; each has a role and a jurisdiction (a region code whose whole subtree they see).
A browser session is kept as the SHA-256 of a random token held in a cookie (a reload resumes it).
The audit log records sign-ins, failed sign-ins, sign-outs, exports and writes.  Neither table has a
foreign key to ``regions``: a dataset load replaces the regions, and a user whose jurisdiction is no longer
in the data is refused at sign-in instead of blocking the load.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

from data_access.core.schema import Timestamp

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("scope_code", sa.String(32)),
        sa.Column("password_hash", sa.Text()),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("failed_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("locked_until", Timestamp),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("password_changed_at", Timestamp),
        sa.Column("last_sign_in_at", Timestamp),
        sa.PrimaryKeyConstraint("username", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "user_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_seen_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("revoked_at", Timestamp),
        sa.PrimaryKeyConstraint("token_hash", name="pk_user_sessions"),
    )
    op.create_index("ix_user_sessions_username", "user_sessions", ["username"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("event", sa.String(24), nullable=False),
        sa.Column("username", sa.String(64)),
        sa.Column("role", sa.String(8)),
        sa.Column("scope_code", sa.String(32)),
        sa.Column("target", sa.Text()),
        sa.Column("rows", sa.Integer()),
        sa.Column("detail", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_username", "audit_log", ["username", "at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("user_sessions")
    op.drop_table("users")
