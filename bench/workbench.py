"""Benchmark of the case workbench at full scale: database time of a filter change (first page, and the
count and rates shown above it), of later pages, of opening a case, of the open-orders list, and the whole
page in AppTest.

    python -m sample_data --scale full --as-of 2026-10-08 --db sqlite:///bench/full.db   # once
    python -m bench workbench --db sqlite:///bench/full.db [--pg postgresql+psycopg://…/govbench]

Prints a Markdown table (medians of repeated runs) for the README.
"""
from __future__ import annotations

import argparse
import os
import random
import time
from datetime import date, datetime
from pathlib import Path

from bench.timing import timed

from data_access.queries import cases
from data_access.core import counting
from data_access.core.db import make_engine
from data_access.core.filters import CaseFilter

ROOT = Path(__file__).resolve().parent.parent

NOW = datetime(2026, 10, 8, 12, 0)
YEAR = CaseFilter(region_code="431300", date_from=date(2025, 10, 1), date_to=date(2026, 10, 8))
FILTERS: list[tuple[str, CaseFilter]] = [
    ("city, last 12 months (default view)", YEAR),
    ("whole tree, all time", CaseFilter()),
    ("county 娄星区, 12 months", YEAR.with_(region_code="431302")),
    ("township, 12 months", YEAR.with_(region_code="431302002")),
    ("category + open statuses", YEAR.with_(categories=("neighbour", "property"),
                                            statuses=("accepted", "dispatched", "handling"))),
    ("overdue only (open or closed late)", YEAR.with_(overdue="any")),
    ("open overdue only", YEAR.with_(overdue="open")),
    ("supervised only", YEAR.with_(supervised_only=True)),
    ("source hotline, all time", CaseFilter(sources=("hotline",))),
    ("satisfaction 1–2", YEAR.with_(satisfaction=(1, 2))),
    ("search 漏水, whole tree", CaseFilter(text="漏水")),
    ("search 邻里纠纷 in a county", YEAR.with_(region_code="431302", text="邻里纠纷")),
]




def bench_db(url: str) -> list[tuple[str, str, float]]:
    eng = make_engine(url)
    out: list[tuple[str, str, float]] = []
    for name, f in FILTERS:
        for sort in cases.SORTS:
            out.append((f"first page · {name}", sort, timed(lambda f=f, s=sort: cases.case_page(eng, f, sort=s,
                                                                                               now=NOW))))
        out.append((f"count and rates · {name}", "", timed(lambda f=f: counting.case_kpis(eng, f, NOW))))
    for sort in cases.SORTS:
        p = cases.case_page(eng, YEAR, sort=sort, now=NOW)
        out.append(("next page (keyset) from page 1", sort,
                    timed(lambda p=p, s=sort: cases.case_page(eng, YEAR, sort=s, page=2, cursor=p.next, now=NOW))))
        last = cases.case_page(eng, YEAR, sort=sort, page=10**9, now=NOW)
        out.append(("last page", sort, timed(lambda s=sort: cases.case_page(eng, YEAR, sort=s, page=10**9,
                                                                            now=NOW))))
        out.append(("previous page (keyset) from the last", sort,
                    timed(lambda s=sort, c=last.prev: cases.case_page(eng, YEAR, sort=s, page=c.page, cursor=c,
                                                                      now=NOW))))
        mid = last.pages // 2
        out.append((f"jump to the middle page ({mid:,}, offset)", sort,
                    timed(lambda s=sort, m=mid: cases.case_page(eng, YEAR, sort=s, page=m, now=NOW), repeat=3)))
    ids = list(cases.case_page(eng, CaseFilter(), page_size=500, now=NOW).rows["case_no"])
    random.Random(7).shuffle(ids)
    sample = iter(ids * 3)
    out.append(("open a case (detail, steps, log, orders)", "", timed(
        lambda: cases.case_detail(eng, next(sample), None, now=NOW), repeat=21)))
    out.append(("open supervision orders of the city", "", timed(
        lambda: cases.open_supervisions(eng, YEAR, NOW))))
    out.append(("open order counts of the city", "", timed(
        lambda: cases.open_supervision_counts(eng, YEAR, NOW))))
    eng.dispose()
    return out


def bench_page(url: str) -> tuple[float, float]:
    """Whole workbench page in AppTest: first run (cold caches) and a rerun with a new search."""
    from streamlit.testing.v1 import AppTest

    os.environ["GOV_DB_URL"] = url
    os.environ["GOV_AUTO_DEMO"] = "0"
    os.environ["GOV_NOW"] = NOW.isoformat()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("pages/cases.py")
    t = time.perf_counter()
    at.run()
    cold = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    at.text_input(key="wb_q").input("纠纷").run()
    change = (time.perf_counter() - t) * 1000
    assert not at.exception, at.exception
    return cold, change


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=f"sqlite:///{ROOT / 'bench' / 'full.db'}")
    ap.add_argument("--pg", default=None, help="PostgreSQL URL holding the same dataset")
    ap.add_argument("--no-page", action="store_true", help="skip the AppTest page timing")
    args = ap.parse_args()
    results = {"SQLite": bench_db(args.db)}
    if args.pg:
        results["PostgreSQL"] = bench_db(args.pg)
    names = list(results)
    print("| question | sort | " + " | ".join(f"{n} ms" for n in names) + " |")
    print("|---|---|" + "---:|" * len(names))
    for i, (q, sort, _) in enumerate(results[names[0]]):
        print(f"| {q} | {sort} | " + " | ".join(f"{results[n][i][2]:.0f}" for n in names) + " |")
    if not args.no_page:
        cold, change = bench_page(args.db)
        print(f"\nWhole page (AppTest, SQLite): first render {cold:.0f} ms, new search {change:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
