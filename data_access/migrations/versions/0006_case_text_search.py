"""Full-text search index for cases (number, title, description)

``LIKE '%…%'`` over the three columns read every case: at 1.07 M cases a search took ~0.9 s to count and
up to 1.1 s (SQLite) / 1.4 s (PostgreSQL) for a first page with few matches.  SQLite gets a contentless FTS5
trigram table kept in sync by triggers; PostgreSQL gets pg_trgm GIN indexes on the three columns plus a
GIN index of unigrams and bigrams for 1–2 character searches.  Details and the matching rules:
``data_access/core/search.py``.  The downgrade keeps the pg_trgm extension (other objects may use it).

Revision ID: 0006
Revises: 0005
"""
from alembic import op

from data_access.core.search import install_text_search, uninstall_text_search

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    install_text_search(op.get_bind())
    op.execute("ANALYZE cases")  # PostgreSQL: statistics of the indexed expression, for the planner


def downgrade() -> None:
    uninstall_text_search(op.get_bind())
