"""Whole-page render time of the grid-staffing, volunteer-team and idle-asset pages (pages/staffing.py,
pages/volunteers.py, pages/assets.py), every view and the cards, AppTest, cold caches.

    python -m bench forces_page --db sqlite:///bench/full.db [--runs 3]

Signs in as a city-wide leader (an account ``bench_leader`` is created if missing) and opens each view
with the frame's default period (last 12 months), at city scope; the cards open a grid with micro-grids
and a team of the same county.  Reports the median of ``--runs`` cold renders (every cached answer dropped
before each run) and one warm rerun.  Target: ≤ 1 s cold at full scale.  The database part of each
question is timed by bench/staffing.py.
"""
from __future__ import annotations

import statistics
from pathlib import Path

from bench.timing import page_bench_setup, render_page

ROOT = Path(__file__).resolve().parent.parent


def _samples(url: str) -> tuple[str, str]:
    from sqlalchemy import select

    from data_access.core.db import get_engine
    from data_access.core.schema import grids, volunteer_teams

    with get_engine(url).connect() as conn:
        grid = conn.execute(select(grids.c.parent_grid_code).where(grids.c.parent_grid_code.is_not(None))
                            .order_by(grids.c.parent_grid_code).limit(1)).scalar_one()
        team = conn.execute(select(volunteer_teams.c.team_code).where(volunteer_teams.c.grid_code == grid)
                            .limit(1)).scalar_one_or_none() or \
            conn.execute(select(volunteer_teams.c.team_code).limit(1)).scalar_one()
    return grid, team


def main() -> None:
    args, token = page_bench_setup(__doc__)
    grid, team = _samples(args.db)
    cases = [
        ("staffing", "by region", {"view": "regions"}),
        ("staffing", "3+1+N", {"view": "structure"}),
        ("staffing", "workload", {"view": "workload"}),
        ("staffing", "find '李'", {"view": "find", "q": "李"}),
        ("staffing", "grid card", {"region": grid}),
        ("volunteers", "overview", {"view": "overview"}),
        ("volunteers", "activities", {"view": "activities"}),
        ("volunteers", "teams", {"view": "teams"}),
        ("volunteers", "team card", {"team": team}),
        # the sample's idle-asset projects lie in 岳阳市
        ("assets", "portfolio (岳阳市)", {"view": "portfolio", "region": "430600"}),
        ("assets", "revenue and guarantees", {"view": "money", "region": "430600"}),
        ("assets", "visitors", {"view": "visitors", "region": "430600"}),
        ("assets", "projects", {"view": "projects", "region": "430600"}),
        ("assets", "project card", {"project": "YY-DTNL-01", "region": "430600"}),
    ]
    print(f"| page | view | cold ms (median of {args.runs}) | warm ms |")
    print("|---|---|---:|---:|")
    for page, label, query in cases:
        cold = [render_page(ROOT, page, query, token, cold=True) for _ in range(args.runs)]
        warm = render_page(ROOT, page, query, token, cold=False)
        print(f"| {page} | {label} | {statistics.median(cold):.0f} | {warm:.0f} |", flush=True)


if __name__ == "__main__":
    main()
