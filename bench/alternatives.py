"""The usual ways, for comparison: the same questions answered by the dashboard, by a Streamlit page that reads
the case table into pandas (bench/alt_pandas_app.py), by a Streamlit page that copies the SQLite file's case
table into DuckDB and asks in SQL (bench/alt_duckdb_app.py, bench/alt_duckdb.py) and by Datasette's table page
on the same SQLite file.

    python -m bench alternatives --db sqlite:///bench/full.db [--runs 3] [--json OUT]
        [--skip-pandas] [--skip-duckdb] [--skip-datasette] [--immutable]

The questions (now = 2026-10-08 12:00, "last 12 months" = 2025-10-01 .. 2026-10-08, the dashboard's default):

| question | ours | pandas way and DuckDB way | Datasette |
|---|---|---|---|
| first render, city | Overview, AppTest first run, cold caches | AppTest first run (reads the table) | the ``cases`` table page, plain |
| filter → 娄星区 | Overview, region picked (rerun) | rerun with ``?region=431302`` | ``county_code=431302``, ``reported_at`` in the 12 months, facets on status, category, resolution_level |
| search 纠纷 | case workbench ``?q=纠纷``, cold (timing.open_page: the frame and the page) | rerun with ``?q=纠纷`` (region back to the city) | ``title__contains=纠纷`` |

The DuckDB way (``duckdb`` from bench/requirements.txt) copies the ``cases`` and ``regions`` tables into an
in-memory DuckDB database on its first render (``st.cache_resource``), and answers each rerun in SQL there.
DuckDB's own SQLite reader (the ``sqlite`` extension) is not in the wheel and downloads itself on first use,
which an offline machine cannot do: bench/alt_duckdb.py uses it when it is installed and otherwise reads the
file with Python's sqlite3 into Arrow chunks appended to DuckDB tables.  Which of the two, and the time the
copy took (wall and CPU), are in the result (``duckdb.load``); the copy is part of the first render's time.

Ours, the pandas way and the DuckDB way: each run is a fresh Python process that asks the three questions in
that order, so its peak RSS (``ru_maxrss``) is that way's own; the times are medians over ``--runs`` processes
(wall, and the process's CPU time beside it) and the peak the highest.  Each runs its Streamlit script in AppTest (the same harness, in-process), with GOV_DB_URL,
GOV_AUTO_DEMO=0 and GOV_NOW set, after importing what they use (a tiny Streamlit page with a metric, a chart
and a table; for ours the modules of ui and data_access), so that none of them pays Python's import time.  The
pandas and DuckDB ways' first render includes reading the whole table; the pandas page's reruns
then filter the cached frame (``st.cache_data`` unpickles a copy of it on every rerun), which is what a user of
such a page sees.  Ours are cold: every cached answer is dropped at the start of the process (and before the
workbench render); the region change reruns the Overview with 娄星区's data not cached yet.

Datasette (``pip install -r bench/requirements.txt``) serves the same file on a free loopback port,
``sql_time_limit_ms`` and ``facet_time_limit_ms`` raised to 10 minutes so every page finishes; each page is
fetched once untimed, then ``--runs`` times (median, whole HTML body read).  By default the file is served as
``datasette serve FILE`` — Datasette opens it read-only (``mode=ro``), which is what a read-only view of the
dashboard's live database is: the dashboard keeps writing to it (supervision orders, sessions, audit log) in
WAL mode.  ``--immutable`` serves it as ``datasette -i FILE`` instead (SQLite ``immutable=1``: no locking,
the WAL ignored, table counts cached), which is only right for a file that never changes.  The server is
stopped at the end, also on an error or Ctrl-C.

The pandas way needs the whole table in memory: ``read_sql`` peaks at ~4 KB a case (4.3 GB at 1.07 M cases
and 40 columns, measured 2026-11-27; docs/PERFORMANCE_NOTES.md has 2.16 GB).  It is refused when that estimate is above 70 %
of MemAvailable (``--skip-pandas`` measures the rest).  ``run(db_url, runs)`` returns the raw numbers as a
JSON-able dict (for the benchmark orchestrator); ``--json OUT`` writes them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
NOW = datetime(2026, 10, 8, 12, 0)
CITY = "431300"
LOUXING = "431302"
SEARCH = "纠纷"
QUESTIONS = {
    "first": "first render: city (娄底市), last 12 months",
    "region": "filter change → 娄星区 (431302)",
    "search": f"text search {SEARCH}",
}
BYTES_PER_CASE = 4096  # the pandas way's peak per case: 4.3 GB at 1.07 M (pandas 3.1.1, 40 columns)
MEMORY_SHARE = 0.7
CHILD_TIMEOUT_S = 3600
SERVER_START_TIMEOUT_S = 600
DATASETTE_LIMIT_MS = 600_000


class TooBigForPandas(RuntimeError):
    """The case table would not fit comfortably in memory as a DataFrame."""


# ---------------------------------------------------------------------------------------------- children


def _env(db_url: str) -> dict[str, str]:
    return {**os.environ, "GOV_DB_URL": db_url, "GOV_AUTO_DEMO": "0", "GOV_NOW": NOW.isoformat()}


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024


def _timed_run(at, cpu: dict | None = None, key: str = "") -> float:
    """Wall ms of one AppTest run; its process CPU ms (every thread: DuckDB's too) into ``cpu[key]``."""
    t, c = time.perf_counter(), time.process_time()
    at.run()
    ms = (time.perf_counter() - t) * 1000
    if cpu is not None:
        cpu[key] = (time.process_time() - c) * 1000
    if at.exception:
        raise SystemExit(f"{at.exception[0].value}")
    return ms


def _metric(at, label: str) -> str | None:
    return next((str(m.value) for m in at.metric if m.label == label), None)


def _streamlit_warm_page() -> None:
    import pandas as pd
    import streamlit as st

    df = pd.DataFrame({"month": ["2026-01", "2026-02"], "closed": [1, 2], "open": [0, 1]})
    st.metric("cases", 3)
    st.bar_chart(df.set_index("month"))
    st.dataframe(df, hide_index=True)


def _warm_imports(project: bool) -> None:
    """Pay Python's import and first-use costs before timing, as a server has before its first user: a tiny
    Streamlit page with a metric, a chart and a table (both ways), and for ours the modules of ``ui`` and
    ``data_access`` (imported, not run: no query, no cached answer, no database connection)."""
    import importlib
    import pkgutil

    import sqlalchemy  # noqa: F401
    from streamlit.testing.v1 import AppTest

    AppTest.from_function(_streamlit_warm_page, default_timeout=CHILD_TIMEOUT_S).run()
    if project:
        for pkg in ("ui", "data_access"):
            mod = importlib.import_module(pkg)
            for info in pkgutil.iter_modules(mod.__path__, pkg + "."):
                if not info.name.endswith("__main__") and not info.ispkg:
                    importlib.import_module(info.name)


ALT_APPS = {"pandas": "alt_pandas_app.py", "duckdb": "alt_duckdb_app.py"}


def child_alt(way: str) -> dict:
    """The pandas or the DuckDB way in this (fresh) process: first render, region change, text search."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    _warm_imports(project=False)
    if way == "duckdb":
        import duckdb  # noqa: F401  (an import, as the other ways' imports, is not the page's time)
    st.cache_data.clear()
    st.cache_resource.clear()
    before = _rss_mb()
    at = AppTest.from_file(str(BENCH / ALT_APPS[way]), default_timeout=CHILD_TIMEOUT_S)
    ms, shown, cpu = {}, {}, {}
    ms["first"] = _timed_run(at, cpu, "first")
    shown["first"] = _metric(at, "案件数")
    at.query_params["region"] = LOUXING
    ms["region"] = _timed_run(at, cpu, "region")
    shown["region"] = _metric(at, "案件数")
    del at.query_params["region"]
    at.query_params["q"] = SEARCH
    ms["search"] = _timed_run(at, cpu, "search")
    shown["search"] = _metric(at, "案件数")
    out = {"ms": ms, "cpu_ms": cpu, "cases_shown": shown, "rss_before_mb": before, "peak_rss_mb": _peak_mb()}
    if way == "duckdb":
        out["load"] = at.session_state["duckdb_load"]
    return out


def child_pandas() -> dict:
    return child_alt("pandas")


def child_ours(db_url: str) -> dict:
    """The dashboard in this (fresh) process: Overview of the city (cold), 娄星区 picked, workbench search."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from bench.timing import bench_session, open_page

    token = bench_session(db_url)
    _warm_imports(project=True)
    st.cache_data.clear()
    before = _rss_mb()
    # The Overview is the frame's default page, so its cold render is the first run itself (timing.render_page would
    # render it once untimed first and then time a warm render).
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=CHILD_TIMEOUT_S)
    at.session_state["_auth"] = token
    ms, shown, cpu = {}, {}, {}
    ms["first"] = _timed_run(at, cpu, "first")
    shown["first"] = _metric(at, "案件数")
    if shown["first"] is None:
        raise SystemExit("the Overview did not render (signed out?)")
    key = f"region_pick_{CITY}"
    if not any(s.key == key for s in at.selectbox):
        raise SystemExit(f"no region picker {key!r} on the Overview")
    at.selectbox(key=key).set_value(LOUXING)
    at._finished_page_script_hash = ""  # AppTest 1.67 rerun quirk, see tests/test_app.py: rerun()
    ms["region"] = _timed_run(at, cpu, "region")
    shown["region"] = _metric(at, "案件数")
    st.cache_data.clear()
    search = open_page(token, "cases", {"q": SEARCH})  # the whole workbench page, frame included, cold
    ms["search"] = _timed_run(search, cpu, "search")
    return {"ms": ms, "cpu_ms": cpu, "cases_shown": shown, "rss_before_mb": before, "peak_rss_mb": _peak_mb()}


def _in_child(way: str, db_url: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench", "alternatives", "--child", way, "--db", db_url], cwd=ROOT,
                         env=_env(db_url), capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"the {way} way failed on {db_url}:\n{out.stderr[-4000:]}{out.stdout[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------- Datasette


def datasette_questions(db_name: str) -> dict[str, str]:
    """The URL path and query of each question on Datasette's table page."""
    start = date(NOW.year - 1, NOW.month, 1)
    end = NOW.date() + timedelta(days=1)
    base = f"/{db_name}/cases"
    return {
        "first": base,
        "region": base + "?" + urlencode([("county_code", LOUXING), ("reported_at__gte", start.isoformat()),
                                          ("reported_at__lt", end.isoformat()), ("_facet", "status"),
                                          ("_facet", "category"), ("_facet", "resolution_level")]),
        "search": base + "?" + urlencode([("title__contains", SEARCH)]),
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=DATASETTE_LIMIT_MS / 1000 + 60) as resp:
        if resp.status != 200:
            raise RuntimeError(f"{url}: HTTP {resp.status}")
        return resp.read()


def _stop(proc: subprocess.Popen) -> None:
    """End the server we started (its own process group) and wait for it."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass


def run_datasette(db_path: Path, runs: int, immutable: bool, log=print) -> dict:
    """Serve ``db_path`` with Datasette, time each question's page (median of ``runs`` after a warm-up)."""
    try:
        from importlib.metadata import version

        ds_version = version("datasette")
    except Exception as exc:  # any failure means "not installed"
        raise RuntimeError("Datasette is not installed: pip install -r bench/requirements.txt "
                           "(or --skip-datasette)") from exc
    port = _free_port()
    target = ["-i", str(db_path)] if immutable else [str(db_path)]
    cmd = [sys.executable, "-m", "datasette", "serve", *target, "-h", "127.0.0.1", "-p", str(port),
           "--setting", "sql_time_limit_ms", str(DATASETTE_LIMIT_MS),
           "--setting", "facet_time_limit_ms", str(DATASETTE_LIMIT_MS)]
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as server_log:
        proc = subprocess.Popen(cmd, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            t0 = time.perf_counter()
            while True:
                if proc.poll() is not None:
                    server_log.seek(0)
                    raise RuntimeError(f"datasette exited ({proc.returncode}):\n"
                                       f"{server_log.read().decode(errors='replace')[-3000:]}")
                try:
                    _get(base + "/-/versions.json")
                    break
                except OSError:
                    if time.perf_counter() - t0 > SERVER_START_TIMEOUT_S:
                        raise RuntimeError(f"datasette did not answer within {SERVER_START_TIMEOUT_S} s") from None
                    time.sleep(0.2)
            started_s = time.perf_counter() - t0
            paths = datasette_questions(db_path.stem)
            ms, rows, kb = {}, {}, {}
            for key, path in paths.items():
                kb[key] = len(_get(base + path)) / 1024  # warm-up, untimed
                times = []
                for _ in range(runs):
                    t = time.perf_counter()
                    _get(base + path)
                    times.append((time.perf_counter() - t) * 1000)
                ms[key] = times
                # The number of matching rows, as the page says it (untimed, the same query as JSON).
                sep = "&" if "?" in path else "?"
                answer = json.loads(_get(base + path.replace("/cases", "/cases.json", 1) + sep + "_size=1"))
                rows[key] = answer.get("filtered_table_rows_count")
                asked = {v for k, v in parse_qsl(path.partition("?")[2]) if k == "_facet"}
                if missing := asked - set(answer.get("facet_results") or {}):
                    raise RuntimeError(f"datasette did not finish the facets {sorted(missing)} on {path}")
                log(f"  datasette {key}: {statistics.median(times):.0f} ms ({rows[key]} rows)")
        finally:
            _stop(proc)
    return {"version": ds_version, "mode": "immutable (-i)" if immutable else "read-only (mode=ro, default)",
            "started_s": started_s, "paths": paths, "ms": ms,
            "median_ms": {k: statistics.median(v) for k, v in ms.items()}, "rows": rows, "page_kb": kb}


# ---------------------------------------------------------------------------------------------- the run


def _absolute(db_url: str) -> str:
    """A SQLite URL with an absolute path (the children run in the repository root)."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        return url.set(database=str(Path(url.database).resolve())).render_as_string(hide_password=False)
    return db_url


def _case_count(db_url: str) -> int:
    import sqlalchemy as sa

    path = _sqlite_path(db_url)
    if path is not None and not path.is_file():
        raise RuntimeError(f"no database file {path}")
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM cases")).scalar_one()
    except sa.exc.SQLAlchemyError as exc:
        raise RuntimeError(f"cannot count the cases of {db_url}: {exc}") from exc
    finally:
        engine.dispose()


def _mem_available() -> int:
    with open("/proc/meminfo") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable:"))


def check_pandas_fits(cases: int) -> dict:
    need, avail = cases * BYTES_PER_CASE, _mem_available()
    if need > MEMORY_SHARE * avail:
        raise TooBigForPandas(
            f"the pandas way would need about {need / 2**30:.1f} GB for {cases:,} cases (~4 KB each), more than "
            f"{MEMORY_SHARE:.0%} of the {avail / 2**30:.1f} GB available; run with --skip-pandas")
    return {"estimate_gb": need / 2**30, "available_gb": avail / 2**30}


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for pkg in ("streamlit", "pandas", "SQLAlchemy", "datasette", "duckdb"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _summary(results: list[dict]) -> dict:
    ms = {k: [r["ms"][k] for r in results] for k in QUESTIONS}
    cpu = {k: [r["cpu_ms"][k] for r in results if "cpu_ms" in r] for k in QUESTIONS}
    return {"ms": ms, "median_ms": {k: statistics.median(v) for k, v in ms.items()},
            "cpu_median_ms": {k: statistics.median(v) for k, v in cpu.items() if v},
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
            "peak_rss_mb_runs": [r["peak_rss_mb"] for r in results],
            "rss_before_mb": statistics.median(r["rss_before_mb"] for r in results),
            "cases_shown": results[0]["cases_shown"]}


def run(db_url: str, runs: int = 3, skip_pandas: bool = False, skip_datasette: bool = False,
        immutable: bool = False, log=None, skip_duckdb: bool = False) -> dict:
    """Measure the three ways on ``db_url``; returns a JSON-able dict of the raw numbers and ratios."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    db_url = _absolute(db_url)
    cases = _case_count(db_url)
    out: dict = {"db_url": db_url, "cases": cases, "runs": runs, "now": NOW.isoformat(), "questions": QUESTIONS,
                 "measured_at": datetime.now().isoformat(timespec="seconds"), "versions": _versions(),
                 "loadavg": list(os.getloadavg())}
    fits = None if skip_pandas else check_pandas_fits(cases)
    duck = None if skip_duckdb or _sqlite_path(db_url) is None else duckdb_version()
    ours, pandas_runs, duck_runs = [], [], []
    for i in range(runs):
        log(f"run {i + 1}/{runs}: ours")
        ours.append(_in_child("ours", db_url))
        log(f"  ours {ours[-1]['ms']} peak {ours[-1]['peak_rss_mb']:.0f} MB")
        if not skip_pandas:
            log(f"run {i + 1}/{runs}: pandas")
            pandas_runs.append(_in_child("pandas", db_url))
            log(f"  pandas {pandas_runs[-1]['ms']} peak {pandas_runs[-1]['peak_rss_mb']:.0f} MB")
        if duck:
            log(f"run {i + 1}/{runs}: duckdb")
            duck_runs.append(_in_child("duckdb", db_url))
            log(f"  duckdb {duck_runs[-1]['ms']} (load {duck_runs[-1]['load']['seconds']:.1f} s) "
                f"peak {duck_runs[-1]['peak_rss_mb']:.0f} MB")
    out["ours"] = _summary(ours)
    out["pandas"] = (_summary(pandas_runs) | {"memory_check": fits}) if pandas_runs else {"skipped": True}
    if duck_runs:
        loads = [r["load"] for r in duck_runs]
        out["duckdb"] = _summary(duck_runs) | {
            "version": duck, "load": {"method": loads[0]["method"], "way": loads[0]["way"],
                                      "rows": loads[0]["rows"], "seconds": [x["seconds"] for x in loads],
                                      "median_s": statistics.median(x["seconds"] for x in loads),
                                      "cpu_median_s": statistics.median(x["cpu_seconds"] for x in loads)}}
    else:
        out["duckdb"] = {"skipped": True, "why": "--skip-duckdb" if skip_duckdb else
                         "not a SQLite file" if _sqlite_path(db_url) is None else
                         "duckdb is not installed (pip install -r bench/requirements.txt)"}
    sqlite_path = _sqlite_path(db_url)
    if skip_datasette or sqlite_path is None:
        out["datasette"] = {"skipped": True, "why": "--skip-datasette" if skip_datasette else "not a SQLite file"}
    else:
        log(f"datasette on {sqlite_path}")
        out["datasette"] = run_datasette(sqlite_path, runs, immutable, log)
    ours_ms = out["ours"]["median_ms"]
    out["ratios"] = {
        "pandas": ({k: out["pandas"]["median_ms"][k] / ours_ms[k] for k in QUESTIONS}
                   | {"peak_rss": out["pandas"]["peak_rss_mb"] / out["ours"]["peak_rss_mb"]})
        if pandas_runs else None,
        "duckdb": ({k: out["duckdb"]["median_ms"][k] / ours_ms[k] for k in QUESTIONS}
                   | {"peak_rss": out["duckdb"]["peak_rss_mb"] / out["ours"]["peak_rss_mb"]})
        if duck_runs else None,
        "datasette": ({k: out["datasette"]["median_ms"][k] / ours_ms[k] for k in QUESTIONS}
                      if "median_ms" in out["datasette"] else None),
    }
    return out


def duckdb_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("duckdb")
    except PackageNotFoundError:
        return None


def _sqlite_path(db_url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    return Path(url.database) if url.drivername.startswith("sqlite") and url.database else None


def markdown(res: dict) -> str:
    def ms(x):
        return f"{x:,.0f}" if x is not None else "—"

    def ratio(x):
        return f"{x:,.1f}×" if x is not None else "—"

    pd_, ds, dk = res["pandas"], res["datasette"], res.get("duckdb") or {}
    rp, rd, rk = res["ratios"]["pandas"] or {}, res["ratios"]["datasette"] or {}, res["ratios"].get("duckdb") or {}
    lines = [f"{res['cases']:,} cases, median of {res['runs']} (ratio = theirs ÷ ours)", "",
             "| question | ours ms | pandas ms | ratio | DuckDB ms | ratio | Datasette ms | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for k, label in QUESTIONS.items():
        lines.append(f"| {label} | {ms(res['ours']['median_ms'][k])} | {ms(pd_.get('median_ms', {}).get(k))} | "
                     f"{ratio(rp.get(k))} | {ms(dk.get('median_ms', {}).get(k))} | {ratio(rk.get(k))} | "
                     f"{ms(ds.get('median_ms', {}).get(k))} | {ratio(rd.get(k))} |")
    lines.append(f"| peak RSS MB (whole process) | {res['ours']['peak_rss_mb']:,.0f} | "
                 f"{ms(pd_.get('peak_rss_mb'))} | {ratio(rp.get('peak_rss'))} | {ms(dk.get('peak_rss_mb'))} | "
                 f"{ratio(rk.get('peak_rss'))} | — | — |")
    if "load" in dk:
        ld = dk["load"]
        lines += ["", f"DuckDB {dk['version']}: the data got in by {ld['method']}, in {ld['median_s']:.1f} s "
                      f"(CPU {ld['cpu_median_s']:.1f} s; part of its first render)"]
    if "mode" in ds:
        lines += ["", f"Datasette {ds['version']}, {ds['mode']}, time limits raised to {DATASETTE_LIMIT_MS:,} ms; "
                      f"rows matched: " + ", ".join(f"{k} {v}" for k, v in ds["rows"].items())]
    shown = {k: (res["ours"]["cases_shown"].get(k), pd_.get("cases_shown", {}).get(k),
                 dk.get("cases_shown", {}).get(k)) for k in ("first", "region")}
    lines.append("Cases shown (ours / pandas / DuckDB): "
                 + ", ".join(f"{k} {a} / {b} / {c}" for k, (a, b, c) in shown.items()))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite:///bench/full.db")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", metavar="OUT", help="write the raw numbers to this file")
    ap.add_argument("--skip-pandas", action="store_true", help="do not measure the pandas way")
    ap.add_argument("--skip-datasette", action="store_true", help="do not measure Datasette")
    ap.add_argument("--skip-duckdb", action="store_true", help="do not measure the DuckDB way")
    ap.add_argument("--immutable", action="store_true", help="serve the file with datasette -i (see above)")
    ap.add_argument("--child", choices=("ours", "pandas", "duckdb"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        res = child_ours(a.db) if a.child == "ours" else child_alt(a.child)
        print(json.dumps(res))
        return 0
    # A SIGTERM ends the run through the finally blocks, so the Datasette server is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        res = run(a.db, a.runs, a.skip_pandas, a.skip_datasette, a.immutable, skip_duckdb=a.skip_duckdb)
    except (TooBigForPandas, RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(markdown(res))
    if a.json:
        Path(a.json).write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
