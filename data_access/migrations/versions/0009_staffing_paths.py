"""Grid staffing and volunteer teams: ancestor paths of every region and grid, and the grid roll-up

- ``node_paths``: each region, grid and micro-grid with the codes of its ancestors (one column per level), so
  that staff, volunteer teams and grids can be counted by any level in SQL.
- ``grid_summary``: report month × top grid, the cases reported in each grid (grid workers' workload),
  maintained by the loader and every write path like ``case_summary``.
- ``volunteer_activities`` is indexed by (team, date) instead of team alone: a region's teams' activities
  in a period and each team's last activity are read by key.
Existing data is brought up to date here.

Revision ID: 0009
Revises: 0008
"""
from alembic import op

from data_access.core.schema import grid_summary, node_paths

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    op.drop_index("ix_volunteer_activities_team_code", table_name="volunteer_activities")
    op.create_index("ix_volunteer_activities_team_date", "volunteer_activities", ["team_code", "date"])
    node_paths.create(bind)
    grid_summary.create(bind)
    from data_access.core.regions import rebuild_node_paths
    from data_access.core.rollups import rebuild_grid_summary

    rebuild_node_paths(bind)
    rebuild_grid_summary(bind)


def downgrade() -> None:
    op.drop_index("ix_volunteer_activities_team_date", table_name="volunteer_activities")
    op.create_index("ix_volunteer_activities_team_code", "volunteer_activities", ["team_code"])
    op.drop_table("grid_summary")
    op.drop_table("node_paths")
