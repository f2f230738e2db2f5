"""Whole-page render time of every view of the supervision centre (pages/supervision.py), AppTest, cold caches.

    python -m bench supervision_page --db sqlite:///bench/full.db [--runs 3]

Signs in as a city-wide leader (an account ``bench_leader`` is created if missing), opens each view with the
frame's default period (last 12 months) and reports the median of ``--runs`` cold renders (every cached
answer dropped before each run) and one warm rerun.  The data_access part of each view is timed by the
bench/centre_*.py; this is what a user waits for, data and layout together.
"""
from __future__ import annotations

import statistics
from pathlib import Path

from bench.timing import page_bench_setup, render_page

ROOT = Path(__file__).resolve().parent.parent

VIEWS = ("backlog", "steps", "departments", "bounces", "orders", "integrity", "ranking")


def main() -> None:
    args, token = page_bench_setup(__doc__)
    print(f"{'view':<12} {'cold ms (median)':>17} {'warm ms':>8}")
    for view in VIEWS:
        cold = [render_page(ROOT, "supervision", {"view": view}, token, cold=True) for _ in range(args.runs)]
        warm = render_page(ROOT, "supervision", {"view": view}, token, cold=False)
        print(f"{view:<12} {statistics.median(cold):>17.0f} {warm:>8.0f}")


if __name__ == "__main__":
    main()
