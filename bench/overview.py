"""Benchmark of the Overview at full scale: database time per question, whole-page render (AppTest),
region/date changes, and the peak RSS of a real `streamlit run` process visiting every level.

    python -m sample_data --scale full --as-of 2026-10-08 --db sqlite:///bench/full.db   # once
    python -m bench overview --db sqlite:///bench/full.db [--pg postgresql+psycopg://…] [--rss]

Prints a Markdown table (medians of repeated runs) for the README.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date, datetime
from pathlib import Path

from bench.timing import timed

from data_access.queries import overview
from data_access.core import counting
from data_access.core.db import make_engine
from data_access.core.filters import CaseFilter
from data_access.core.meta import case_count

ROOT = Path(__file__).resolve().parent.parent

TODAY = date(2026, 10, 8)
NOW = datetime(2026, 10, 8, 12, 0)




def overview_all(engine, f: CaseFilter) -> None:
    """Everything the Overview asks the database for one selection (uncached)."""
    overview.case_kpis_with_previous(engine, f, NOW)
    overview.monthly_cases_by_status(engine, f, NOW)
    overview.closed_cases_by_resolution_level(engine, f, NOW)
    overview.child_region_ranking(engine, f, NOW)
    if f.region_code != "431300":  # the county map (the UI's cache serves it when the city is selected)
        overview.child_region_ranking(engine, f.with_(region_code="431300"), NOW)


def db_rows(url: str) -> list[tuple[str, float]]:
    engine = make_engine(url)
    last12 = CaseFilter(region_code="431300", date_from=date(2025, 10, 1), date_to=TODAY)
    whole = CaseFilter(region_code="431300")
    rows = [
        ("Overview data, whole city, last 12 months (default)", timed(lambda: overview_all(engine, last12))),
        ("Overview data, whole city, all 3 years", timed(lambda: overview_all(engine, whole))),
        ("…county (娄星区), last 12 months", timed(lambda: overview_all(engine, last12.with_(region_code="431302")))),
        ("…township (乐坪街道), last 12 months",
         timed(lambda: overview_all(engine, last12.with_(region_code="431302001")))),
        ("…village, last 12 months",
         timed(lambda: overview_all(engine, last12.with_(region_code="431302001001")))),
        ("…whole city, custom dates 2026-01-15..2026-08-20",
         timed(lambda: overview_all(engine, whole.with_(date_from=date(2026, 1, 15), date_to=date(2026, 8, 20))))),
        ("KPIs only, whole city, with a category filter",
         timed(lambda: counting.case_kpis(engine, last12.with_(categories=("neighbour",)), NOW))),
        ("KPIs only, whole city, free-text search (raw path)",
         timed(lambda: counting.case_kpis(engine, last12.with_(text="漏水"), NOW), repeat=3)),
    ]
    return [(f"{label}", ms) for label, ms in rows], case_count(engine)


def apptest_render(url: str) -> tuple[float, float]:
    """Whole-page render time of app.py in AppTest: first (cold caches) and a region change."""
    os.environ["GOV_DB_URL"] = url
    os.environ["GOV_AUTO_DEMO"] = "0"
    from bench.timing import bench_session, open_page

    # signed in as a city-wide leader, the Overview at "/" (the frame's sign-in page had no region picker)
    at = open_page(bench_session(url), "overview", {})
    t = time.perf_counter()
    at.run()
    cold = (time.perf_counter() - t) * 1000
    assert not at.exception, at.exception
    at.selectbox(key="region_pick_431300").set_value("431302")
    at._finished_page_script_hash = ""  # see tests/test_app.py: rerun()
    t = time.perf_counter()
    at.run()
    change = (time.perf_counter() - t) * 1000
    assert not at.exception, at.exception
    return cold, change


def server_rss(url: str) -> float:
    """Peak RSS (MiB) of `streamlit run app.py` after a signed-in visit of every page in both languages
    (bench/rss.py; it replaced this script's own visit, which stopped at the sign-in page once sign-in came)."""
    from bench import rss

    return rss.run(url, progress=False)["vm_hwm_mib"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=f"sqlite:///{ROOT / 'bench' / 'full.db'}")
    ap.add_argument("--pg", default=None, help="a PostgreSQL URL holding the same dataset")
    ap.add_argument("--rss", action="store_true", help="also measure a real server's peak RSS (needs chromium)")
    a = ap.parse_args()
    import sqlite3

    import sqlalchemy
    import streamlit

    rows, n = db_rows(a.db)
    pg_rows = db_rows(a.pg)[0] if a.pg else None
    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"SQLAlchemy {sqlalchemy.__version__}, Streamlit {streamlit.__version__}; {n:,} cases.\n")
    head = "| question (median of 7, uncached) | SQLite ms |" + (" PostgreSQL ms |" if pg_rows else "")
    print(head)
    print("|---|---:|" + ("---:|" if pg_rows else ""))
    for i, (label, ms) in enumerate(rows):
        print(f"| {label} | {ms:.0f} |" + (f" {pg_rows[i][1]:.0f} |" if pg_rows else ""))
    cold, change = apptest_render(a.db)
    print(f"| Whole page render, AppTest, cold caches | {cold:.0f} |")
    print(f"| Region change (city → county), AppTest rerun | {change:.0f} |")
    if a.rss:
        print(f"| Peak RSS of `streamlit run` after every level (MB) | {server_rss(a.db):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
