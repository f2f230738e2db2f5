"""The early warnings (data_access/core/warnings.py): time to compute and store them, surges found, false
warnings, against the naive rule (a day above twice the mean of the four weeks before).

``python -m bench warnings --db sqlite:///bench/100k.db [--truth bench/data/100k] [--surges 20] [--seed 1]``:
works on a copy of the SQLite file (surges are injected into the copy).  Measures:

1. ``refresh`` of the whole database (what a load and a sync run), wall and CPU seconds;
2. false warnings: the surge warnings that start on each of 14 days, per county per week (an upper bound: the
   sample data may hold real anomalies), and the naive rule's on the same place × category series.  The 14
   days: ``--false-end`` and the 13 before; by default the last 14 days of the data, or with ``--truth`` the
   latest 14 days at least a week away from every injected surge and seasonal rise ("a month without
   injections");
3. detection of injected surges: ``--surges`` place (``--level``, county by default) × category series with at
   least ``--min-rate`` cases a day, each given 3 × its expected count on each of ``--surge-days`` days (5, like
   the sample's own surges) of the last 60 (one at a time, the extra cases in one of its grids).  Found when the
   warnings computed as of the start day or one of the ``--within`` days after it hold a surge of the category
   whose days cover that as-of day and whose region is the series' place, contains it (a county: the place's
   rise reported higher up by the hierarchy rule) or lies inside it (reported at the grid or village that
   carries it); the days to the first such warning (0 = on the start day).  The naive rule's on the same days.
4. with ``--truth DIR`` (the dataset's ``ground_truth.json``, sample_data/ground_truth.py): each of the sample's
   own surges (a grid's noise, a township's wage disputes before the Spring Festival, a county's fraud wave)
   found the same way — a grid's surge counts as found when the warning's region contains the grid (reported
   at its village, township or county because the hierarchy chose the parent) or is the grid, and the category
   matches; a township's or county's also when the warning lies inside it; and the wage disputes' seasonal rise
   (``seasonal``, not an anomaly) must not be flagged: the labour surge warnings starting on each day of the
   last seasonal window in the data, outside the injected township, per county per week.
"""
from __future__ import annotations

import argparse
import math
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, func, insert, select

from data_access.core import warnings as W
from data_access.core.db import make_engine
from data_access.core.rollups import apply_contributions, contributions
from data_access.core.regions import region_tree
from data_access.core.schema import cases
from sample_data.ground_truth import read as read_truth


def _timed(fn, *args):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - t0, time.process_time() - c0


LEVEL = "county"  # the series injected into and judged by the naive rule (--level; 100 k cases: below is too sparse)


def _place_days(engine, d_from, d_to) -> pd.DataFrame:
    df = W._read_counts(engine, d_from, d_to)   # rows of the day-count roll-up: n cases each
    return df.groupby(_keys())["n"].sum().reset_index()


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


def _found(tree, w, category: str, region: str, as_of) -> bool:
    """A surge warning ``w`` (computed as of ``as_of``) matches an injected surge of ``category`` in ``region``:
    the same category, its days cover ``as_of``, and its region is ``region``, contains it (the hierarchy
    reported the rise at a parent: a grid's surge at its village, township or county) or lies inside it."""
    return (w.kind == "surge" and w.category == category and w.first_day <= as_of <= w.last_day
            and (tree.contains(w.region_code, region) or tree.contains(region, w.region_code)))


def _first_found(engine, tree, category: str, region: str, start, within: int) -> int | None:
    """The days from ``start`` to the first warning that matches (None: none within ``within`` days)."""
    for k in range(within + 1):
        d = start + timedelta(days=k)
        if any(_found(tree, w, category, region, d) for w in W.compute(engine, d)):
            return k
    return None


def _quiet_end(truth, last):
    """The last day of the latest 14 days at least a week away from every injected surge and seasonal rise."""
    spans = [(s.first_day, s.last_day) for s in truth.surges] + [(s.first_day, s.last_day) for s in truth.seasonal]
    end = last
    while True:
        lo = end - timedelta(days=13)
        clash = [(a, b) for a, b in spans if a - timedelta(days=7) <= end and b + timedelta(days=7) >= lo]
        if not clash:
            return end
        end = min(a for a, _ in clash) - timedelta(days=8)


def _median(xs):
    return statistics.median(xs) if xs else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench warnings", description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="a loaded SQLite database (copied; never changed)")
    ap.add_argument("--truth", help="the dataset's folder (or its ground_truth.json): score its own surges too")
    ap.add_argument("--surges", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--level", choices=["county", "township", "village"], default=LEVEL,
                    help="the series injected into (at least --min-rate cases a day expected)")
    ap.add_argument("--no-false", dest="false_days", action="store_false", help="skip the false-warning part")
    ap.add_argument("--false-end", type=date.fromisoformat, help="the last of the 14 days of the false-warning part")
    ap.add_argument("--min-rate", type=float, default=1.0, help="cases a day a series must have to be picked")
    ap.add_argument("--surge-days", type=int, default=5, help="days each injected surge lasts (3 x each day)")
    ap.add_argument("--within", type=int, default=2, help="days after a surge's start a warning may come")
    args = ap.parse_args(argv)
    globals()["LEVEL"] = args.level
    truth = read_truth(args.truth) if args.truth else None
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
    print(f"refresh (all warnings, stored): {wall:.1f} s wall, {cpu:.1f} s CPU; {r.found} warnings", flush=True)
    tree = region_tree(engine)
    counts = _place_days(engine, last - timedelta(days=120), last)
    counties = counts["county"].nunique()

    # false warnings on the untouched data: surge warnings starting on each of 14 days
    if args.false_days:
        end = args.false_end or (_quiet_end(truth, last) if truth else last)
        fc = _place_days(engine, end - timedelta(days=60), end)
        new_surges = naive = naive4 = 0
        c0, t0 = time.process_time(), time.perf_counter()
        for k in range(14):
            d = end - timedelta(days=k)
            new_surges += sum(1 for w in W.compute(engine, d) if w.kind == "surge" and w.first_day == d)
            naive += len(naive_flags(fc, pd.Timestamp(d)))
            naive4 += len(naive_flags(fc, pd.Timestamp(d), W.MIN_OBSERVED))
        per = (time.process_time() - c0) / 14, (time.perf_counter() - t0) / 14
        weeks = 2
        print(f"surge warnings starting on the 14 days to {end}: {new_surges} = {new_surges / counties / weeks:.2f} "
              f"per county per week ({counties} counties); naive rule on {LEVEL} x category: {naive} = "
              f"{naive / counties / weeks:.1f}, with at least {W.MIN_OBSERVED} cases: {naive4} = "
              f"{naive4 / counties / weeks:.1f}  (compute as of a day: {per[0]:.2f} s CPU, {per[1]:.2f} s wall)",
              flush=True)

    # the sample's own surges and its seasonal rise
    if truth:
        for s in truth.surges:
            k = _first_found(engine, tree, s.category, s.region_code, s.first_day, args.within)
            print(f"ground truth {s.kind} ({s.region_level} {s.region_code}, {s.category}, {s.first_day} … "
                  f"{s.last_day}, {sum(s.cases_per_day)} cases against {sum(s.expected_per_day):.1f} expected): "
                  + ("not flagged within %d days" % args.within if k is None else f"flagged after {k} days"),
                  flush=True)
        windows = [x for x in truth.seasonal if x.first_day >= first + timedelta(days=W.MIN_HISTORY_DAYS)]
        if windows:
            x = windows[-1]
            wage = [s.region_code for s in truth.surges if s.kind == "township_wages"]
            n_days = (x.last_day - x.first_day).days + 1
            false_seasonal = []
            for k in range(n_days):
                d = x.first_day + timedelta(days=k)
                false_seasonal += [w for w in W.compute(engine, d) if w.kind == "surge" and w.first_day == d
                                   and w.category == x.category
                                   and not any(tree.contains(t, w.region_code) or tree.contains(w.region_code, t)
                                               for t in wage)]
            print(f"seasonal rise ({x.category} x{x.factor}, {x.first_day} … {x.last_day}): {len(false_seasonal)} "
                  f"{x.category} surge warnings outside the injected township = "
                  f"{len(false_seasonal) / counties / (n_days / 7):.2f} per county per week "
                  f"{sorted({(w.level, w.region_code) for w in false_seasonal})[:8]}", flush=True)

    # detection of injected 3x surges of --surge-days days
    rng = random.Random(args.seed)
    rate = counts[counts["day"] >= pd.Timestamp(last - timedelta(days=60))].groupby([LEVEL, "category"])["n"].sum() / 60
    candidates = sorted(k for k, v in rate.items() if v >= args.min_rate)
    picked = rng.sample(candidates, min(args.surges, len(candidates)))
    meta = W._read_counts(engine, last - timedelta(days=60), last).drop_duplicates(LEVEL)
    delays: list[int | None] = []
    naive_delays: list[int | None] = []
    naive4_delays: list[int | None] = []
    grid_of = {}
    with engine.connect() as conn:
        for v in {p[0] for p in picked}:
            grid_of[v] = conn.execute(select(cases.c.grid_code, cases.c.top_grid_code, cases.c.village_code,
                                             cases.c.township_code)
                                      .where(cases.c[f"{LEVEL}_code"] == v).limit(1)).one()
    c0, t0 = time.process_time(), time.perf_counter()
    for i, (place, category) in enumerate(picked):
        start = last - timedelta(days=rng.randint(args.surge_days + 1, 58))
        series = counts[(counts[LEVEL] == place) & (counts["category"] == category)].set_index("day")["n"]
        row = meta[meta[LEVEL] == place].iloc[0]
        grid, top, village, township = grid_of[place]
        extra, extra_rows = [], []
        for s_day in range(args.surge_days):
            day = start + timedelta(days=s_day)
            days = pd.date_range(pd.Timestamp(day - timedelta(days=8 * 7 + W.SILENT_MAX_DAYS - 1)), pd.Timestamp(day))
            m = series.reindex(days, fill_value=0).to_numpy(dtype=float)[None, :]
            exp = float(W.expected_counts(m[:, W.reference_columns(days, len(days) - 1, first)])[0])
            add = max(1, math.ceil(3 * exp) - int(m[0, -1]))
            extra += [dict(case_no=f"BENCHW{i:03d}{s_day}{j:04d}", grid_code=grid, category=category, source="patrol",
                           title="b", status="closed", reported_at=datetime(day.year, day.month, day.day, 10, j % 60),
                           closed_at=datetime(day.year, day.month, day.day, 12),
                           due_at=datetime(day.year, day.month, day.day, 23), report_month=f"{day:%Y-%m}",
                           city_code=None, county_code=row["county"], township_code=township,
                           village_code=village, top_grid_code=top) for j in range(add)]
            extra_rows.append({"county": row["county"], LEVEL: place, "category": category,
                               "day": pd.Timestamp(day), "n": add})
        nos = [e["case_no"] for e in extra]
        with engine.begin() as conn:   # the roll-ups by difference, as a write does (the warnings read case_day_counts)
            conn.execute(insert(cases), extra)
            apply_contributions(conn, {}, contributions(conn, nos))
        delays.append(_first_found(engine, tree, category, place, start, args.within))
        c2 = pd.concat([counts, pd.DataFrame(extra_rows)], ignore_index=True).groupby(_keys())["n"].sum().reset_index()
        for out, minimum in ((naive_delays, 1), (naive4_delays, W.MIN_OBSERVED)):
            out.append(next((k for k in range(args.within + 1) if (place, category) in
                             naive_flags(c2, pd.Timestamp(start + timedelta(days=k)), minimum)), None))
        with engine.begin() as conn:
            apply_contributions(conn, contributions(conn, nos), {})
            conn.execute(delete(cases).where(cases.c.case_no.like(f"BENCHW{i:03d}%")))
    n = max(1, len(picked))

    def line(name, ds):
        hit = [d for d in ds if d is not None]
        return f"{name}: {len(hit)} ({len(hit) / n:.0%}), median days to warning {_median(hit)}"

    print(f"3x surges of {args.surge_days} days injected ({LEVEL} x category, >= {args.min_rate} a day): {len(picked)}; "
          f"flagged within {args.within} days of the start — " + "; ".join(
              [line("ours", delays), line("naive rule", naive_delays),
               line(f"naive rule with at least {W.MIN_OBSERVED} cases", naive4_delays)])
          + f"  ({time.process_time() - c0:.0f} s CPU, {time.perf_counter() - t0:.0f} s wall)")
    print("   days to warning, ours:", delays)
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
