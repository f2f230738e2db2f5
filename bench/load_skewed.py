"""The full load of the skewed dataset (issue 24): wall and CPU time of each phase, on SQLite and PostgreSQL.

    python -m bench load-skewed [--scales skewed-100k,skewed-200k,skewed-full]
                                [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--no-sqlite]

The dataset (bench/datasets.py ``generate_skewed``, cached in bench/data/<scale>/) has the skews of a real
city's data that the even sample lacks: 10,000 phones on a third of all cases (the first few on thousands), a
grid with a tenth of all cases, a category that is half of everything, 10 % of cases open, cases with hundreds
of log entries, two city roots.  Each load is ``load_dataset(..., replace=True)`` into a fresh SQLite file
(bench/<scale>.db) or PostgreSQL database (<--pg-prefix><scale>, gov_bench_<scale> by default, on the --pg
server), in a fresh process; then the re-report pass (derive.derive_rereported) is timed again on its own
and rolled back.

Reported per load: wall seconds, the loading process's CPU seconds (user + system), each phase of the
loader's progress, the re-report pass alone (with the PostgreSQL backend's CPU), the load average of the
machine before and after (the machine is shared: wall time alone overstates), and the flags set.
Results: bench/results/load-skewed-<scale>-<backend>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_SCALES = "skewed-100k,skewed-200k,skewed-full"


def _backend_cpu(conn) -> float | None:
    """CPU seconds (user + system) of the PostgreSQL backend serving ``conn`` (same machine only)."""
    if conn.dialect.name != "postgresql":
        return None
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(url: str, csv_dir: Path) -> dict:
    """One load in this process (run by :func:`main` in a fresh one)."""
    from sqlalchemy import func, select

    from data_access.core.db import get_engine, no_statement_timeout
    from data_access.core.derive import derive_rereported
    from data_access.core.schema import cases
    from data_access.ingest.loader import load_dataset

    engine = get_engine(url)
    phases: list[dict] = []
    last = {"msg": None, "wall": time.perf_counter(), "cpu": time.process_time()}

    def progress(fraction: float, message: str = "") -> None:
        if message == last["msg"]:
            return
        now, cpu = time.perf_counter(), time.process_time()
        if last["msg"] is not None:
            phases[-1].update(wall_s=round(now - last["wall"], 2), cpu_s=round(cpu - last["cpu"], 2))
        if phases:
            print(f"   {phases[-1]}", flush=True)   # as it goes: a load stopped midway still shows its phases
        phases.append({"phase": message})
        last.update(msg=message, wall=now, cpu=cpu)

    load_before = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    result = load_dataset(csv_dir, engine, replace=True, progress=progress)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if phases and "wall_s" not in phases[-1]:
        phases[-1].update(wall_s=round(time.perf_counter() - last["wall"], 2),
                          cpu_s=round(time.process_time() - last["cpu"], 2))
    load_after = os.getloadavg()
    # the re-report pass alone, on the loaded data (rolled back)
    with engine.connect() as conn, no_statement_timeout(conn):
        server0 = _backend_cpu(conn)
        if conn.in_transaction():
            conn.commit()
        t1, c1 = time.perf_counter(), time.process_time()
        with conn.begin() as trans:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL statement_timeout = 0")   # as the loader does
            derive_rereported(conn)
            flagged = conn.execute(select(func.count()).where(cases.c.rereported.is_(True))).scalar_one()
            trans.rollback()
        rr = {"wall_s": round(time.perf_counter() - t1, 2), "cpu_s": round(time.process_time() - c1, 2)}
        server1 = _backend_cpu(conn)
        if server0 is not None and server1 is not None:
            rr["server_cpu_s"] = round(server1 - server0, 2)
        stored = conn.execute(select(func.count()).where(cases.c.rereported.is_(True))).scalar_one()
        n_cases = conn.execute(select(func.count()).select_from(cases)).scalar_one()
    return {"url": engine.url.render_as_string(hide_password=True), "cases": n_cases,
            "rows": sum(result.counts.values()), "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in load_after],
            "phases": phases, "rereport_pass": rr, "rereported": stored, "rereported_again": flagged,
            "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def _fresh_pg(server_url: str, scale: str, prefix: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from bench.datasets import pg_url

    url = pg_url(scale, server_url, prefix)
    admin = create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        name = make_url(url).database
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


def run(scale: str, backend: str, server_url: str | None, prefix: str = "gov_bench_") -> dict | None:
    from bench.datasets import BENCH, ensure_csv

    csv_dir = ensure_csv(scale)
    if backend == "sqlite":
        for p in BENCH.glob(f"{scale}.db*"):
            p.unlink()
        url = f"sqlite:///{BENCH / (scale + '.db')}"
    else:
        url = _fresh_pg(server_url, scale, prefix)
    out = RESULTS / f"load-skewed-{scale}-{backend}.json"
    tmp = out.with_suffix(".tmp")
    print(f"== load {scale} · {backend}", flush=True)
    proc = subprocess.run([sys.executable, "-m", "bench", "load-skewed", "--one", url, str(csv_dir), str(tmp)],
                          cwd=ROOT)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        print(f"!! load {scale} · {backend} failed (exit {proc.returncode})", flush=True)
        return None
    tmp.replace(out)
    res = json.loads(out.read_text())
    print(f"   {res['cases']:,} cases: {res['wall_s']} s wall, {res['cpu_s']} s CPU (load average "
          f"{res['loadavg_before'][0]} → {res['loadavg_after'][0]}); re-report pass {res['rereport_pass']}",
          flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default=DEFAULT_SCALES)
    ap.add_argument("--pg", default="", help="a PostgreSQL server URL (its database name is replaced)")
    ap.add_argument("--pg-prefix", default="gov_bench_", help="the PostgreSQL database is <prefix><scale>")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--one", nargs=3, metavar=("URL", "CSV", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        url, csv_dir, out = args.one
        Path(out).write_text(json.dumps(measure(url, Path(csv_dir)), ensure_ascii=False, indent=1))
        return
    RESULTS.mkdir(exist_ok=True)
    for scale in args.scales.split(","):
        if not args.no_sqlite:
            run(scale, "sqlite", None)
        if args.pg:
            run(scale, "pg", args.pg, args.pg_prefix)


if __name__ == "__main__":
    main()
