"""python -m sample_data --scale demo|full [--seed N] [--as-of YYYY-MM-DD] [--out DIR] [--no-load] [--db URL]

Generates a sample dataset (into --out, or a temporary folder) and loads it
through the validated loader, replacing what the database holds.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from .generator import SCALES, generate


def _printer(prefix: str):
    last = {"msg": None, "pct": -1}
    t0 = time.perf_counter()

    def cb(fraction: float, message: str = "") -> None:
        pct = int(max(0.0, min(1.0, fraction)) * 100)
        if message != last["msg"] or pct >= last["pct"] + 10:
            print(f"[{prefix} {pct:3d}% {time.perf_counter() - t0:6.1f}s] {message}", flush=True)
            last["msg"], last["pct"] = message, pct

    return cb


EXIT_LOCKED = 4  # as data_access.cli: another load or sync is running


def _load(out: Path, engine):
    """Load the generated folder (replacing the data) and finish it as the app's first start does: the sample time
    limits, the demo accounts, the repeat-case proposals (sample_data.load_sample_folder)."""
    from . import load_sample_folder

    t1 = time.perf_counter()
    result = load_sample_folder(out, engine, progress=_printer("load"), say=print)
    print(f"loaded in {time.perf_counter() - t1:.1f}s")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sample_data", description=__doc__.splitlines()[2].strip())
    ap.add_argument("--scale", choices=sorted(SCALES), default="demo")
    ap.add_argument("--seed", type=int, default=20231008)
    ap.add_argument("--as-of", type=dt.date.fromisoformat, default=None,
                    help="cases cover the 3 years before this date (default: today, Asia/Shanghai)")
    ap.add_argument("--out", type=Path, default=None, help="write the CSV files here (kept)")
    ap.add_argument("--no-load", action="store_true", help="only generate, do not load into the database")
    ap.add_argument("--db", default=None, help="database URL (default: GOV_DB_URL or the embedded SQLite file)")
    args = ap.parse_args(argv)

    tmp = None
    if args.out is not None:
        out = args.out
    elif args.no_load:
        out = Path(tempfile.mkdtemp(prefix="sample_data_"))  # kept: it is the only result
    else:
        tmp = tempfile.TemporaryDirectory(prefix="sample_data_")
        out = Path(tmp.name)
    try:
        t0 = time.perf_counter()
        counts = generate(out, scale=args.scale, seed=args.seed, as_of=args.as_of, progress=_printer("generate"))
        print(f"generated {sum(counts.values()):,} rows in {time.perf_counter() - t0:.1f}s into {out}")
        for name, n in counts.items():
            print(f"  {name:28s} {n:>10,}")
        if args.no_load:
            return 0
        from data_access.core.db import get_engine
        from data_access.ingest.loader import DatasetInvalid
        from data_access.ingest.watch import LockHeld, sync_lock

        engine = get_engine(args.db)
        try:
            # the one lock of load and sync (data_access/core/locks.py): a sync or load running now is not
            # replaced under its feet; this load is refused instead, exit code 4 as `python -m data_access load`
            with sync_lock(engine, "load"):
                result = _load(out, engine)
        except LockHeld as exc:
            print(f"{exc}; nothing was loaded, the database is unchanged", file=sys.stderr)
            return EXIT_LOCKED
        except DatasetInvalid as exc:
            print(f"the loader refused the dataset ({len(exc.problems)} problem(s)):", file=sys.stderr)
            for p in exc.problems[:50]:
                print(f"  - {p}", file=sys.stderr)
            return 1
        for w in getattr(result, "warnings", [])[:20]:
            print(f"  warning: {w}")
        return 0
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
