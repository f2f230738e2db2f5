"""The escalation pass (``python -m data_access escalate``) at scale: its dry run, the first pass that issues
the backlog's orders, and the next pass that finds nothing new (target: ≤ 5 s over 1.07 M cases).

    python -m bench escalation [--scale full] [--pg URL|''] [--runs 3] [--upgrade]

On a copy of the suite's dataset (bench/datasets.py; SQLite bench/esc-<scale>.db, PostgreSQL <db>_esc), with the
four shipped rules (core/escalation.DEFAULT_RULES) switched on, the clock at the dataset's as-of day.  Wall and
CPU time (this process, plus on PostgreSQL the server process of its connection).  Also the suite's part
``escalation``.  ``--upgrade``: a fifth rule too, of action 升级 (UPGRADE_RULE: the whole case 72 hours past its
due time), whose cases move one level up case by case through the workflow's write (results
escalation-<scale>-<backend>-upgrade.json).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime

from sqlalchemy import func, select, update

from bench.sync import PG_DEFAULT, RESULTS, _backend_pid, _proc_cpu, dataset_url, drop_copy, working_copy

AS_OF = datetime(2026, 10, 8, 12, 0)
UPGRADE_RULE = dict(name="逾期三天 升级", step="case", measure="hours_past", threshold=72.0, grade="upgrade")


def _timed(engine, fn):
    pid = _backend_pid(engine)
    c0, s0, t0 = time.process_time(), _proc_cpu(pid), time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t0, 3), round(time.process_time() - c0 + _proc_cpu(pid) - s0, 3)


def run(url: str, runs: int = 3, upgrade: bool = False) -> dict:
    from data_access.core.access import User
    from data_access.core.db import get_engine
    from data_access.core.schema import cases, escalation_rules, supervisions
    from data_access.writes import escalation

    copy = working_copy(url, "esc")
    try:
        engine = get_engine(copy)
        with engine.begin() as conn:
            conn.execute(update(escalation_rules).values(enabled=True))
        if upgrade:
            escalation.add_rule(engine, User("bench", role="admin", username="bench"), enabled=True, **UPGRADE_RULE)
        with engine.begin() as conn:
            n_cases = conn.execute(select(func.count()).select_from(cases)).scalar_one()
            n_open = conn.execute(select(func.count()).select_from(cases).where(cases.c.status != "closed")).scalar_one()
        dry = [_timed(engine, lambda: escalation.escalate(engine, AS_OF, dry_run=True)) for _ in range(runs)]
        first, first_s, first_cpu = _timed(engine, lambda: escalation.escalate(engine, AS_OF))
        nxt = [_timed(engine, lambda: escalation.escalate(engine, AS_OF)) for _ in range(runs)]
        with engine.connect() as conn:
            issued = conn.execute(select(func.count()).select_from(supervisions)
                                  .where(supervisions.c.rule_id.is_not(None))).scalar_one()
        engine.dispose()
        return {"cases": n_cases, "open": n_open, "rules": 5 if upgrade else 4,
                "orders_planned": sum(p["grade"] != "upgrade" for p in dry[0][0].planned),
                "upgrades_planned": sum(p["grade"] == "upgrade" for p in dry[0][0].planned),
                "upgraded": len(first.upgraded), "upgrade_skipped": len(first.skipped),
                "dry_run_s": [d[1] for d in dry], "dry_run_cpu_s": [d[2] for d in dry],
                "dry_run_median_s": statistics.median(d[1] for d in dry),
                "first_pass": {"orders": len(first.issued), "seconds": first_s, "cpu_s": first_cpu},
                "next_pass_s": [n[1] for n in nxt], "next_pass_cpu_s": [n[2] for n in nxt],
                "next_pass_median_s": statistics.median(n[1] for n in nxt),
                "next_pass_orders": [len(n[0].issued) for n in nxt], "orders_in_db": issued}
    finally:
        drop_copy(copy)


def main() -> int:
    ap = argparse.ArgumentParser(prog=sys.argv[0], description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", default="full", choices=["100k", "full", "5m"])
    ap.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server URL ('' = SQLite only)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--upgrade", action="store_true", help="a fifth rule of action 升级 (UPGRADE_RULE)")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for backend in ("sqlite", "pg") if args.pg else ("sqlite",):
        url = dataset_url(args.scale, backend, args.pg, "gov_bench_")
        result = run(url, args.runs, args.upgrade)
        suffix = "-upgrade" if args.upgrade else ""
        (RESULTS / f"escalation-{args.scale}-{backend}{suffix}.json").write_text(json.dumps(result, indent=1))
        print(f"{backend}: {result['cases']:,} cases ({result['open']:,} open); dry run "
              f"{result['dry_run_median_s']:.2f} s ({result['orders_planned']:,} orders); first pass "
              f"{result['first_pass']['seconds']:.2f} s for {result['first_pass']['orders']:,} orders "
              f"(CPU {result['first_pass']['cpu_s']:.2f} s); next pass {result['next_pass_median_s']:.2f} s"
              + (f"; {result['upgraded']:,} cases moved one level up ({result['upgrade_skipped']} skipped)"
                 if args.upgrade else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
