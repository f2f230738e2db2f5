"""The volunteer pages' teams: ``team_summary``

Each volunteer team with the path of the place it serves (its grid, else its region: node_paths' columns) and
the date of its latest activity.  At the province (138,839 teams, 150,000 activities) the volunteer pages joined
every team to its path, and to its activities for the inactive count, on each view (issue 24); they now read
these rows.  Kept by the loader (rebuilt) and the sync (a batch's teams and the teams of its activities; all of
it after a change of the region tree) from core/rollups.team_select; built here for an existing database with
this revision's own statement (frozen: the same rows as ``rollups.rebuild_team_summary``).  The activities' index
on the date alone becomes one that also holds the kind, team, participants and hours: a period's activities are
counted from the index (the province's root: ~100 ms of table reads per statement).

Revision ID: 0028
Revises: 0027
"""
import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_PATH = "province_code, city_code, county_code, township_code, village_code, grid_code"


def upgrade() -> None:
    op.create_table(
        "team_summary",
        sa.Column("team_code", sa.String(48), primary_key=True),
        sa.Column("code", sa.String(48), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        *[sa.Column(f"{lv}_code", sa.String(32)) for lv in ("province", "city", "county", "township", "village")],
        sa.Column("grid_code", sa.String(48)),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("members", sa.Integer, nullable=False),
        sa.Column("founded_on", sa.Date),
        sa.Column("focus", sa.Text),
        sa.Column("last_activity", sa.Date),
    )
    op.execute(f"""
        INSERT INTO team_summary (team_code, code, level, {_PATH}, name, members, founded_on, focus, last_activity)
        SELECT t.team_code, p.code, p.level, {', '.join('p.' + c for c in _PATH.split(', '))}, t.name, t.members,
               t.founded_on, t.focus,
               (SELECT max(a.date) FROM volunteer_activities a WHERE a.team_code = t.team_code)
        FROM volunteer_teams t JOIN node_paths p ON p.code = coalesce(t.grid_code, t.region_code)
    """)
    for level in ("city", "county", "township", "village"):
        op.create_index(f"ix_team_summary_{level}", "team_summary", [f"{level}_code"])
    op.create_index("ix_team_summary_grid", "team_summary", ["grid_code"])
    op.create_index("ix_team_summary_code", "team_summary", ["code"])
    # a period's activities counted by month, kind or team from the index alone (it replaces the date's index)
    op.create_index("ix_volunteer_activities_date_measures", "volunteer_activities",
                    ["date", "kind", "team_code", "participants", "hours"])
    op.drop_index("ix_volunteer_activities_date", table_name="volunteer_activities")


def downgrade() -> None:
    op.create_index("ix_volunteer_activities_date", "volunteer_activities", ["date"])
    op.drop_index("ix_volunteer_activities_date_measures", table_name="volunteer_activities")
    op.drop_table("team_summary")
