"""Query plans under every kind of planner statistics: the access path of the questions whose plan once hung on
the statistics, checked under exact (a full ANALYZE), sampled (as after a load) and no statistics; a plan that
leaves its intended index fails loudly (exit status 1).

    python -m bench plans --db sqlite:///bench/full.db [--db postgresql+psycopg://…/gov_bench_full] [--times]

Issue 24: the ranking's "still open now" count at a county took 2.5 s instead of 31 ms at 1.07 M cases once a
full ANALYZE made SQLite skip-scan ix_cases_township_reported (``ANY(township_code) AND reported_at<?``).  The
statistics are changed inside a transaction that is rolled back, so the dataset is left as it was (SQLite:
``PRAGMA analysis_limit=0`` + ``ANALYZE`` for exact, ``analysis_limit=2000`` for sampled, the sqlite_stat1 rows
deleted for none, each reloaded with ``ANALYZE sqlite_schema``; PostgreSQL: ``ANALYZE cases`` with
``default_statistics_target`` 10000, a sample of 3 M rows (every row up to that size), for exact, and 100, the
default, for sampled and none: PostgreSQL has no planning without statistics after a load).  ``--times`` also runs
each question under each kind of statistics (median of 3: wall ms, and CPU ms of this process on SQLite, of
the backend on PostgreSQL).  tests/test_ranking_plan.py checks the same plans on the small fixture in CI.
"""
from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Select

NOW = datetime(2026, 10, 8, 12, 0)
MONTH = "2026-09"
COUNTY = "431302"   # 娄星区: the county of issue 24


@dataclass(frozen=True)
class Check:
    name: str
    stmt: Select
    sqlite: str   # what SQLite's EXPLAIN QUERY PLAN must say (a regular expression)
    pg: str       # what PostgreSQL's EXPLAIN must say (an index-only scan of a partial index once the table is
                  # vacuumed; a bitmap scan of it before: the loader's ANALYZE sets no visibility map)


def ranking_checks(engine: Engine, county: str = COUNTY, month: str = MONTH, now: datetime = NOW) -> list[Check]:
    """The two branches of the ranking's overdue backlog (ranking._backlog_selects) and the month's cases closed
    after the cut-off (ranking._closed_after_select, the region's (parent, report time) index: once a skip-scan of
    the unit's index under exact statistics) for the townships of ``county``, the villages of its first township
    and the counties of its city."""
    from data_access.core.filters import Scope
    from data_access.core.regions import region_tree
    from data_access.queries.supervision import ranking

    tree = region_tree(engine)
    city = tree.nodes[county].parent
    township = next(k.code for k in tree.children(county) if k.level == "township")
    ats = [ranking._as_of(month, now), ranking._as_of(ranking.previous_month(month), now)]
    out = []
    for level, parent in (("township", county), ("village", township), ("county", city)):
        r = ranking._resolve_parent(engine, Scope(), level, parent)
        still_open, closed_late = ranking._backlog_selects(r, level, ats)
        where = f"{'counties' if level == 'county' else level + 's'} of {tree.nodes[parent].name}"
        out.append(Check(f"ranking backlog, still open: {where}", still_open,
                         r"COVERING INDEX ix_cases_open_by_due \(due_at<\?\)",
                         r"(using|Bitmap Index Scan on) ix_cases_open(_by_due)?\s"))
        out.append(Check(f"ranking backlog, closed late: {where}", closed_late,
                         r"INDEX ix_cases_late_closed \(closed_at>\?\)",
                         r"(using|Bitmap Index Scan on) ix_cases_late_closed\s"))
        first, last, _ = ranking.month_bounds(month)
        parent_index = {"township": "county", "village": "township", "county": "city"}[level]
        out.append(Check(f"ranking month, closed after the cut-off: {where}",
                         ranking._closed_after_select(r, level, first, last, now, ranking.status_at(month, now, 1)),
                         rf"INDEX ix_cases_{parent_index}_reported \({parent_index}_code=\? AND reported_at>\? AND "
                         r"reported_at<\?\)" if parent_index != "city"
                         else r"INDEX ix_cases_reported(_cover)? \(reported_at>\? AND reported_at<\?\)",
                         r"Index (Only )?Scan"))   # PostgreSQL: some index, never the whole table
    return out


def duplicate_checks(engine: Engine, county: str = COUNTY, now: datetime = NOW) -> list[Check]:
    """The repeat-case view's counts of stored groups and its cases reported again after closing
    (queries/supervision/duplicates.py) for ``county``: read from the few rows they start from (the groups; the
    re-reported cases through ix_cases_rereported_closed), never the county's cases (~250 ms each at 1.07 M when
    SQLite took the county's index)."""
    from data_access.core.filters import Scope, resolve
    from data_access.queries.supervision import duplicates

    r = resolve(engine, Scope(county))
    by_state, members = duplicates._counts_selects(r)
    county_index = r"INDEX ix_cases_county"
    return [
        Check("repeat cases, groups by state: a county", by_state, rf"^(?!.*{county_index}).*SCAN duplicate_groups",
              r"^(?!.*ix_cases_county).*"),
        Check("repeat cases, confirmed groups' cases: a county", members, rf"^(?!.*{county_index})",
              r"^(?!.*ix_cases_county).*"),
        Check("repeat cases, reported again after closing: a county",
              duplicates._reported_again_select(r, *duplicates._since(now)),
              r"INDEX ix_cases_rereported_closed \(closed_at>\? AND closed_at<\?\)",
              r"ix_cases_rereported_closed"),
    ]


def backlog_checks(engine: Engine, county: str = COUNTY, now: datetime = NOW) -> list[Check]:
    """The supervision centre's open backlog by child region (queries/supervision/backlog.py) at the city of
    ``county``: the open cases read from an open-case partial index, never the city's every case in the order of a
    county index to spare their sort (2.6 s of CPU at the city of skewed-full, issue 24)."""
    from data_access.core.filters import CASE_LEVEL_COLUMN, CaseFilter, resolve
    from data_access.queries.supervision import backlog

    r = resolve(engine, CaseFilter(region_code=engine_tree_parent(engine, county)))
    stmt = backlog.grouped_select(r, now, CASE_LEVEL_COLUMN[r.tree.child_level(r.code)])
    return [Check("backlog by child region: counties of the city", stmt,
                  r"^(?!.*ix_cases_county).*INDEX ix_cases_open", r"^(?!.*ix_cases_county).*")]


def engine_tree_parent(engine: Engine, code: str) -> str:
    from data_access.core.regions import region_tree

    return region_tree(engine).nodes[code].parent


def all_checks(engine: Engine) -> list[Check]:
    """Every plan the suite checks: the ranking's, the repeat-case view's and the backlog's."""
    return [*ranking_checks(engine), *duplicate_checks(engine), *backlog_checks(engine)]


def sql_of(engine: Engine, stmt: Select) -> str:
    """The statement with its values written in (what the planner sees with ``force_custom_plan`` too)."""
    return str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))


def explain(conn, dialect: str, sql: str) -> str:
    """The plan as one line: SQLite's EXPLAIN QUERY PLAN details, or PostgreSQL's EXPLAIN lines, joined by "; "."""
    if dialect == "sqlite":
        return "; ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
    return "; ".join(row[0].strip() for row in conn.exec_driver_sql("EXPLAIN " + sql))


# --- statistics, set inside the open transaction -------------------------------------------------------------

def _sqlite_stats(conn: sqlite3.Connection, kind: str | tuple) -> None:
    """``kind``: one of STATS, or sqlite_stat1 rows (tbl, idx, stat) to plan with (another database's)."""
    if isinstance(kind, tuple):
        conn.execute("ANALYZE sqlite_schema")   # makes sqlite_stat1 if missing
        conn.execute("DELETE FROM sqlite_stat1")
        conn.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", kind)
        conn.execute("ANALYZE sqlite_schema")
        return
    if kind == "as found":
        return
    if kind == "none":
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            conn.execute("DELETE FROM sqlite_stat1")
        conn.execute("ANALYZE sqlite_schema")
        return
    conn.execute(f"PRAGMA analysis_limit={0 if kind == 'exact' else 2000}")
    conn.execute("ANALYZE cases")


def _pg_stats(conn, kind: str) -> None:
    if kind == "as found":
        return
    if kind == "none":  # PostgreSQL always has statistics after a load; the default sample is the floor
        kind = "sampled"
    conn.exec_driver_sql(f"SET LOCAL default_statistics_target = {10000 if kind == 'exact' else 100}")
    conn.exec_driver_sql("ANALYZE cases")


STATS = ("as found", "exact", "sampled", "none")


def _median_ms(run: Callable[[], object], cpu: Callable[[], float], n: int = 3) -> tuple[float, float]:
    """Median wall and CPU ms of ``n`` runs (``cpu``: seconds of CPU so far of whoever does the work)."""
    wall, used = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), cpu()
        run()
        wall.append((time.perf_counter() - t0) * 1000)
        used.append((cpu() - c0) * 1000)
    return statistics.median(wall), statistics.median(used)


def _backend_cpu(conn) -> Callable[[], float]:
    """Seconds of CPU of ``conn``'s PostgreSQL backend so far (same machine only; /proc)."""
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()

    def read() -> float:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return read


def run(url: str, times: bool = False, checks: Callable[[Engine], list[Check]] = ranking_checks,
        stats: tuple = STATS, pg_settings: tuple[str, ...] = ()) -> list[dict]:
    """Every check under every kind of ``stats``: [{check, stats, plan, ok, ms: (wall, CPU) or None}].
    ``pg_settings``: SET LOCAL statements for PostgreSQL's planner (a test's tiny table: enable_seqscan = off)."""
    from data_access.core.db import make_engine

    engine = make_engine(url)
    checks = checks(engine)
    dialect = engine.dialect.name
    sqls = [(c, sql_of(engine, c.stmt)) for c in checks]
    out = []
    if dialect == "sqlite":
        conn = sqlite3.connect(engine.url.database, isolation_level=None)
        try:
            for kind in stats:
                conn.execute("BEGIN")
                try:
                    _sqlite_stats(conn, kind)
                    for c, sql in sqls:
                        plan = explain(conn, dialect, sql)
                        ms = _median_ms(lambda: conn.execute(sql).fetchall(), time.process_time) if times else None
                        out.append({"check": c.name, "stats": kind if isinstance(kind, str) else "given",
                                    "plan": plan, "ok": re.search(c.sqlite, plan) is not None, "ms": ms})
                finally:
                    conn.execute("ROLLBACK")
        finally:
            conn.close()
    else:
        for kind in stats:
            with engine.connect() as conn:
                cpu = _backend_cpu(conn)
                _pg_stats(conn, kind)
                for setting in pg_settings:
                    conn.exec_driver_sql(f"SET LOCAL {setting}")
                for c, sql in sqls:
                    plan = explain(conn, dialect, sql)
                    ms = _median_ms(lambda: conn.exec_driver_sql(sql).all(), cpu) if times else None
                    out.append({"check": c.name, "stats": kind, "plan": plan,
                                "ok": re.search(c.pg, plan) is not None, "ms": ms})
                conn.rollback()
    engine.dispose()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", action="append", required=True, help="a database URL (repeat for several)")
    ap.add_argument("--times", action="store_true", help="also time each question (CPU ms of this process)")
    a = ap.parse_args()
    failed = 0
    for url in a.db:
        print(f"\n{url.split('@')[-1]}\n")
        print("| question | statistics | plan | ok |" + (" wall ms | CPU ms |" if a.times else ""))
        print("|---|---|---|---|" + ("---:|---:|" if a.times else ""))
        for row in run(url, a.times, checks=all_checks):
            failed += not row["ok"]
            ms = f" {row['ms'][0]:.1f} | {row['ms'][1]:.1f} |" if a.times else ""
            print(f"| {row['check']} | {row['stats']} | `{row['plan']}` | {'ok' if row['ok'] else 'REGRESSED'} |{ms}")
    if failed:
        print(f"\n{failed} plan(s) left their intended index", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
