"""The benchmark suite in one command: builds the datasets once (cached), measures every part on SQLite and
PostgreSQL, and writes bench/results/REPORT.md (the README's performance tables come from it) with, beside it,
bench/results/REPORT.json: every number of the report, which the next report compares with (its "Against the
previous report" section calls out regressions and improvements beyond 20 % and an absolute minimum, and lists
new and vanished measurements; bench/report.py).

    python -m bench [--scales 100k,full,5m] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                    [--parts pages,article,export,rss,concurrency,alternatives,scaleout,sync,escalation,plans]
                    [--runs 3]
    python -m bench --report        # only rewrite REPORT.md from the results already measured

(``python -m bench suite …`` is the same.)

Parts (each in a fresh Python process, so its memory and caches are its own; results in bench/results/*.json):
  pages         every page and view (bench/visits.py) in AppTest: cold, warm, database time, a filter change,
                the next page of the case list (bench/pages.py) — every scale, both databases
  article       the newspaper page's figures (9,708 grids, 1.07 M cases, 99 % closed …) read back from the
                dataset (bench/article.py, tests/test_article_figures.py) — full scale, both databases
  export        100,000 cases as CSV and as Excel, time and peak RSS (bench/export.py) — full scale
  rss           peak RSS of a real `streamlit run` after visiting every page in Chinese and English
                (bench/rss.py) — every scale, both databases
  concurrency   20 sessions at once on one server, filter changes for 60 s (bench/concurrency.py) — full
  alternatives  the same questions the usual ways: a pandas page, a DuckDB page and Datasette
                (bench/alternatives.py) — SQLite, 100k and full (pandas would need about 20 GB at 5m; at 5m
                run it by hand: python -m bench alternatives --db sqlite:///bench/5m.db --skip-pandas)
  scaleout      two app processes behind nginx on one PostgreSQL (bench/scaleout.py) — full, PostgreSQL
  sync          incremental sync (bench/sync.py): on a copy of the dataset, a batch of 1 case and one of 10,000
                cases — full and 5m; 20 reading sessions beside a sync every 10 s — full; 300 batches of the
                100k sample against a full load of it, table by table — 100k; both databases

  escalation    the escalation pass with the shipped rules on: dry run, first pass, next pass (bench/escalation.py)
                — full and 5m, both databases
  plans         the access path of the questions whose plan once hung on the planner's statistics, under exact
                (full ANALYZE), sampled and no statistics, in a rolled-back transaction (bench/plans.py) — full and
                5m, both databases.  A plan that leaves its intended index is listed first in the report and
                makes the suite exit with status 1.

The PostgreSQL server URL's database name is replaced by gov_bench_<scale> (bench/datasets.py).

The load of the skewed dataset (shared phones, a busy grid, a dominant category, an open backlog, long logs;
issue 24) is its own command, as it measures the load rather than a loaded database:
``python -m bench load-skewed [--scales skewed-100k,skewed-200k,skewed-full] [--pg URL]`` (bench/load_skewed.py).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"

ALL_PARTS = ("pages", "article", "export", "rss", "concurrency", "alternatives", "scaleout", "sync", "escalation",
             "plans")
# Which (scale, backend) each part runs on.
WHERE = {
    "pages": lambda scale, backend: True,
    "rss": lambda scale, backend: True,
    "article": lambda scale, backend: scale == "full",
    "export": lambda scale, backend: scale == "full",
    "concurrency": lambda scale, backend: scale == "full",
    "alternatives": lambda scale, backend: backend == "sqlite" and scale != "5m",  # pandas needs ~20 GB at 5 M
    "scaleout": lambda scale, backend: scale == "full" and backend == "pg",
    "sync": lambda scale, backend: True,
    "escalation": lambda scale, backend: scale != "100k",
    "plans": lambda scale, backend: scale != "100k",
}


def measure_part(part: str, url: str, runs: int) -> object:
    """Run one part in this process and return its JSON-able result."""
    os.environ.update(GOV_DB_URL=url, GOV_AUTO_DEMO="0", GOV_NOW="2026-10-08T12:00:00")
    if part == "pages":
        from bench import pages

        return pages.run(url, runs)
    if part == "article":
        from bench import article

        return article.run(url)
    if part == "export":
        from bench import export

        return {fmt: export.measure(url, "100k", fmt) for fmt in ("csv", "xlsx")}
    if part == "rss":
        from bench import rss

        return rss.run(url)
    if part == "concurrency":
        from bench import concurrency

        # Tabs that click again 0.5–1.5 s after each answer (a stress test), and tabs whose users read
        # each answer for 3–8 s before the next click.
        return {"busy": concurrency.run(url, sessions=20, seconds=60, think=(0.5, 1.5)),
                "reading": concurrency.run(url, sessions=20, seconds=60, think=(3.0, 8.0))}
    if part == "alternatives":
        from bench import alternatives

        return alternatives.run(url, runs)
    if part == "scaleout":
        from bench import scaleout

        return scaleout.run(url, sessions=20, seconds=60, think=(0.5, 1.5))
    if part == "sync":
        from bench import sync

        return sync.suite_part(url, runs)
    if part == "escalation":
        from bench import escalation

        return escalation.run(url, runs)
    if part == "plans":
        from bench import plans

        return plans.run(url, times=True, checks=plans.all_checks)
    raise SystemExit(f"unknown part {part!r}; expected one of {', '.join(ALL_PARTS)}")


def result_path(part: str, scale: str, backend: str) -> Path:
    return RESULTS / f"{part}-{scale}-{backend}.json"


def run_part(part: str, scale: str, backend: str, url: str, runs: int) -> bool:
    """The part in a fresh process; its result file is replaced only when it finishes."""
    out = result_path(part, scale, backend)
    tmp = out.with_suffix(".tmp")
    print(f"\n== {part} · {scale} · {backend}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench", "suite", "--one", part, url, str(tmp), "--runs", str(runs)],
                          cwd=ROOT)
    if proc.returncode != 0:
        print(f"!! {part} · {scale} · {backend} failed (exit {proc.returncode}); earlier results kept", flush=True)
        tmp.unlink(missing_ok=True)
        return False
    tmp.replace(out)
    print(f"   done in {time.perf_counter() - t0:.0f} s", flush=True)
    return True


def machine() -> dict:
    import sqlite3

    import pandas
    import sqlalchemy
    import streamlit

    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    from importlib.metadata import PackageNotFoundError, version

    bench_only = {}
    for pkg in ("duckdb", "datasette"):  # the comparison's tools (bench/requirements.txt)
        try:
            bench_only[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "postgresql": pg,
            "sqlalchemy": sqlalchemy.__version__, "streamlit": streamlit.__version__, "pandas": pandas.__version__,
            **bench_only, "measured": time.strftime("%Y-%m-%d")}


def dataset_facts(url: str) -> dict:
    from sqlalchemy import func, select

    from data_access.core.db import get_engine
    from data_access.core.schema import case_events, cases

    with get_engine(url).connect() as conn:
        return {"cases": conn.execute(select(func.count()).select_from(cases)).scalar_one(),
                "events": conn.execute(select(func.count()).select_from(case_events)).scalar_one()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="100k,full,5m")
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                    help="a PostgreSQL server URL ('' for SQLite only)")
    ap.add_argument("--parts", default=",".join(ALL_PARTS))
    ap.add_argument("--runs", type=int, default=3, help="cold renders per page (median)")
    ap.add_argument("--report", action="store_true", help="only rewrite REPORT.md")
    ap.add_argument("--one", nargs=3, metavar=("PART", "URL", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.one:
        part, url, out = args.one
        Path(out).write_text(json.dumps(measure_part(part, url, args.runs), ensure_ascii=False, indent=1,
                                        default=str))
        return
    if not args.report:
        from bench import datasets

        parts = [p for p in args.parts.split(",") if p]
        unknown = set(parts) - set(ALL_PARTS)
        if unknown:
            raise SystemExit(f"unknown part(s) {', '.join(sorted(unknown))}; expected {', '.join(ALL_PARTS)}")
        facts = {"machine": machine(), "datasets": {}}
        failed = []
        for scale in args.scales.split(","):
            urls = {"sqlite": datasets.ensure_sqlite(scale)}
            if args.pg:
                urls["pg"] = datasets.ensure_pg(scale, args.pg)
            facts["datasets"][scale] = dataset_facts(urls["sqlite"])
            for backend, url in urls.items():
                for part in parts:
                    if WHERE[part](scale, backend) and not run_part(part, scale, backend, url, args.runs):
                        failed.append(f"{part}-{scale}-{backend}")
        facts_path = RESULTS / "facts.json"
        old = json.loads(facts_path.read_text()) if facts_path.exists() else {"datasets": {}}
        facts["datasets"] = {**old.get("datasets", {}), **facts["datasets"]}
        facts_path.write_text(json.dumps(facts, ensure_ascii=False, indent=1))
        if failed:
            print("failed parts: " + ", ".join(failed), file=sys.stderr)
    from bench import report

    report.write(RESULTS)
    print(f"\nwrote {RESULTS / 'REPORT.md'}")
    regressed = report.plan_regressions(RESULTS)
    if regressed:
        print("\n!! QUERY PLAN REGRESSED (bench/plans.py; REPORT.md, 'Query plans'):\n  " + "\n  ".join(regressed),
              file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
