"""Where the CPU of an uncached click goes, on the app process: the clicks of bench/concurrency.py's script.

    python -m bench click_cpu --db sqlite:///bench/skewed-full.db [--runs 5] [--profile 40] [--json OUT]

One AppTest session of app.py with the frame (reruns as a server runs them: bench/run_cpu._like_a_server),
signed in as the city-wide benchmark leader, goes round the script of one concurrent tab (bench/concurrency.py,
tab 0: its county, township, status and supervision view) through the widgets, as a browser's click does:
region city → county → township, period this year, back to the county, period last 90 days, back to the city,
last 12 months, the case list opened (the navigation: no query string), its next page, a status filter and
cleared, the supervision centre opened, the tab's view, the Overview again.

Before each click every answer of ``ui.data.get`` and every chart spec is dropped, so the click asks every
question of its page anew: what a tab pays when no other tab asked the same question within the refresh
interval (the reference lists, kept an hour, stay).  Then the same state once more, all cached ("warm"): what
any rerun of that page costs.  Per click kind, median of ``--runs`` rounds:

* ``cpu``: the process's CPU over the rerun (``time.process_time``; AppTest's own parsing of the result, in
  the calling thread, is outside it: it runs after);
* the script thread's CPU split by where it was spent (exclusive: the innermost part named below gets it):
  ``sql`` (the database driver: execute and fetch), ``data`` (the data_access functions around it:
  SQLAlchemy, pandas), ``cache`` (st.cache_data around the answers: keys, pickling), ``charts`` (charts.draw:
  the Altair spec and its Arrow data), ``tables`` (ui/tables: preparing, styling and st.dataframe), of it
  ``arrow`` (pandas → Arrow bytes, wherever it happens), ``frame`` (the sidebar, sign-in check, region
  picker, URL), ``i18n`` (translations), ``page`` (the page's own layout code) and ``streamlit`` (the rest:
  the script runner, widgets, elements);
* ``ser``: serialising the run's messages (``ForwardMsg.SerializeToString``, which a server does in its
  event loop before the websocket send; not in AppTest's run, timed here afterwards).

``--sql N`` prints the N statements of each click kind whose execution and fetching took the most CPU (with
the question that asked them); ``--profile N`` prints cProfile's N costliest functions (cumulative) of each click kind's script thread.
"""
from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import statistics
import threading
import time
from pathlib import Path

NOW = "2026-10-08T12:00:00"
CACHED: dict = {}  # an instrumented cached function → Streamlit's (to clear it)
PARTS = ("sql", "data", "cache", "charts", "tables", "arrow", "frame", "i18n", "page", "streamlit")


class Attribution:
    """Exclusive CPU time (thread time) per part: a wrapped function's time, less that of wrapped functions it
    calls, goes to its part.  Only the script thread's calls are counted (the root is the script run)."""

    def __init__(self) -> None:
        self.totals: collections.Counter = collections.Counter()
        self.statements: collections.Counter = collections.Counter()  # (question, SQL) → driver seconds
        self._local = threading.local()
        self._undo: list = []

    def _stack(self) -> list:
        s = getattr(self._local, "stack", None)
        if s is None:
            s = self._local.stack = []
        return s

    def wrap(self, part: str, fn, root: bool = False, label=None, statement=None):
        """``label(args)``: names the question for the SQL below it; ``statement(args)``: the SQL run."""
        me = self

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            stack = me._stack()
            if not stack and not root:
                return fn(*args, **kwargs)
            t = time.thread_time()
            if stack:
                me.totals[stack[-1][0]] += t - stack[-1][1]
            stack.append([part, t])
            labels = me._labels()
            if label is not None:
                labels.append(label(args))
            try:
                return fn(*args, **kwargs)
            finally:
                t2 = time.thread_time()
                p, t0 = stack.pop()
                me.totals[p] += t2 - t0
                if statement is not None:
                    sql = " ".join(str(statement(args) or "").split())
                    me.statements[(labels[-1] if labels else "(frame)", sql)] += t2 - t0
                if label is not None:
                    labels.pop()
                if stack:
                    stack[-1][1] = t2

        return timed

    def _labels(self) -> list:
        s = getattr(self._local, "labels", None)
        if s is None:
            s = self._local.labels = []
        return s

    def patch(self, owner, name: str, part: str, root: bool = False, **kwargs) -> None:
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        self._undo.append((owner, name, original))
        setattr(owner, name, self.wrap(part, original, root, **kwargs))

    def take(self) -> dict[str, float]:
        out = {p: self.totals.get(p, 0.0) * 1000 for p in PARTS}
        self.totals.clear()
        self.statements.clear()
        return out


def instrument(att: Attribution) -> None:
    """Wrap the functions that mark each part (module attributes the callers look up at call time)."""
    from sqlalchemy.engine import cursor as sa_cursor
    from sqlalchemy.engine import default as sa_default
    from streamlit import dataframe_util
    from streamlit.navigation.page import StreamlitPage
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    from data_access.core import regions
    from ui import auth, charts, data, frame, guard, i18n, lists, resilience, tables, urlstate

    att.patch(ScriptRunner, "_run_script", "streamlit", root=True)
    att.patch(StreamlitPage, "run", "page")
    for name in ("do_execute", "do_execute_no_params", "do_executemany"):
        att.patch(sa_default.DefaultDialect, name, "sql", statement=lambda a: a[2])
    for cls in (sa_cursor.CursorFetchStrategy, sa_cursor.BufferedRowCursorFetchStrategy,
                sa_cursor.FullyBufferedCursorFetchStrategy):
        for name in ("fetchone", "fetchmany", "fetchall"):
            if name in cls.__dict__:
                att.patch(cls, name, "sql", statement=lambda a: getattr(a[1].context, "statement", ""))
    for name in ("_answer", "_reference", "updated_at"):
        cached = getattr(data, name)
        cached._info.func = att.wrap("data", cached._info.func, label=lambda a: a[1] if len(a) > 1 else "?")
        att.patch(data, name, "cache")
        CACHED[getattr(data, name)] = cached
    att.patch(data, "fresh", "data", label=lambda a: getattr(a[0], "__qualname__", "?"))
    att.patch(regions, "region_tree", "data")
    att.patch(charts, "draw", "charts")
    for name in ("show", "dataframe", "prepare", "styled"):
        att.patch(tables, name, "tables")
    att.patch(lists, "picked", "tables")
    for name in ("convert_pandas_df_to_arrow_bytes", "convert_anything_to_arrow_bytes"):
        att.patch(dataframe_util, name, "arrow")
    att.patch(i18n, "translate", "i18n")
    for name in ("language_switch", "region_picker", "period_picker", "data_as_of", "sync_notices", "keep_in_url",
                 "build_filter", "wall_display"):
        att.patch(frame, name, "frame")
    for name in ("session_user", "sync_cookie", "identity_block"):
        att.patch(auth, name, "frame")
    for name in ("frame_starting", "frame_ready", "pending_deep_link"):
        att.patch(guard, name, "frame")
    att.patch(urlstate, "follow_outside_changes", "frame")
    att.patch(tables, "toolbar_style", "frame")
    att.patch(resilience, "check_database_file", "frame")


class Messages:
    """The forward messages of the last run (AppTest's script runner keeps them), to time their serialisation."""

    def __init__(self) -> None:
        from streamlit.testing.v1 import local_script_runner

        self.last: list = []
        cls = local_script_runner.LocalScriptRunner
        run = cls.run
        me = self

        def capture(runner, *args, **kwargs):
            out = run(runner, *args, **kwargs)
            me.last = list(runner.forward_msgs())
            return out

        cls.run = capture

    def serialise_ms(self) -> tuple[float, int]:
        t0 = time.thread_time()
        size = sum(len(m.SerializeToString()) for m in self.last)
        return (time.thread_time() - t0) * 1000, size


# --- the click script (bench/concurrency.script, through AppTest's widgets) ------------------------------------

def clicks(county: str, township: str, city: str, status: str, view: str) -> list[tuple[str, object]]:
    """(kind, action) in the order of one tab's round; an action changes the AppTest and returns a check."""
    from streamlit.util import calc_hash

    def region(target: str, picker: str):
        def act(at):
            at.selectbox(key=f"region_pick_{picker}").set_value(target)
            return lambda at: at.session_state["frame_filter"].region_code == (target or picker)
        return act

    def period(p: str):
        def act(at):
            at.selectbox(key="period").set_value(p)
            return lambda at: at.selectbox(key="period").value == p
        return act

    def open_page(path: str, title_key: str):
        from ui.i18n import CATALOG

        def act(at):
            at.query_params.clear()  # the navigation sends no query string
            at._page_hash = calc_hash(path)
            return lambda at: at.title[0].value.startswith(CATALOG[title_key]["zh"])
        return act

    def next_page(at):
        from ui.i18n import CATALOG

        next(b for b in at.button if b.label == CATALOG["wb.page.next"]["zh"]).click()
        return lambda at: at.session_state["wb_page"] == 2

    def set_status(value: list[str]):
        def act(at):
            at.multiselect(key="wb_status").set_value(value)
            return lambda at: list(at.session_state["wb_status"]) == value
        return act

    def set_view(at):
        at.segmented_control(key="sc_view").set_value(view)
        return lambda at: at.segmented_control(key="sc_view").value == view

    return [
        ("region: county", region(county, city)),
        ("region: township", region(township, county)),
        ("period: this year", period("ytd")),
        ("region: back to the county", region(None, county)),
        ("period: last 90 days", period("last90")),
        ("region: back to the city", region(None, city)),
        ("period: last 12 months", period("last12m")),
        ("open: case list", open_page("cases", "wb.title")),
        ("case list: next page", next_page),
        ("case list: status", set_status([status])),
        ("case list: status cleared", set_status([])),
        ("open: supervision", open_page("supervision", "sc.title")),
        (f"supervision: view {view}", set_view),
        ("open: overview", open_page("overview", "ov.title")),
    ]


def drop_answers() -> None:
    """Every cached answer and chart spec, not the hour-long reference lists."""
    from ui import charts, data

    for cached in (data._answer, data.updated_at, charts._spec):
        CACHED.get(cached, cached).clear()


def run(db_url: str, runs: int = 5, profile: int = 0, tab: int = 0, sql: int = 0) -> list[dict]:
    os.environ.update(GOV_DB_URL=db_url, GOV_AUTO_DEMO="0", GOV_NOW=NOW)
    from bench.concurrency import OPEN_STATUSES, SUPERVISION_VIEWS, load_regions
    from bench.run_cpu import _like_a_server
    from bench.timing import bench_session, open_page

    token = bench_session(db_url)
    _like_a_server()
    regions = load_regions(db_url)
    county = regions.counties[tab % len(regions.counties)]
    towns = regions.townships.get(county) or [county]
    township = towns[(tab // len(regions.counties)) % len(towns)]
    status = OPEN_STATUSES[tab % len(OPEN_STATUSES)]
    view = SUPERVISION_VIEWS[1 + tab % (len(SUPERVISION_VIEWS) - 1)]
    script = clicks(county, township, regions.city, status, view)

    att = Attribution()
    msgs = Messages()
    profiler = None
    if profile:
        import cProfile

        from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

        profilers: dict[str, cProfile.Profile] = {}
        current = {"kind": None}
        inner = ScriptRunner._run_script

        def profiled(runner, rerun_data):
            kind = current["kind"]
            if kind is None:
                return inner(runner, rerun_data)
            p = profilers.setdefault(kind, cProfile.Profile())
            p.enable()
            try:
                return inner(runner, rerun_data)
            finally:
                p.disable()

        ScriptRunner._run_script = profiled
        profiler = (profilers, current)
    instrument(att)

    samples: dict[str, list[dict]] = collections.defaultdict(list)
    statements: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in range(runs + 1):  # round 0 untimed: the process's first runs import the pages' modules
        at = open_page(token, "overview", {})
        at.run()
        if at.exception:
            raise SystemExit(f"overview: {at.exception[0].value}")
        for kind, act in script:
            check = act(at)
            drop_answers()
            att.take()
            if profiler and r > 0:
                profiler[1]["kind"] = kind
            c0, w0 = time.process_time(), time.perf_counter()
            at.run()
            cpu, wall = (time.process_time() - c0) * 1000, (time.perf_counter() - w0) * 1000
            profiler and profiler[1].update(kind=None)
            if r > 0:
                statements[kind].update(att.statements)
            parts = att.take()
            ser, size = msgs.serialise_ms()
            if at.exception:
                raise SystemExit(f"{kind}: {at.exception[0].value}")
            if not check(at):
                raise SystemExit(f"{kind}: the change did not show")
            c1 = time.process_time()
            at.run()  # the same state again, every answer cached
            warm = (time.process_time() - c1) * 1000
            att.take()
            if r > 0:
                samples[kind].append({"cpu": cpu, "wall": wall, "warm": warm, "ser": ser, "bytes": size, **parts})
    rows = []
    for kind, _ in script:
        xs = samples[kind]
        row = {"click": kind, "n": len(xs)}
        for k in ("cpu", "wall", "warm", "ser", "bytes", *PARTS):
            row[k] = statistics.median(x[k] for x in xs)
        rows.append(row)
    for kind, _ in script if sql else ():
        print(f"\n===== the database driver's CPU, ms per click: {kind} =====")
        for (question, stmt), secs in statements[kind].most_common(sql):
            print(f"{secs * 1000 / runs:8.1f}  {question.rsplit('.', 1)[-1]}: {stmt[:300]}")
    if profiler:
        import pstats

        for kind, _ in script:
            print(f"\n===== cProfile, script thread: {kind} ({runs} clicks) =====")
            pstats.Stats(profiler[0][kind]).sort_stats("cumulative").print_stats(profile)
    return rows


def print_table(rows: list[dict]) -> None:
    head = ["click", "cpu", "wall", "warm", "ser", "kB", *PARTS]
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 1))
    for r in rows:
        r = {**r, "kB": r["bytes"] / 1024}
        print(f"| {r['click']} | " + " | ".join(f"{r[k]:.1f}" if k == "ser" else f"{r[k]:.0f}" for k in head[1:])
              + " |")
    n = len(rows)
    mean = {k: sum(r[k] for r in rows) / n for k in ("cpu", "wall", "warm", "ser", "bytes", *PARTS)}
    mean["kB"] = mean["bytes"] / 1024
    print("| mean of the kinds | " + " | ".join(f"{mean[k]:.1f}" if k == "ser" else f"{mean[k]:.0f}"
                                             for k in head[1:]) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="a database holding a dataset (SQLite: a copy, the run signs in)")
    ap.add_argument("--runs", type=int, default=5, help="timed rounds of the script (median per click kind)")
    ap.add_argument("--tab", type=int, default=0, help="whose county, township, status and view (as concurrency)")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="print cProfile's N top functions per kind")
    ap.add_argument("--sql", type=int, default=0, metavar="N",
                    help="print the N statements of each click kind that took the driver's most CPU")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = run(args.db, args.runs, args.profile, args.tab, args.sql)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
