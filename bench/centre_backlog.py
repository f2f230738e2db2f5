"""Benchmark of the supervision centre's open backlog and closure-rate checks: database time per question at
city, county and township scope (uncached), on the full-scale dataset.

    python -m sample_data --scale full --as-of 2026-10-08 --db sqlite:///bench/full.db   # once
    python -m bench centre_backlog [--db sqlite:///bench/full.db] [--pg postgresql+psycopg://…]

Prints a Markdown table (medians of repeated runs).  Target: every chart ≤ 300 ms.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import date, datetime
from pathlib import Path

from bench.timing import print_scope_table, timed

from data_access.queries.supervision import backlog, integrity
from data_access.core.db import make_engine
from data_access.core.filters import CaseFilter
from data_access.core.meta import case_count

ROOT = Path(__file__).resolve().parent.parent

NOW = datetime(2026, 10, 8, 12, 0)
SCOPES = (("city", "431300"), ("county", "431302"), ("township", "431302001"))
LAST12 = {"date_from": date(2025, 10, 1), "date_to": date(2026, 10, 8)}  # edge days + whole months


def questions(engine, f: CaseFilter):
    p = f.with_(**LAST12)
    out = [
        ("backlog by age", lambda: backlog.open_backlog_by_age(engine, f, NOW)),
        ("backlog by days overdue", lambda: backlog.open_backlog_by_overdue(engine, f, NOW)),
        ("backlog by child region", lambda: backlog.open_backlog_by_child_region(engine, f, NOW)),
        ("backlog by category", lambda: backlog.open_backlog_by_category(engine, f, NOW)),
        ("overdue backlog trend, 12 month ends", lambda: backlog.overdue_backlog_trend(engine, f, 12, NOW)),
        ("integrity summary, last 12 months", lambda: integrity.integrity_summary(engine, p, NOW)),
        ("integrity by child region, last 12 months", lambda: integrity.integrity_by_child_region(engine, p, NOW)),
    ]
    for check in integrity.CHECKS:
        out.append((f"flagged list: {check} (200 newest)",
                    lambda c=check: integrity.flagged_cases(engine, p, c, 200, NOW)))
    return out


def db_rows(url: str) -> tuple[list[tuple[str, list[float]]], int]:
    engine = make_engine(url)
    by_label: dict[str, list[float]] = {}
    for _level, code in SCOPES:
        for label, fn in questions(engine, CaseFilter(region_code=code)):
            by_label.setdefault(label, []).append(timed(fn, repeat=7, warm=True))
    return list(by_label.items()), case_count(engine)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=f"sqlite:///{ROOT / 'bench' / 'full.db'}")
    ap.add_argument("--pg", default=None, help="a PostgreSQL URL holding the same dataset")
    a = ap.parse_args()
    import sqlite3

    import sqlalchemy

    rows, n = db_rows(a.db)
    pg_rows = db_rows(a.pg)[0] if a.pg else None
    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"SQLAlchemy {sqlalchemy.__version__}; {n:,} cases; now = {NOW:%Y-%m-%d %H:%M}.\n")
    print_scope_table([lv for lv, _c in SCOPES], rows, pg_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
