"""Benchmark of the monthly ranking and bulletin (一月一排名、一月一通报) at full scale: database time of the
ranking at each level, of the whole bulletin, and of its two renderings (Excel, printable HTML).

    python -m sample_data --scale full --as-of 2026-10-08 --db sqlite:///bench/full.db   # once
    python -m bench ranking --db sqlite:///bench/full.db [--pg postgresql+psycopg://…] [--month 2026-09]

Prints a Markdown table (medians of repeated, uncached runs) for the README.  The issue's budget: the
bulletin for one month ≤ 5 s at 1.07 M cases.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import datetime
from pathlib import Path

from bench.timing import timed

from data_access.queries.supervision import ranking
from data_access.core.db import make_engine
from data_access.core.filters import CaseFilter
from data_access.core.meta import case_count
from data_access.core.regions import region_tree
from ui.bulletin import bulletin_html, bulletin_workbook

ROOT = Path(__file__).resolve().parent.parent

NOW = datetime(2026, 10, 8, 12, 0)
CITY = "431300"


def _first_child(engine, code: str, level: str) -> str:
    """The first unit of ``level`` below ``code`` that has children (a real county / township of the data)."""
    tree = region_tree(engine)
    return next(k.code for k in tree.children(code) if k.level == level and tree.children(k.code))


def db_rows(url: str, month: str) -> tuple[list[tuple[str, float]], int]:
    engine = make_engine(url)
    f = CaseFilter(scope_code=CITY)
    county = _first_child(engine, CITY, "county")
    township = _first_child(engine, county, "township")
    tree = region_tree(engine)
    name = {c: tree.nodes[c].name for c in (CITY, county, township)}
    b = ranking.bulletin_data(engine, f.scope, month, "township", county, now=NOW)
    rows = [
        (f"ranking: counties of the city ({name[CITY]})",
         timed(lambda: ranking.monthly_ranking(engine, f.scope, month, "county", CITY, now=NOW))),
        (f"ranking: townships of the city ({name[CITY]})",
         timed(lambda: ranking.monthly_ranking(engine, f.scope, month, "township", CITY, now=NOW))),
        (f"ranking: townships of a county ({name[county]})",
         timed(lambda: ranking.monthly_ranking(engine, f.scope, month, "township", county, now=NOW))),
        (f"ranking: villages of a township ({name[township]})",
         timed(lambda: ranking.monthly_ranking(engine, f.scope, month, "village", township, now=NOW))),
        (f"bulletin data: counties of the city ({name[CITY]})",
         timed(lambda: ranking.bulletin_data(engine, f.scope, month, "county", CITY, now=NOW))),
        (f"bulletin data: townships of a county ({name[county]})",
         timed(lambda: ranking.bulletin_data(engine, f.scope, month, "township", county, now=NOW))),
        (f"bulletin data: villages of a township ({name[township]})",
         timed(lambda: ranking.bulletin_data(engine, f.scope, month, "village", township, now=NOW))),
        ("bulletin Excel workbook (townships of a county)", timed(lambda: bulletin_workbook(b, "zh"))),
        ("bulletin printable HTML (townships of a county)", timed(lambda: bulletin_html(b, "zh"))),
        ("whole bulletin: data + Excel + HTML (counties of the city)", timed(lambda: _whole(engine, f, month))),
    ]
    n = case_count(engine)
    engine.dispose()
    return rows, n


def _whole(engine, f: CaseFilter, month: str) -> None:
    b = ranking.bulletin_data(engine, f.scope, month, "county", CITY, now=NOW)
    bulletin_workbook(b, "zh")
    bulletin_html(b, "zh")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=f"sqlite:///{ROOT / 'bench' / 'full.db'}")
    ap.add_argument("--pg", default=None, help="a PostgreSQL URL holding the same dataset")
    ap.add_argument("--month", default="2026-09", help="the bulletin's month (YYYY-MM)")
    a = ap.parse_args()
    import sqlite3

    import sqlalchemy

    rows, n = db_rows(a.db, a.month)
    pg_rows = db_rows(a.pg, a.month)[0] if a.pg else None
    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"SQLAlchemy {sqlalchemy.__version__}; {n:,} cases; month {a.month}, now {NOW:%Y-%m-%d %H:%M}.\n")
    print("| question (median of 5, uncached) | SQLite ms |" + (" PostgreSQL ms |" if pg_rows else ""))
    print("|---|---:|" + ("---:|" if pg_rows else ""))
    for i, (label, ms) in enumerate(rows):
        print(f"| {label} | {ms:.0f} |" + (f" {pg_rows[i][1]:.0f} |" if pg_rows else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
