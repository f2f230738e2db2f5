"""The full load of the skewed dataset (issue 24): wall and CPU time of each phase, on SQLite and PostgreSQL.

    python -m bench load-skewed [--scales skewed-100k,skewed-200k,skewed-full]
                                [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--no-sqlite]
                                [--pg-prefix gov_bench_] [--sqlite-dir bench/]

The dataset (bench/datasets.py ``generate_skewed``, cached in bench/data/<scale>/) has the skews of a real
city's data that the even sample lacks: 10,000 phones on a third of all cases (the first few on thousands), a
grid with a tenth of all cases, a category that is half of everything, 10 % of cases open, cases with hundreds
of log entries, two city roots.  Each load is ``load_dataset(..., replace=True)`` into a fresh SQLite file
(<--sqlite-dir>/<scale>.db, bench/ by default) or PostgreSQL database (<--pg-prefix><scale>, gov_bench_<scale> by default, on the --pg
server), in a fresh process; then the re-report pass (derive.derive_rereported) is timed again on its own
and rolled back.

Reported per load: wall seconds, the loading process's CPU seconds (user + system), each phase of the
loader's progress (on PostgreSQL with the CPU of the server's backend that runs the load), the re-report
pass alone (with the PostgreSQL backend's CPU), the load average of the machine before and after (the
machine is shared: wall time alone overstates), and the flags set.
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


class _LoadBackend:
    """CPU seconds of the PostgreSQL backend serving the load (the one other session on the bench's own fresh
    database), read from /proc by a second connection: on a shared machine the server's CPU of each phase says
    what its wall time cannot."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine

        self.engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.pid: int | None = None

    def cpu(self) -> float | None:
        if self.pid is None:
            with self.engine.connect() as conn:
                self.pid = conn.exec_driver_sql(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction') "
                    "ORDER BY xact_start LIMIT 1").scalar()
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, TypeError):
            self.pid = None
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
    server = _LoadBackend(url) if engine.dialect.name == "postgresql" else None
    last = {"msg": None, "wall": time.perf_counter(), "cpu": time.process_time(), "server": None}

    def progress(fraction: float, message: str = "") -> None:
        if message == last["msg"]:
            return
        now, cpu = time.perf_counter(), time.process_time()
        server_cpu = server.cpu() if server is not None else None
        if last["msg"] is not None:
            phases[-1].update(wall_s=round(now - last["wall"], 2), cpu_s=round(cpu - last["cpu"], 2))
            if server_cpu is not None and last["server"] is not None:
                phases[-1]["server_cpu_s"] = round(server_cpu - last["server"], 2)
        if phases:
            print(f"   {phases[-1]}", flush=True)   # as it goes: a load stopped midway still shows its phases
        phases.append({"phase": message})
        last.update(msg=message, wall=now, cpu=cpu, server=server_cpu)

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


# The columns the re-report pass reads and writes: --derive-only builds ``cases`` with these alone.
_PASS_COLUMNS = ("case_no", "reporter_phone", "grid_code", "category", "source", "status", "reported_at",
                 "closed_at")


def derive_only(url: str, csv_dir: Path) -> dict:
    """The re-report pass alone, on a table ``cases`` holding only the columns it reads, from cases.csv (a
    minute of CPU where the whole load takes many: for a machine too busy for full loads).  Same index
    (schema.py's ``ix_cases_same_matter``), same statement (derive.derive_rereported)."""
    import csv

    from sqlalchemy import create_engine
    from sqlalchemy.schema import CreateIndex

    from data_access.core.derive import derive_rereported
    from data_access.core.schema import cases

    engine = create_engine(url)   # a bare database: no migrations, no statement timeout
    ts = lambda v: v[:19].replace("T", " ") if v else None  # noqa: E731 - local time, as the loader stores it
    cols = ", ".join(_PASS_COLUMNS)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS cases")
        kind = "TIMESTAMP" if conn.dialect.name == "postgresql" else "TEXT"
        conn.exec_driver_sql(f"CREATE TABLE cases (case_no TEXT PRIMARY KEY, reporter_phone TEXT, grid_code TEXT, "
                             f"category TEXT, source TEXT, status TEXT, reported_at {kind}, closed_at {kind}, "
                             f"rereported BOOLEAN NOT NULL DEFAULT FALSE)")
        with open(csv_dir / "cases.csv", encoding="utf-8", newline="") as f:
            rows = [(r["case_no"], r["reporter_phone"] or None, r["grid_code"], r["category"], r["source"],
                     r["status"], ts(r["reported_at"]), ts(r["closed_at"])) for r in csv.DictReader(f)]
        marks = ", ".join(["%s" if conn.dialect.name == "postgresql" else "?"] * len(_PASS_COLUMNS))
        conn.connection.driver_connection.cursor().executemany(f"INSERT INTO cases ({cols}) VALUES ({marks})", rows)
        t0, c0 = time.perf_counter(), time.process_time()
        conn.execute(CreateIndex(next(i for i in cases.indexes if i.name == "ix_cases_same_matter")))
        index = {"wall_s": round(time.perf_counter() - t0, 2), "cpu_s": round(time.process_time() - c0, 2)}
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    with engine.connect() as conn:
        server0 = _backend_cpu(conn)
        if conn.in_transaction():
            conn.commit()
        t1, c1 = time.perf_counter(), time.process_time()
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            derive_rereported(conn)
        rr = {"wall_s": round(time.perf_counter() - t1, 2), "cpu_s": round(time.process_time() - c1, 2)}
        server1 = _backend_cpu(conn)
        if server0 is not None and server1 is not None:
            rr["server_cpu_s"] = round(server1 - server0, 2)
        flagged = conn.exec_driver_sql("SELECT count(*) FROM cases WHERE rereported").scalar()
    return {"url": engine.url.render_as_string(hide_password=True), "cases": len(rows), "index": index,
            "rereport_pass": rr, "rereported": flagged, "loadavg": [round(x, 2) for x in os.getloadavg()],
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


def run(scale: str, backend: str, server_url: str | None, prefix: str = "gov_bench_",
        derive: bool = False, sqlite_dir: Path | None = None) -> dict | None:
    from bench.datasets import BENCH, ensure_csv

    csv_dir = ensure_csv(scale)
    name = f"{scale}-derive" if derive else scale
    if backend == "sqlite":
        where = Path(sqlite_dir or BENCH).resolve()
        where.mkdir(parents=True, exist_ok=True)
        for p in where.glob(f"{name}.db*"):
            p.unlink()
        url = f"sqlite:///{where / (name + '.db')}"
    else:
        url = _fresh_pg(server_url, name, prefix)
    out = RESULTS / f"{'derive' if derive else 'load'}-skewed-{scale}-{backend}.json"
    tmp = out.with_suffix(".tmp")
    print(f"== {'re-report pass' if derive else 'load'} {scale} · {backend}", flush=True)
    proc = subprocess.run([sys.executable, "-m", "bench", "load-skewed", "--one-derive" if derive else "--one",
                           url, str(csv_dir), str(tmp)], cwd=ROOT)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        print(f"!! load {scale} · {backend} failed (exit {proc.returncode})", flush=True)
        return None
    tmp.replace(out)
    res = json.loads(out.read_text())
    if derive:
        print(f"   {res['cases']:,} cases: index {res['index']}, re-report pass {res['rereport_pass']}, "
              f"{res['rereported']:,} flagged", flush=True)
        return res
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
    ap.add_argument("--sqlite-dir", type=Path, default=None,
                    help="where the SQLite file <scale>.db is written (default bench/; replaced if there)")
    ap.add_argument("--derive-only", action="store_true",
                    help="only the re-report pass, on a bare table of the columns it reads (see derive_only)")
    ap.add_argument("--one", nargs=3, metavar=("URL", "CSV", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--one-derive", nargs=3, metavar=("URL", "CSV", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one_derive:
        url, csv_dir, out = args.one_derive
        Path(out).write_text(json.dumps(derive_only(url, Path(csv_dir)), ensure_ascii=False, indent=1))
        return
    if args.one:
        url, csv_dir, out = args.one
        Path(out).write_text(json.dumps(measure(url, Path(csv_dir)), ensure_ascii=False, indent=1))
        return
    RESULTS.mkdir(exist_ok=True)
    for scale in args.scales.split(","):
        if not args.no_sqlite:
            run(scale, "sqlite", None, derive=args.derive_only, sqlite_dir=args.sqlite_dir)
        if args.pg:
            run(scale, "pg", args.pg, args.pg_prefix, derive=args.derive_only)


if __name__ == "__main__":
    main()
