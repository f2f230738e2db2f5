"""The Overview's open and overdue counts on the skewed data (issue 24): counted from every open case, as before,
against open = cases − closed of the roll-ups and overdue = open − the cases not yet due, back to back.

    python -m bench datasets --scales skewed-100k                        # once (bench/skewed-100k.db)
    python -m bench open-counts --db sqlite:///bench/skewed-100k.db [--db postgresql+psycopg://…/gov_bench_skewed-100k]

For each database and question: the median of ``--runs`` uncached calls, wall ms and CPU ms (this process's
user + system time, which holds SQLite's work; for PostgreSQL also its backend's, read from /proc — same
machine only), first the counting of every open case (``counting.open_overdue_counts_from_cases`` in place of
``open_overdue_from_counts``: the code before issue 24), then the current one.  The machine is shared: CPU
time is the steadier number.  The answers of both are compared on every question and must be equal.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from data_access.core import counting
from data_access.core.db import make_engine
from data_access.core.filters import CaseFilter
from data_access.core.meta import case_count
from data_access.queries import overview

NOW = datetime(2026, 10, 8, 12, 0)
CITY = "431300"


def _backend_cpu(engine) -> Callable[[], float]:
    """Seconds of CPU of the PostgreSQL backends of ``engine``'s pool so far (0 on SQLite)."""
    if engine.dialect.name != "postgresql":
        return lambda: 0.0
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()

    def read() -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return read


@contextmanager
def counting_every_open_case():
    """The code before issue 24: open and overdue counted from every open case of the selection."""
    def old(engine, f, counts, group_by, now):
        return counting.open_overdue_counts_from_cases(engine, f, group_by, now)
    saved = counting.open_overdue_from_counts, overview.open_overdue_from_counts, counting.open_overdue_counts
    counting.open_overdue_from_counts = overview.open_overdue_from_counts = old
    counting.open_overdue_counts = counting.open_overdue_counts_from_cases
    try:
        yield
    finally:
        counting.open_overdue_from_counts, overview.open_overdue_from_counts, counting.open_overdue_counts = saved


def questions(engine) -> list[tuple[str, Callable[[], object]]]:
    last12 = CaseFilter(scope_code=CITY, region_code=CITY, date_from=date(2025, 10, 1), date_to=date(2026, 10, 8))
    whole = CaseFilter(scope_code=CITY, region_code=CITY)

    def open_part(f, g):
        counts = counting.case_counts(engine, f, g, NOW, histogram=False)
        return lambda: counting.open_overdue_from_counts(engine, f, counts, g, NOW)

    def page(f):
        return lambda: (overview.case_kpis_with_previous(engine, f, NOW),
                        overview.monthly_cases_by_status(engine, f, NOW),
                        overview.closed_cases_by_resolution_level(engine, f, NOW),
                        overview.child_region_ranking(engine, f, NOW))
    return [
        # the open part alone, given the case counts the Overview's callers have already (before: every open case
        # of the selection counted; after: only those not yet due read)
        ("open part: city, last 12 months", open_part(last12, ())),
        ("open part: by county, city, last 12 months", open_part(last12, ("child",))),
        ("open part: whole tree (admin), all time", open_part(CaseFilter(), ())),
        ("KPIs with previous period, city, last 12 months",
         lambda: overview.case_kpis_with_previous(engine, last12, NOW)),
        ("child-region ranking, city, last 12 months", lambda: overview.child_region_ranking(engine, last12, NOW)),
        ("child-region ranking, city, all time", lambda: overview.child_region_ranking(engine, whole, NOW)),
        ("child-region ranking, county 娄星区, last 12 months",
         lambda: overview.child_region_ranking(engine, last12.with_(region_code="431302"), NOW)),
        ("Overview's data, city, last 12 months", page(last12)),
        ("Overview's data, city, all time", page(whole)),
    ]


def measure(fn: Callable[[], object], runs: int, backend: Callable[[], float]) -> tuple[float, float, object]:
    walls, cpus = [], []
    out = fn()   # one untimed call: the region tree and the database's pages in memory, as on a running app
    for _ in range(runs):
        w, c, b = time.perf_counter(), time.process_time(), backend()
        fn()
        walls.append((time.perf_counter() - w) * 1000)
        cpus.append((time.process_time() - c + backend() - b) * 1000)
    return statistics.median(walls), statistics.median(cpus), out


def _same(a, b) -> bool:
    if hasattr(a, "sort_values"):
        cols = list(a.columns)
        return (a.sort_values(cols).reset_index(drop=True).astype(str)
                .equals(b.sort_values(cols).reset_index(drop=True).astype(str)))
    if isinstance(a, tuple):
        return all(_same(x, y) for x, y in zip(a, b))
    return a == b


def entries_read(engine) -> tuple[int, int]:
    """Open cases of the city (what the count of every open case reads) and those due at or after NOW (what
    the current read reads)."""
    from sqlalchemy import func, select

    from data_access.core.filters import open_condition
    from data_access.core.schema import cases

    with engine.connect() as conn:
        every = conn.execute(select(func.count()).where(open_condition(), cases.c.city_code == CITY)).scalar_one()
        ahead = conn.execute(select(func.count()).where(open_condition(), cases.c.city_code == CITY,
                                                        cases.c.due_at >= NOW)).scalar_one()
    return every, ahead


def run(url: str, runs: int) -> list[tuple[str, float, float, float, float]]:
    engine = make_engine(url)
    backend = _backend_cpu(engine)
    rows = []
    for label, fn in questions(engine):
        with counting_every_open_case():
            ow, oc, old = measure(fn, runs, backend)
        nw, nc, new = measure(fn, runs, backend)
        if not _same(old, new):
            raise SystemExit(f"{label}: the answers differ on {url}")
        rows.append((label, ow, oc, nw, nc))
    return rows, case_count(engine), engine.dialect.name, entries_read(engine)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", action="append", required=True, help="a database holding the skewed data (repeatable)")
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start; median of {a.runs}, ms\n")
    for url in a.db:
        rows, n, dialect, (every, ahead) = run(url, a.runs)
        print(f"{dialect}, {n:,} cases, now = {NOW:%Y-%m-%d %H:%M}; the city's open cases {every:,}, of which due "
              f"at or after now {ahead:,}:\n")
        print("| question | before wall | before CPU | after wall | after CPU |")
        print("|---|---:|---:|---:|---:|")
        for label, ow, oc, nw, nc in rows:
            print(f"| {label} | {ow:.0f} | {oc:.0f} | {nw:.0f} | {nc:.0f} |")
        print()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
