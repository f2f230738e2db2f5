"""The early warnings (data_access/core/warnings.py): time to compute and store them, surges found, false
warnings, against the naive rule (a day above twice the mean of the four weeks before).

``python -m bench warnings --db sqlite:///data.db [--surges 30] [--seed 1]``: works on a copy of the SQLite file
(surges are injected into the copy).  Measures:

1. ``refresh`` of the whole database (what a load and a sync run), wall and CPU seconds;
2. false warnings: the surge warnings that start on each of the last 14 days of the untouched data, per county
   per week (an upper bound: the sample data may hold real anomalies), and the naive rule's on the same
   place × category series;
3. detection: ``--surges`` place (``--level``, county by default) × category series with at least 1 case a day, each given 3 × its expected
   count on a day of the last 60 (one at a time, the extra cases in one of its grids), found if a surge warning
   of the category at the township, its county or a place inside it covers the day by the next day; and the
   naive rule's on the same days.
"""
from __future__ import annotations

import argparse
import math
import random
import shutil
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, func, insert, select

from data_access.core import warnings as W
from data_access.core.db import make_engine
from data_access.core.regions import region_tree
from data_access.core.schema import cases


def _timed(fn, *args):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - t0, time.process_time() - c0


LEVEL = "county"  # the series injected into and judged by the naive rule (--level; 100 k cases: below is too sparse)


def _place_days(engine, d_from, d_to) -> pd.DataFrame:
    df = W._read_counts(engine, d_from, d_to)
    return df.groupby(_keys()).size().rename("n").reset_index()


def _keys() -> list[str]:
    return [*dict.fromkeys(["county", LEVEL]), "category", "day"]


def naive_flags(counts: pd.DataFrame, day: pd.Timestamp, minimum: int = 1) -> set[tuple[str, str]]:
    """Place × category series whose count on ``day`` (at least ``minimum``) is above twice their mean of the 28
    days before."""
    past = counts[(counts["day"] < day) & (counts["day"] >= day - pd.Timedelta(days=28))]
    mean = past.groupby([LEVEL, "category"])["n"].sum() / 28
    today = counts[counts["day"] == day].set_index([LEVEL, "category"])["n"]
    ratio = today / mean.reindex(today.index).fillna(0)
    return {k for k, r in ratio.items() if r > 2 and today[k] >= minimum}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench warnings", description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="a loaded SQLite database (copied; never changed)")
    ap.add_argument("--surges", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--level", choices=["county", "township", "village"], default=LEVEL,
                    help="the series injected into (at least 1 case a day expected)")
    ap.add_argument("--no-false", dest="false_days", action="store_false", help="skip the false-warning part")
    ap.add_argument("--min-rate", type=float, default=1.0, help="cases a day a series must have to be picked")
    args = ap.parse_args(argv)
    globals()["LEVEL"] = args.level
    src = Path(args.db.removeprefix("sqlite:///"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-warn-"))
    with sqlite3.connect(src) as a, sqlite3.connect(tmp / "w.db") as b:  # with what the WAL holds
        a.backup(b)
    engine = make_engine(f"sqlite:///{tmp / 'w.db'}")
    first, last = W.data_days(engine)
    with engine.connect() as conn:
        n_cases = conn.execute(select(func.count()).select_from(cases)).scalar()
    r, wall, cpu = _timed(W.refresh, engine)
    print(f"cases {n_cases:,}; data {first} … {last}")
    print(f"refresh (all warnings, stored): {wall:.1f} s wall, {cpu:.1f} s CPU; {r.found} warnings")
    counts = _place_days(engine, last - timedelta(days=120), last)
    counties = counts["county"].nunique()

    # false warnings on the untouched data: surge warnings starting on each of the last 14 days
    new_surges = naive = naive4 = 0
    for k in range(14 if args.false_days else 0):
        d = last - timedelta(days=k)
        new_surges += sum(1 for w in W.compute(engine, d) if w.kind == "surge" and w.first_day == d)
        naive += len(naive_flags(counts, pd.Timestamp(d)))
        naive4 += len(naive_flags(counts, pd.Timestamp(d), W.MIN_OBSERVED))
    weeks = 2
    print(f"surge warnings starting on the last 14 days: {new_surges} = {new_surges / counties / weeks:.2f} "
          f"per county per week ({counties} counties); naive rule on {LEVEL} x category: {naive} = "
          f"{naive / counties / weeks:.1f}, with at least {W.MIN_OBSERVED} cases: {naive4} = "
          f"{naive4 / counties / weeks:.1f}")

    # detection of injected 3x surges
    rng = random.Random(args.seed)
    rate = counts[counts["day"] >= pd.Timestamp(last - timedelta(days=60))].groupby([LEVEL, "category"])["n"].sum() / 60
    candidates = sorted(k for k, v in rate.items() if v >= args.min_rate)
    picked = rng.sample(candidates, min(args.surges, len(candidates)))
    meta = W._read_counts(engine, last - timedelta(days=60), last).drop_duplicates(LEVEL)
    found = naive_found = naive4_found = 0
    grid_of = {}
    with engine.connect() as conn:
        for v in {p[0] for p in picked}:
            grid_of[v] = conn.execute(select(cases.c.grid_code, cases.c.top_grid_code, cases.c.village_code,
                                             cases.c.township_code)
                                      .where(cases.c[f"{LEVEL}_code"] == v).limit(1)).one()
    tree = region_tree(engine)
    for i, (place, category) in enumerate(picked):
        day = last - timedelta(days=rng.randint(2, 58))
        days = pd.date_range(pd.Timestamp(day - timedelta(days=8 * 7 + W.SILENT_MAX_DAYS - 1)), pd.Timestamp(day))
        series = counts[(counts[LEVEL] == place) & (counts["category"] == category)].set_index("day")["n"]
        m = series.reindex(days, fill_value=0).to_numpy(dtype=float)[None, :]
        exp = float(W.expected_counts(m[:, W.reference_columns(days, len(days) - 1, first)])[0])
        have = int(m[0, -1])
        add = max(0, math.ceil(3 * exp) - have)
        if add == 0:
            add = 1
        row = meta[meta[LEVEL] == place].iloc[0]
        grid, top, village, township = grid_of[place]
        extra = [dict(case_no=f"BENCHW{i:03d}{j:04d}", grid_code=grid, category=category, source="patrol", title="b",
                      status="closed", reported_at=datetime(day.year, day.month, day.day, 10, j % 60),
                      closed_at=datetime(day.year, day.month, day.day, 12), due_at=datetime(day.year, day.month,
                                                                                          day.day, 23),
                      report_month=f"{day:%Y-%m}", city_code=None, county_code=row["county"],
                      township_code=township, village_code=village, top_grid_code=top) for j in range(add)]
        with engine.begin() as conn:
            conn.execute(insert(cases), extra)
        hit = any(w.kind == "surge" and w.category == category and w.first_day <= day
                  + timedelta(days=1) and w.last_day >= day and (w.region_code == row["county"]
                                                                 or tree.contains(place, w.region_code))
                  for d in (day, day + timedelta(days=1)) for w in W.compute(engine, d))
        found += hit
        c2 = counts.copy()
        extra_row = {"county": row["county"], LEVEL: place, "category": category, "day": pd.Timestamp(day), "n": add}
        c2 = pd.concat([c2, pd.DataFrame([extra_row])], ignore_index=True)
        c2 = c2.groupby(_keys())["n"].sum().reset_index()
        naive_found += (place, category) in naive_flags(c2, pd.Timestamp(day))
        naive4_found += (place, category) in naive_flags(c2, pd.Timestamp(day), W.MIN_OBSERVED)
        with engine.begin() as conn:
            conn.execute(delete(cases).where(cases.c.case_no.like(f"BENCHW{i:03d}%")))
    print(f"3x surges injected: {len(picked)}; flagged within 2 days: {found} ({found / max(1, len(picked)):.0%}); "
          f"naive rule: {naive_found} ({naive_found / max(1, len(picked)):.0%}), with at least {W.MIN_OBSERVED} cases: "
          f"{naive4_found}")
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
