"""Whole-page render time of the clean-governance units page (pages/clean_units.py), every view, a kind, an
earlier month and a unit's history, AppTest, cold caches.

    python -m bench clean_page --db sqlite:///bench/full.db [--runs 3]

Signs in as a city-wide leader (an account ``bench_leader`` is created if missing) and opens each view at city
scope (娄底市) and at 娄星区, where the units lie.  Reports the median of ``--runs`` cold renders (every cached
answer dropped before each run) and one warm rerun.  Target: ≤ 1 s cold at full scale.
"""
from __future__ import annotations

import statistics
from pathlib import Path

from bench.timing import page_bench_setup, render_page

ROOT = Path(__file__).resolve().parent.parent

LOUXING = "431302"


def _sample(url: str) -> str:
    """The unit named most recently (a village with a full year of reviews)."""
    from sqlalchemy import select

    from data_access.core.db import get_engine
    from data_access.core.schema import clean_unit_reviews as cr

    with get_engine(url).connect() as conn:
        return conn.execute(select(cr.c.unit_code).where(cr.c.notified.is_(True))
                            .order_by(cr.c.month.desc(), cr.c.unit_code).limit(1)).scalar_one()


def main() -> None:
    args, token = page_bench_setup(__doc__)
    unit = _sample(args.db)
    cases = [
        ("city", "ranking (latest month)", {"view": "ranking"}),
        ("city", "ranking, June, villages", {"view": "ranking", "month": "2026-06", "kind": "village"}),
        ("city", "units by kind and region", {"view": "units"}),
        ("city", "month by month", {"view": "months"}),
        ("娄星区", "ranking (latest month)", {"view": "ranking", "region": LOUXING}),
        ("娄星区", "units by kind and township", {"view": "units", "region": LOUXING}),
        ("娄星区", "month by month", {"view": "months", "region": LOUXING}),
        ("娄星区", f"unit history ({unit})", {"unit": unit, "region": LOUXING}),
    ]
    print(f"| scope | view | cold ms (median of {args.runs}) | warm ms |")
    print("|---|---|---:|---:|")
    for scope, label, query in cases:
        cold = [render_page(ROOT, "clean", query, token, cold=True) for _ in range(args.runs)]
        warm = render_page(ROOT, "clean", query, token, cold=False)
        print(f"| {scope} | {label} | {statistics.median(cold):.0f} | {warm:.0f} |", flush=True)


if __name__ == "__main__":
    main()
