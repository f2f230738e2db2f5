"""Grid staffing (网格力量) and volunteer teams (志愿服务): totals for a region."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, and_, func, select

from .regions import region_tree, subtree_codes
from .schema import grids, staff, volunteer_teams


@dataclass(frozen=True)
class StaffingTotals:
    grids: int
    micro_grids: int
    active_grid_workers: int
    households: int
    population: int
    volunteer_teams: int
    volunteer_members: int


def grid_staffing_totals(engine: Engine, region_code: str | None = None) -> StaffingTotals:
    """Grids, micro-grids, active grid workers, residents and volunteer teams under ``region_code``."""
    villages = subtree_codes(region_tree(engine), region_code, "village")
    regions_all = subtree_codes(region_tree(engine), region_code)
    g_where = [grids.c.village_code.in_(villages)] if villages is not None else []
    t_where = [volunteer_teams.c.region_code.in_(regions_all)] if regions_all is not None else []
    is_grid = grids.c.parent_grid_code.is_(None)
    with engine.connect() as conn:
        g = conn.execute(select(
            func.count().filter(is_grid),
            func.count().filter(~is_grid),
            func.coalesce(func.sum(grids.c.households).filter(is_grid), 0),
            func.coalesce(func.sum(grids.c.population).filter(is_grid), 0),
        ).where(*g_where)).one()
        workers = conn.execute(
            select(func.count()).select_from(staff.join(grids, staff.c.grid_code == grids.c.code))
            .where(and_(staff.c.role == "grid_worker", staff.c.active.is_(True)), *g_where)
        ).scalar_one()
        teams = conn.execute(
            select(func.count(), func.coalesce(func.sum(volunteer_teams.c.members), 0)).where(*t_where)
        ).one()
    return StaffingTotals(grids=g[0], micro_grids=g[1], active_grid_workers=workers, households=int(g[2]),
                          population=int(g[3]), volunteer_teams=teams[0], volunteer_members=int(teams[1]))
