"""Every page and view (bench/visits.py) rendered whole in AppTest: cold (every cached answer dropped), warm
(a second session while the cache holds the answers), the database time inside the cold render, and a filter
change (median of ``--runs``, each right after a cold render; wall and the process's CPU time); on the case
list also the next page.

    python -m bench pages --db sqlite:///bench/full.db [--runs 3] [--json OUT]

Signed in as a city-wide leader, now = 2026-10-08 12:00 (GOV_NOW), the frame's default period (last 12
months).  Database time is the time SQLAlchemy spends in cursor execution (its ``before/after_cursor_execute``
events) during the cold render: what the page waits for the database, all queries of the page together.
The filter change is a region change (city → 娄星区) in the sidebar's picker where the page starts at the
city, otherwise a period change (last 12 months → this year).  On a dataset whose root is a province (the
province sample, issue 24) or that has no 娄星区, the region change goes to the root's first child instead
(湖南省 → 长沙市): ``change_target``.  Targets: ≤ 1 s cold at 1.07 M and at 5 M cases
(issue 24), ≤ 300 ms a filter change.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NOW = "2026-10-08T12:00:00"


class DbClock:
    """Milliseconds spent in cursor execution on any engine of this process while ``on``."""

    def __init__(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        self.ms = 0.0
        self.queries = 0
        event.listen(Engine, "before_cursor_execute", self._before)
        event.listen(Engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info.setdefault("_bench_t0", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        t0 = conn.info["_bench_t0"].pop()
        self.ms += (time.perf_counter() - t0) * 1000
        self.queries += 1

    def reset(self) -> None:
        self.ms, self.queries = 0.0, 0


def _check(at, label: str) -> None:
    if at.exception:
        raise SystemExit(f"{label}: {at.exception[0].value}")


def _timed_run(at) -> float:
    t0 = time.perf_counter()
    at.run()
    return (time.perf_counter() - t0) * 1000


def render(token: str, visit, cold: bool, clock: DbClock) -> tuple[float, float, object]:
    """(ms, database ms) of switching to the visit's page with its query; returns the AppTest for more steps."""
    import streamlit as st

    if cold:
        st.cache_data.clear()
    from bench.timing import open_page

    at = open_page(token, visit.path, visit.query)
    clock.reset()
    ms = _timed_run(at)
    _check(at, visit.label)
    return ms, clock.ms, at


def change_target(db_url: str) -> tuple[str, str]:
    """(code, name) of the region a region change goes to: 娄星区 under a city root that holds it (the city
    sample), else the first root's first child (a province's first city)."""
    from bench.visits import LOUXING
    from data_access.core.db import get_engine
    from data_access.core.regions import region_tree

    tree = region_tree(get_engine(db_url))
    first = tree.get(tree.roots[0]) if tree.roots else None
    if LOUXING in tree.nodes and (first is None or first.level != "province"):
        return LOUXING, tree.nodes[LOUXING].name
    kids = tree.children(first.code) if first is not None else []
    if not kids:
        raise SystemExit("no region to change to: the dataset's root has no children")
    return kids[0].code, kids[0].name


def filter_change(token: str, visit, target: tuple[str, str] | None = None) -> tuple[str, float]:
    what, ms, _cpu = filter_change_cpu(token, visit, target)
    return what, ms


def filter_change_cpu(token: str, visit, target: tuple[str, str] | None = None) -> tuple[str, float, float]:
    """A region change city → 娄星区 when the page starts at the city, else a period change (→ this year); on the
    audit log, which follows its own filters, an event filter (→ exports).

    Timed as the server runs it: the page with the new selection in its URL, the cache holding the answers of the
    selection before (the cold render just ran), so every question of the new selection is asked.  Not a widget
    change and ``at.run()``: AppTest 1.67 cannot rerun a page of a ``pages/`` folder after an interaction
    (tests/test_app.rerun), and that rerun executed nothing — the filter-change column measured 2026-12-06 and
    before (198–231 ms at 1.07 M) timed an empty run.  The page must show the new region, or the run stops."""
    from bench.timing import open_page
    from bench.visits import LOUXING

    code, name = target or (LOUXING, "娄星区")   # the region to change to (run: change_target)
    query = dict(visit.query)
    if visit.page == "audit":   # the audit log follows its own filters (the user's jurisdiction, not the frame's)
        query["event"], what = "export", "event → export"
    elif "region" not in query:
        query["region"], what = code, f"region → {name}"
    else:
        query["period"], what = "ytd", "period → this year"
    at = open_page(token, visit.path, query)
    cpu0 = time.process_time()
    ms = _timed_run(at)
    cpu = (time.process_time() - cpu0) * 1000
    _check(at, f"{visit.label}: {what}")
    if what.startswith("region") and at.title and name not in at.title[0].value:
        raise SystemExit(f"{visit.label}: {what} did not apply (title {at.title[0].value!r})")
    return what, ms, cpu


def next_page(at) -> float:
    from ui.i18n import CATALOG

    label = CATALOG["wb.page.next"]["zh"]
    btn = next(b for b in at.button if b.label == label)
    btn.click()
    ms = _timed_run(at)
    _check(at, "next page")
    return ms


def run(db_url: str, runs: int = 3, only: str | None = None) -> list[dict]:
    """One row per visit: cold (median of ``runs``), warm, database ms of the cold render, filter change."""
    os.environ.update(GOV_DB_URL=db_url, GOV_AUTO_DEMO="0", GOV_NOW=NOW)
    from bench.timing import bench_session
    from bench.visits import every_page, samples

    token = bench_session(db_url)
    target = change_target(db_url)
    clock = DbClock()
    rows = []
    visits = every_page(samples(db_url))
    first = visits[0]
    if only:   # --only overview,cases: those pages' visits
        visits = [v for v in visits if v.page in only.split(",")]
    # The process's first render also imports the pages' modules (Altair, pandas' Styler, …), which a server
    # has done long before a user's click: one untimed render first.
    render(token, first, True, clock)
    for visit in visits:
        colds, dbs, changes, change_cpus = [], [], [], []
        for _ in range(runs):   # each change right after a cold render: the new selection is not cached yet
            ms, db_ms, at = render(token, visit, True, clock)
            colds.append(ms)
            dbs.append(db_ms)
            what, change, change_cpu = filter_change_cpu(token, visit, target)
            changes.append(change)
            change_cpus.append(change_cpu)
        warm, _, at = render(token, visit, False, clock)
        change = statistics.median(changes)
        row = {"page": visit.path, "label": visit.label, "query": visit.query_string,
               "cold_ms": statistics.median(colds), "db_ms": statistics.median(dbs), "warm_ms": warm,
               "change": what, "change_ms": change, "change_cpu_ms": statistics.median(change_cpus)}
        if visit.page == "cases" and not visit.query:
            row["next_page_ms"] = next_page(at)
        rows.append(row)
        print(f"  {visit.label:48s} cold {row['cold_ms']:7.0f}  db {row['db_ms']:6.0f}  warm {warm:6.0f}  "
              f"{what} {change:6.0f} (CPU {row['change_cpu_ms']:.0f})" + (f"  next page {row['next_page_ms']:.0f}" if "next_page_ms" in row else ""),
              flush=True)
    return rows


def print_table(rows: list[dict]) -> None:
    print("| page / view | cold ms | of it database | warm ms | filter change ms | of it CPU |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['label']} | {r['cold_ms']:.0f} | {r['db_ms']:.0f} | {r['warm_ms']:.0f} | {r['change_ms']:.0f} "
              f"| {r['change_cpu_ms']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=f"sqlite:///{ROOT / 'bench' / 'full.db'}")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--only", default=None, help="pages (files under pages/, comma-separated) to visit")
    args = ap.parse_args()
    rows = run(args.db, args.runs, args.only)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
