"""Whole-page render time of every view of the supervision centre (pages/supervision.py), AppTest, cold caches.

    python bench/bench_supervision_page.py --db sqlite:///bench/full.db [--runs 3]

Signs in as a city-wide leader (an account ``bench_leader`` is created if missing), opens each view with the
frame's default period (last 12 months) and reports the median of ``--runs`` cold renders (every cached
answer dropped before each run) and one warm rerun.  The data_access part of each view is timed by the
bench_centre_* scripts; this is what a user waits for, data and layout together.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VIEWS = ("backlog", "steps", "departments", "bounces", "orders", "integrity", "ranking")


def _session(url: str) -> str:
    from data_access import users
    from data_access.db import get_engine

    engine = get_engine(url)
    account = users.get_account(engine, "bench_leader") or users.add_user(
        engine, "bench_leader", display_name="基准测试", role="leader", scope_code=None)
    return users.open_session(engine, account.as_user())


def render(url: str, view: str, token: str, cold: bool) -> float:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    if cold:
        st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state["_auth"] = token
    at.query_params["view"] = view
    at.run()
    t0 = time.perf_counter()
    at.switch_page("pages/supervision.py").run()
    ms = (time.perf_counter() - t0) * 1000
    if at.exception:
        raise SystemExit(f"{view}: {at.exception[0].value}")
    return ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite:///bench/full.db")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    os.environ["GOV_DB_URL"] = args.db
    os.environ["GOV_AUTO_DEMO"] = "0"
    token = _session(args.db)
    print(f"{'view':<12} {'cold ms (median)':>17} {'warm ms':>8}")
    for view in VIEWS:
        cold = [render(args.db, view, token, cold=True) for _ in range(args.runs)]
        warm = render(args.db, view, token, cold=False)
        print(f"{view:<12} {statistics.median(cold):>17.0f} {warm:>8.0f}")


if __name__ == "__main__":
    main()
