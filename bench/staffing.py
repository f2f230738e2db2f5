"""Benchmark of the grid staffing (网格力量) and volunteer (志愿服务) pages: database time of every read function of
data_access/queries/staffing.py and data_access/queries/volunteers.py at city, county and township scope (uncached), on the
full-scale dataset.

    python -m sample_data --scale full --as-of 2026-10-08 --db sqlite:///bench/full.db   # once
    python -m bench staffing [--db sqlite:///bench/full.db] [--pg postgresql+psycopg://…]

The county is 新化县 (431322, the county with micro-grids); the township is its first; the grid card shows a grid
of it that has micro-grids, the team card a team of the township.  Prints a Markdown table (medians of repeated
runs) and the dataset's sizes.  Target: each chart ≤ 300 ms.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import date, datetime
from pathlib import Path

from bench.timing import print_scope_table, timed

from sqlalchemy import func, select

from data_access.queries import staffing, volunteers
from data_access.core.access import User
from data_access.core.db import make_engine
from data_access.core.filters import CaseFilter
from data_access.core.meta import case_count
from data_access.core.schema import grids, node_paths, regions, staff, volunteer_activities, volunteer_teams

ROOT = Path(__file__).resolve().parent.parent

NOW = datetime(2026, 10, 8, 12, 0)
CITY, COUNTY = "431300", "431322"  # 新化县: the county with micro-grids
LAST12 = {"date_from": date(2025, 10, 1), "date_to": date(2026, 10, 8)}  # edge days + whole months
TEXT = "张"  # a search: staff names, a few grids and villages, some teams
USER = User("bench", role="staff")


def subjects(engine) -> dict[str, str]:
    """The township of the county, a grid with micro-grids, and a team of the township (from the data)."""
    with engine.connect() as conn:
        township = conn.execute(select(regions.c.code).where(regions.c.parent_code == COUNTY)
                                .order_by(regions.c.code).limit(1)).scalar_one()
        grid = conn.execute(select(grids.c.parent_grid_code).where(grids.c.parent_grid_code.is_not(None),
                                                                   grids.c.parent_grid_code.like(f"{COUNTY}%"))
                            .order_by(grids.c.parent_grid_code).limit(1)).scalar_one()
        p = node_paths
        team = conn.execute(select(volunteer_teams.c.team_code).select_from(volunteer_teams.join(
            p, p.c.code == func.coalesce(volunteer_teams.c.grid_code, volunteer_teams.c.region_code)))
            .where(p.c.township_code == township).order_by(volunteer_teams.c.team_code).limit(1)).scalar_one()
    return {"township": township, "grid": grid, "team": team}


def questions(engine, f: CaseFilter, s: dict[str, str]):
    p = f.with_(**LAST12)
    return [
        ("staffing summary", lambda: staffing.staffing_summary(engine, p.scope)),
        ("staffing by child region", lambda: staffing.staffing_by_child_region(engine, p.scope)),
        ("3+1+N structure gaps (6 checks)", lambda: staffing.structure_gaps(engine, p.scope)),
        ("grid workload, last 12 months", lambda: staffing.grid_workload(engine, p.scope, p.period, NOW)),
        (f"grid card ({s['grid']}, with micro-grids)",
         lambda: staffing.grid_card(engine, p.scope, p.period, s["grid"], USER)),
        (f"find grids \"{TEXT}\"", lambda: staffing.find_grids(engine, p.scope, TEXT)),
        ("volunteer summary, last 12 months", lambda: volunteers.volunteer_summary(engine, p.scope, p.period, NOW)),
        ("volunteers by child region, last 12 months",
         lambda: volunteers.volunteers_by_child_region(engine, p.scope, p.period, NOW)),
        ("team growth", lambda: volunteers.team_growth(engine, p.scope)),
        ("focus tags", lambda: volunteers.focus_tags(engine, p.scope)),
        ("activities by month and kind, last 12 months",
         lambda: volunteers.activities_by_month_kind(engine, p.scope, p.period)),
        ("inactive teams (500)", lambda: volunteers.inactive_teams(engine, p.scope, p.period, NOW)),
        ("most active teams (20), last 12 months",
         lambda: volunteers.most_active_teams(engine, p.scope, p.period, NOW)),
        (f"team card ({s['team']}), last 12 months",
         lambda: volunteers.team_card(engine, p.scope, p.period, s["team"], USER, NOW)),
        (f"find teams \"{TEXT}\"", lambda: volunteers.find_teams(engine, p.scope, TEXT)),
    ]


def sizes(engine) -> dict[str, int]:
    with engine.connect() as conn:
        def n(t, *where):
            return conn.execute(select(func.count()).select_from(t).where(*where)).scalar_one()

        return {"grids": n(grids, grids.c.parent_grid_code.is_(None)),
                "micro-grids": n(grids, grids.c.parent_grid_code.is_not(None)),
                "staff rows": n(staff), "active staff": n(staff, staff.c.active.is_(True)),
                "volunteer teams": n(volunteer_teams), "activities": n(volunteer_activities),
                "cases": case_count(engine)}


def db_rows(url: str) -> tuple[list[tuple[str, list[float]]], dict[str, int], tuple[tuple[str, str], ...]]:
    engine = make_engine(url)
    s = subjects(engine)
    scopes = (("city", CITY), ("county", COUNTY), ("township", s["township"]))
    by_label: dict[str, list[float]] = {}
    for _level, code in scopes:
        for label, fn in questions(engine, CaseFilter(region_code=code), s):
            by_label.setdefault(label, []).append(timed(fn, repeat=7, warm=True))
    return list(by_label.items()), sizes(engine), scopes


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=f"sqlite:///{ROOT / 'bench' / 'full.db'}")
    ap.add_argument("--pg", default=None, help="a PostgreSQL URL holding the same dataset")
    a = ap.parse_args()
    import sqlite3

    import sqlalchemy

    rows, n, scopes = db_rows(a.db)
    pg_rows = db_rows(a.pg)[0] if a.pg else None
    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"SQLAlchemy {sqlalchemy.__version__}; now = {NOW:%Y-%m-%d %H:%M}; period {LAST12['date_from']} – "
          f"{LAST12['date_to']}.")
    print("Dataset: " + ", ".join(f"{v:,} {k}" for k, v in n.items()) + ".")
    print("Scopes: " + ", ".join(f"{lv} {code}" for lv, code in scopes) + ".  Target: each chart ≤ 300 ms.\n")
    print_scope_table([lv for lv, _c in scopes], rows, pg_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
