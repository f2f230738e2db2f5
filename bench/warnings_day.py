"""The early warnings' three targets of issue 22 at one scale, on a copy of a loaded SQLite database:

1. ``refresh`` after a load (the whole database's warnings computed and stored; target ≤ 30 s at 1.07 M);
2. ``refresh`` after a day's batch applied by the sync (``--new`` new cases, ``--changed`` open cases taken on;
   target ≤ 2 s), timed on its own, then its computation once more under cProfile by CPU time (the top
   functions by cumulative time);
3. the 风险预警 page (``/warnings``, city) rendered cold in AppTest as ``python -m bench pages`` renders it
   (target ≤ 1 s), ``--runs`` times.

    python -m bench.warnings_day --db sqlite:///bench/full.db [--new 3000] [--changed 2000] [--runs 3] [--baseline REV]

``--baseline REV``: after the day's batch, the warnings module of git revision REV (data_access/core/warnings.py
as it was there) computes the warnings on the same copy too, timed, and they must equal this code's, ``repr``
for ``repr`` (a change meant to be faster must not change a number).

Wall and CPU seconds (this process).  The sync's own recomputation is switched off (GOV_WARNINGS_AUTO=0) so that
the batch and the warnings are timed apart.  Writes bench/results/warnings-day-<scale>-sqlite.json and the
profile beside it (.prof.txt).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bench.sync import RESULTS, BatchMaker, case_count, scale_of

TARGET_DAY_S = 2.0


def _timed(fn, *args):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, round(time.perf_counter() - t0, 3), round(time.process_time() - c0, 3)


def _baseline_module(rev: str):
    """data_access/core/warnings.py as it is at git revision ``rev``, imported as a module of its own (it
    imports the rest of data_access as it is now)."""
    import importlib.util
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(["git", "show", f"{rev}:data_access/core/warnings.py"], cwd=root, check=True,
                            capture_output=True, text=True).stdout
    name = "_warnings_baseline"
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:data_access/core/warnings.py", "exec"), module.__dict__)
    return module


def _compare_with(rev: str, engine, found: list) -> dict:
    """The warnings of revision ``rev``'s code on the same data, timed, against ``found`` (this code's)."""
    old = _baseline_module(rev)
    theirs, wall, cpu = _timed(old.compute, engine)
    mine, wall2, cpu2 = _timed(__import__("data_access.core.warnings", fromlist=["compute"]).compute, engine)
    same = [repr(w) for w in theirs] == [repr(w) for w in found] == [repr(w) for w in mine]
    print(f"compute of {rev}: {wall:.2f} s wall, {cpu:.2f} s CPU; this code's: {wall2:.2f} s wall, {cpu2:.2f} s "
          f"CPU; {len(theirs)} warnings, identical (repr for repr): {same}", flush=True)
    return {"rev": rev, "compute_seconds": wall, "compute_cpu_s": cpu, "this_compute_seconds": wall2,
            "this_compute_cpu_s": cpu2, "warnings": len(theirs), "identical": same}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.warnings_day", description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="a loaded SQLite database (copied; never changed)")
    ap.add_argument("--new", type=int, default=3000, help="new cases in the day's batch")
    ap.add_argument("--changed", type=int, default=2000, help="open cases the day's batch takes a step on")
    ap.add_argument("--runs", type=int, default=3, help="cold renders of the page")
    ap.add_argument("--baseline", default=None, metavar="REV",
                    help="a git revision whose warnings module must compute the same warnings after the batch")
    ap.add_argument("--tmp", default=None, help="where the copy goes (default: the system's temporary folder)")
    args = ap.parse_args(argv)
    os.environ.update(GOV_WARNINGS_AUTO="0", GOV_AUTO_DEMO="0", GOV_NOW="2026-10-08T12:00:00")

    from data_access.core import warnings as W
    from data_access.core.db import make_engine
    from data_access.ingest.sync import sync_batch

    src = Path(args.db.removeprefix("sqlite:///"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-warnday-", dir=args.tmp))
    with sqlite3.connect(src) as a, sqlite3.connect(tmp / "w.db") as b:  # with what the WAL holds
        a.backup(b)
    url = f"sqlite:///{tmp / 'w.db'}"
    engine, wall, cpu = _timed(make_engine, url)   # an older copy is migrated here (0025 builds case_day_counts)
    out: dict = {"db": str(src), "cases": case_count(url), "migrate": {"seconds": wall, "cpu_s": cpu}}
    print(f"engine and migrations: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    r, wall, cpu = _timed(W.refresh, engine)
    out["after_load"] = {"seconds": wall, "cpu_s": cpu, "warnings": r.found}
    print(f"{out['cases']:,} cases; refresh after a load: {wall:.2f} s wall, {cpu:.2f} s CPU, {r.found} warnings",
          flush=True)

    maker = BatchMaker(engine, tmp / "batches", seed=22)
    folder, shape = maker.make(args.new, args.changed)
    res, wall, cpu = _timed(sync_batch, folder, engine)
    out["batch"] = {**shape, "seconds": wall, "cpu_s": cpu}
    print(f"a day's batch ({shape['cases']:,} cases, {shape['new']:,} new, {shape['events']:,} events) synced: "
          f"{wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    r, wall, cpu = _timed(W.refresh, engine)   # not under the profiler (it added ~40 % of CPU)
    out["after_batch"] = {"seconds": wall, "cpu_s": cpu, "warnings": r.found, "inserted": r.inserted,
                          "updated": r.updated, "retracted": r.retracted}
    print(f"refresh after the day's batch: {wall:.2f} s wall, {cpu:.2f} s CPU (target {TARGET_DAY_S} s); "
          f"{r.found} warnings, {r.inserted} new", flush=True)
    prof = cProfile.Profile(time.process_time)   # then its computation once more, profiled by CPU time
    prof.enable()
    W.compute(engine)
    prof.disable()
    # the day counts kept by difference give the warnings their rebuild gives (the roll-up rebuilt, then compared)
    from data_access.core.db import no_statement_timeout
    from data_access.core.rollups import rebuild_day_counts

    kept = W.compute(engine)
    with engine.begin() as conn, no_statement_timeout(conn):
        rebuild_day_counts(conn)
    out["after_batch"]["identical_to_rebuild"] = kept == W.compute(engine)
    print(f"warnings on the roll-up kept by difference = on its rebuild: {out['after_batch']['identical_to_rebuild']}",
          flush=True)
    if args.baseline:
        out["baseline"] = _compare_with(args.baseline, engine, kept)
    scale = scale_of(args.db)
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(40)
    (RESULTS / f"warnings-day-{scale}-sqlite.prof.txt").write_text(text.getvalue())
    stats = pstats.Stats(prof).stats
    own = sorted(((v[2], f"{Path(k[0]).name}:{k[1]} {k[2]}") for k, v in stats.items()), reverse=True)[:15]
    out["after_batch"]["top_own_time_s"] = [(round(s, 3), name) for s, name in own]

    # the page, cold (bench/pages.py's render), on the copy with the warnings stored
    engine.dispose()
    os.environ["GOV_DB_URL"] = url
    from bench.pages import DbClock, render
    from bench.timing import bench_session
    from bench.visits import Visit

    token = bench_session(url)
    clock = DbClock()
    visit = Visit("warnings", "warnings", "early warnings, city", {})
    render(token, Visit("overview", "overview", "overview, city", {}), True, clock)   # imports, as pages does
    colds, dbs, cpus = [], [], []
    for _ in range(args.runs):
        c0 = time.process_time()
        ms, db_ms, _at = render(token, visit, True, clock)
        cpus.append(round(time.process_time() - c0, 3))
        colds.append(round(ms))
        dbs.append(round(db_ms))
    out["page_cold"] = {"ms": colds, "median_ms": statistics.median(colds), "db_ms": dbs, "cpu_s": cpus}
    print(f"/warnings cold: {colds} ms (database {dbs} ms, CPU {cpus} s)", flush=True)
    (RESULTS / f"warnings-day-{scale}-sqlite.json").write_text(json.dumps(out, indent=1, default=str))
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
