"""Each return of a case between departments, stored: ``case_bounces``

The supervision centre's bounces view counted the department pairs that bounce cases by walking every route event
of the selection's returned cases through two window passes, at each view: 531 ms for the city's year at 1.07 M
cases, 2.3 s at 5 M (issue 24).  The same rows (core/derived.bounces_select) are now kept in ``case_bounces`` by
the loader (all cases), the sync (the cases whose events a batch sends or deletes; all after a change of the
departments) and the workflow writes (a case's route actions); the view counts them for its returned cases.
Filled here for an existing database by derive.derive_bounces, as 0008 fills the event counts.

Revision ID: 0030
Revises: 0029
"""
import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_bounces",
        sa.Column("case_no", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("from_department", sa.String(48), nullable=False),
        sa.Column("to_department", sa.String(48)),
    )
    from data_access.core.derive import derive_bounces

    derive_bounces(op.get_bind())


def downgrade() -> None:
    op.drop_table("case_bounces")
