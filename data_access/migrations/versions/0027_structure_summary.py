"""The staffing and volunteer pages' counts per node: ``structure_summary``

Each node of ``node_paths`` (region, grid, micro-grid) with its grid's households and residents, the active posts
serving at it by role (with the party members among them), a grid's active grid workers counting its
micro-grids', and the volunteer teams serving at it with their members.  At the province (412,529 staff,
138,839 teams, 170,769 nodes) the pages joined every staff row and team to its path on each view (issue 24);
they now add up these rows.  Kept by the loader (rebuilt) and the sync (the nodes of a batch's staff and teams;
all of it after a change of the region tree) from core/rollups.structure_select; built here for an existing
database with this revision's own statement (frozen: the same rows as ``rollups.rebuild_structure_summary``).

Revision ID: 0027
Revises: 0026
"""
import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_ROLES = ("chief_grid_leader", "grid_leader", "grid_worker", "grid_liaison", "micro_grid_leader")
_PATH = "province_code, city_code, county_code, township_code, village_code, grid_code"


def upgrade() -> None:
    op.create_table(
        "structure_summary",
        sa.Column("code", sa.String(48), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        *[sa.Column(f"{lv}_code", sa.String(32)) for lv in ("province", "city", "county", "township", "village")],
        sa.Column("grid_code", sa.String(48)),
        sa.Column("households", sa.Integer, nullable=False),
        sa.Column("population", sa.Integer, nullable=False),
        *[sa.Column(role, sa.Integer, nullable=False) for role in _ROLES],
        sa.Column("staff", sa.Integer, nullable=False),
        sa.Column("party_members", sa.Integer, nullable=False),
        sa.Column("grid_workers_in_grid", sa.Integer, nullable=False),
        sa.Column("teams", sa.Integer, nullable=False),
        sa.Column("members", sa.Integer, nullable=False),
    )
    pg = op.get_bind().dialect.name == "postgresql"
    active = "s.active IS TRUE" if pg else "s.active = 1"
    party = "CASE WHEN s.party_member IS TRUE THEN 1 ELSE 0 END" if pg else \
        "CASE WHEN s.party_member = 1 THEN 1 ELSE 0 END"
    nulls = "CAST(NULL AS VARCHAR), " * 7
    roles0 = "0, " * len(_ROLES)
    roles = "".join(f"CASE WHEN s.role = '{r}' THEN 1 ELSE 0 END, " for r in _ROLES)
    # one GROUP BY over the nodes' rows and one row per active post, micro-grid grid worker and team
    op.execute(f"""
        INSERT INTO structure_summary (code, level, {_PATH}, households, population, {", ".join(_ROLES)}, staff,
                                       party_members, grid_workers_in_grid, teams, members)
        SELECT code, max(level), max(province_code), max(city_code), max(county_code), max(township_code),
               max(village_code), max(grid_code), sum(households), sum(population),
               {", ".join(f"sum({r})" for r in _ROLES)}, sum(staff), sum(party_members),
               CASE WHEN max(level) = 'grid' THEN sum(grid_worker) + sum(grid_workers_in_grid) ELSE 0 END,
               sum(teams), sum(members)
        FROM (
            SELECT p.code AS code, p.level AS level, {', '.join('p.' + c for c in _PATH.split(', '))}, coalesce(g.households, 0) AS households,
                   coalesce(g.population, 0) AS population, {", ".join(f"0 AS {r}" for r in _ROLES)}, 0 AS staff,
                   0 AS party_members, 0 AS grid_workers_in_grid, 0 AS teams, 0 AS members
            FROM node_paths p LEFT JOIN grids g ON g.code = p.code
            UNION ALL
            SELECT coalesce(s.grid_code, s.region_code), {nulls}0, 0, {roles}1, {party}, 0, 0, 0
            FROM staff s WHERE {active}
            UNION ALL
            SELECT sp.grid_code, {nulls}0, 0, {roles0}0, 0, 1, 0, 0
            FROM staff s JOIN node_paths sp ON sp.code = s.grid_code
            WHERE {active} AND s.role = 'grid_worker' AND sp.level = 'micro_grid'
            UNION ALL
            SELECT coalesce(t.grid_code, t.region_code), {nulls}0, 0, {roles0}0, 0, 0, 1, t.members
            FROM volunteer_teams t
        ) u
        GROUP BY code
        HAVING max(level) IS NOT NULL
    """)
    for level in ("city", "county", "township", "village"):
        op.create_index(f"ix_structure_summary_{level}", "structure_summary", [f"{level}_code", "level"])
    op.create_index("ix_structure_summary_grid", "structure_summary", ["grid_code"])


def downgrade() -> None:
    op.drop_table("structure_summary")
