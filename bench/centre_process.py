"""Benchmark of the supervision centre's process questions at full scale: database time of each function of
data_access/queries/supervision/process.py and data_access/queries/supervision/effect.py at city, county and township scope.

    python -m sample_data --scale full --as-of 2026-10-08 --db sqlite:///bench/full.db   # once
    python -m bench centre_process --db sqlite:///bench/full.db [--pg postgresql+psycopg://…]

Prints a Markdown table (medians of 5 uncached runs, ms); the budget is 300 ms per chart.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import date, datetime
from pathlib import Path

from bench.timing import timed

from data_access.queries.supervision import process
from data_access.queries.supervision import effect as se
from data_access.core.db import make_engine
from data_access.core.filters import CaseFilter
from data_access.core.meta import case_count

ROOT = Path(__file__).resolve().parent.parent

NOW = datetime(2026, 10, 8, 12, 0)
SCOPES = [("city", "431300"), ("county", "431302"), ("township", "431302001")]
LAST12 = {"date_from": date(2025, 10, 1), "date_to": date(2026, 10, 8)}  # edge days at the end, as the default

QUESTIONS = [
    ("time per step, by category", lambda e, f: process.step_time_distribution(e, f, "category", NOW)),
    ("time per step, by department", lambda e, f: process.step_time_distribution(e, f, "department", NOW)),
    ("department table", lambda e, f: process.department_table(e, f, NOW)),
    ("bounced cases (≥ 2 returns, top 200)", lambda e, f: process.bounced_cases(e, f, now=NOW)),
    ("bounced case count", lambda e, f: process.bounced_case_count(e, f, now=NOW)),
    ("bounce pairs", lambda e, f: process.bounce_pairs(e, f, now=NOW)),
    ("supervision effect by grade", lambda e, f: se.supervision_effect_by_grade(e, f, NOW)),
    ("repeat orders", lambda e, f: se.repeat_orders(e, f, now=NOW)),
    ("repeat order count", lambda e, f: se.repeat_order_count(e, f, NOW)),
    ("orders past deadline", lambda e, f: se.orders_past_deadline(e, f, NOW)),
]


def db_rows(url: str, whole: bool) -> tuple[list[tuple[str, list[float]]], int]:
    engine = make_engine(url)
    period = {} if whole else LAST12
    rows = []
    for label, fn in QUESTIONS:
        ms = [timed(lambda fn=fn, code=code: fn(engine, CaseFilter(scope_code=code, **period)))
              for _level, code in SCOPES]
        rows.append((label, ms))
    raw = CaseFilter(scope_code="431300", sources=("hotline",), **period)  # a filter the roll-up cannot answer
    rows.append(("time per step, by category, raw path (source filter)",
                 [timed(lambda code=code: process.step_time_distribution(engine, raw.with_(region_code=code),
                                                                         "category", NOW), repeat=3)
                  for _l, code in SCOPES]))
    return rows, case_count(engine)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=f"sqlite:///{ROOT / 'bench' / 'full.db'}")
    ap.add_argument("--pg", default=None, help="a PostgreSQL URL holding the same dataset")
    ap.add_argument("--whole", action="store_true", help="all 3 years instead of the last 12 months")
    a = ap.parse_args()
    import sqlite3

    import sqlalchemy

    rows, n = db_rows(a.db, a.whole)
    pg_rows = db_rows(a.pg, a.whole)[0] if a.pg else None
    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"SQLAlchemy {sqlalchemy.__version__}; {n:,} cases; period: "
          f"{'all 3 years' if a.whole else '2025-10-01..2026-10-08'}.\n")
    levels = [lvl for lvl, _c in SCOPES]
    head = "| question (median, uncached, ms) | " + " | ".join(f"SQLite {lvl}" for lvl in levels) + " |"
    sep = "|---|" + "---:|" * len(levels)
    if pg_rows:
        head += " " + " | ".join(f"PG {lvl}" for lvl in levels) + " |"
        sep += "---:|" * len(levels)
    print(head)
    print(sep)
    for i, (label, ms) in enumerate(rows):
        line = f"| {label} | " + " | ".join(f"{m:.0f}" for m in ms) + " |"
        if pg_rows:
            line += " " + " | ".join(f"{m:.0f}" for m in pg_rows[i][1]) + " |"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
