"""Benchmark of the case export (data_access/queries/case_export.py) at full scale: seconds, peak RSS and file size
of exporting ~100,000 cases (a date range) and all 1.07 M cases, as CSV and as XLSX, on SQLite and PostgreSQL.

    python -m bench export [--db sqlite:///bench/full.db] [--pg postgresql+psycopg://…/govbench]

Each export runs in a fresh Python process, so its peak RSS (VmHWM) is its own; "before" is the process's
RSS just before the export starts (interpreter, pandas, SQLAlchemy, engine), "peak" the high-water mark of
the whole process.  Files go to a temporary directory and are deleted after measuring.  Prints a Markdown
table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NOW = datetime(2026, 10, 8, 12, 0)
DEFAULT_DB = f"sqlite:///{ROOT / 'bench' / 'full.db'}"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/govbench"
# ~100,000 cases: the whole city, 2026-07-08 .. 2026-10-08 (98,975 cases in the full-scale sample).
SIZES: dict[str, tuple[str, dict]] = {
    "100k": ("city, 2026-07-08..2026-10-08",
             {"region_code": "431300", "date_from": date(2026, 7, 8), "date_to": date(2026, 10, 8)}),
    "all": ("everything", {}),
}


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def run_one(url: str, size: str, fmt: str) -> dict:
    """One export in this process; returns its measurements."""
    from data_access.queries import case_export as ce
    from data_access.core.access import User
    from data_access.core.db import make_engine
    from data_access.core.filters import CaseFilter

    engine = make_engine(url)
    f = CaseFilter(**SIZES[size][1])
    write = ce.write_csv if fmt == "csv" else ce.write_xlsx
    kw = {"sheet_name": "案件"} if fmt == "xlsx" else {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"export.{fmt}"
        before = _status_kb("VmRSS")
        t = time.perf_counter()
        rows = write(engine, f, path, user=User("bench", role="staff"), now=NOW, headers={}, labels={}, **kw)
        seconds = time.perf_counter() - t
        file_bytes = path.stat().st_size
    return {"rows": rows, "seconds": seconds, "before_mb": before / 1024, "peak_mb": _status_kb("VmHWM") / 1024,
            "bytes": file_bytes}


def measure(url: str, size: str, fmt: str) -> dict:
    """run_one in a child process (a fresh peak RSS)."""
    out = subprocess.run([sys.executable, "-m", "bench", "export", "--one", url, size, fmt], check=False,
                         capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        sys.exit(f"export {size} {fmt} on {url} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default=DEFAULT_DB, help="SQLite URL (default: bench/full.db; '' to skip)")
    ap.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL URL ('' to skip)")
    ap.add_argument("--sizes", default="100k,all")
    ap.add_argument("--formats", default="csv,xlsx")
    ap.add_argument("--one", nargs=3, metavar=("URL", "SIZE", "FORMAT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one)))
        return
    dbs = [(name, url) for name, url in (("SQLite", args.db), ("PostgreSQL", args.pg)) if url]
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs; now = {NOW:%Y-%m-%d %H:%M}\n")
    print("| database | cases | format | rows | seconds | rows/s | RSS before MB | peak RSS MB | file MB |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for db_name, url in dbs:
        for size in args.sizes.split(","):
            for fmt in args.formats.split(","):
                m = measure(url, size, fmt)
                print(f"| {db_name} | {SIZES[size][0]} | {fmt.upper()} | {m['rows']:,} | {m['seconds']:.1f} | "
                      f"{m['rows'] / m['seconds']:,.0f} | {m['before_mb']:.0f} | {m['peak_mb']:.0f} | "
                      f"{m['bytes'] / 1e6:.1f} |", flush=True)


if __name__ == "__main__":
    main()
