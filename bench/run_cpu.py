"""Server-side CPU of a warm rerun: what one click costs the ``streamlit run`` process once the cached
answers are there (bench/concurrency.py shows that this CPU, not the database, caps concurrent sessions).

    python -m bench run_cpu --db sqlite:///bench/full.db [--changes 12] [--repeat 3]
                            [--pages overview,cases,…] [--profile pyinstrument|cprofile] [--json OUT]

Each page (overview at the city, the case list at the city, supervision: backlog, staffing: regions) is opened
in AppTest WITH the frame on its first run (bench/timing.py ``open_page``), signed in as a city-wide
leader, now = 2026-10-08 12:00.  Then the filter cycles through four states by changing one widget at a
time — region city → 娄星区 (the ``region_pick_431300`` selectbox), period last 12 months → this year
(``period``), region back to the city, period back — once untimed (so every cached answer is there), then
``--changes`` timed reruns.  Reported per rerun: process CPU (time.process_time: this process only, all
threads, so a noisy shared machine hardly moves it) and wall time, median and min over all timed reruns
of ``--repeat`` rounds.

``--profile`` wraps the timed reruns of each page in pyinstrument (``pip install pyinstrument``, not a
requirement of the app) or cProfile and prints the hot spots.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NOW = "2026-10-08T12:00:00"
PAGES = {  # name → (URL path, query)
    "overview": ("overview", {}),
    "cases": ("cases", {}),
    "supervision_backlog": ("supervision", {"view": "backlog"}),
    "staffing_regions": ("staffing", {"view": "regions"}),
}
# One widget change per step; after the four steps the filter is back where it started.
STEPS = (("region", "431302"), ("period", "ytd"), ("region", None), ("period", "last12m"))


def _like_a_server() -> None:
    """Make AppTest's reruns do what a server's do.

    AppTest resets ``PagesManager.uses_pages_directory`` before every run, and with a ``pages/`` folder
    beside app.py a rerun that requests a page's hash then executes ``pages/<page>.py`` alone (Streamlit's
    old multipage mode), without app.py's frame: no sign-in check, no region tree, no pickers, and the page
    reads the previous run's filter.  A real server runs app.py every time, because app.py's
    ``st.navigation`` turns that mode off for the process.  Keep it off here too."""
    from streamlit.runtime.pages_manager import PagesManager

    if getattr(PagesManager.__init__, "_bench_patched", False):
        return
    init = PagesManager.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    __init__._bench_patched = True
    PagesManager.__init__ = __init__

    # AppTest also makes a new ScriptCache every run, so app.py and the page are read and compiled again on
    # each click; a server compiles each script once (one ScriptCache in its Runtime).  Share one.
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared


def _check(at, label: str) -> None:
    if at.exception:
        raise SystemExit(f"{label}: {at.exception[0].value}")


def _change(at, step: tuple[str, str | None]) -> None:
    what, value = step
    if what == "region":
        at.selectbox(key="region_pick_431300").set_value(value)
    else:
        at.selectbox(key="period").set_value(value)


def _expect(at, label: str, step: tuple[str, str | None]) -> None:
    """The rerun really ran the frame with the new choice (not the page alone with the old filter)."""
    f = at.session_state["frame_filter"]
    what, value = step
    if what == "region" and f.region_code != (value or "431300"):
        raise SystemExit(f"{label}: region {f.region_code}, expected {value}")
    if what == "period" and at.selectbox(key="period").value != value:
        raise SystemExit(f"{label}: period {at.selectbox(key='period').value}, expected {value}")


def _timed(at) -> tuple[float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    at.run()
    return (time.process_time() - c0) * 1000, (time.perf_counter() - w0) * 1000


def measure(token: str, name: str, changes: int, profiler=None) -> tuple[list[float], list[float]]:
    """(CPU ms, wall ms) of each of ``changes`` warm reruns of page ``name``."""
    from bench.timing import open_page

    path, query = PAGES[name]
    at = open_page(token, path, query)
    at.run()
    _check(at, f"{name}: first run")
    for step in STEPS:  # every state once: the cached answers are there from now on
        _change(at, step)
        at.run()
        _check(at, f"{name}: warm-up {step}")
        _expect(at, name, step)
    cpu, wall = [], []
    if profiler is not None:
        profiler.start()
    try:
        for i in range(changes):
            step = STEPS[i % len(STEPS)]
            _change(at, step)
            c, w = _timed(at)
            _check(at, f"{name}: {step}")
            _expect(at, name, step)
            cpu.append(c)
            wall.append(w)
    finally:
        if profiler is not None:
            profiler.stop()
    return cpu, wall


class _Profiler:
    """Profiles the script thread (AppTest runs the script in a thread of its own) while ``on``."""

    def __init__(self, kind: str) -> None:
        from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

        self.kind, self.on, self.sessions = kind, False, []
        if kind == "cprofile":
            import cProfile

            self.cp = cProfile.Profile()
        run_script = ScriptRunner._run_script
        me = self

        def _run_script(runner, rerun_data):
            if not me.on:
                return run_script(runner, rerun_data)
            if me.kind == "cprofile":
                me.cp.enable()
                try:
                    return run_script(runner, rerun_data)
                finally:
                    me.cp.disable()
            from pyinstrument import Profiler

            p = Profiler(interval=0.0005)
            p.start()
            try:
                return run_script(runner, rerun_data)
            finally:
                p.stop()
                me.sessions.append(p.last_session)

        ScriptRunner._run_script = _run_script
        self._restore = lambda: setattr(ScriptRunner, "_run_script", run_script)

    def start(self) -> None:
        self.on = True

    def stop(self) -> None:
        self.on = False

    def report(self, title: str) -> None:
        self._restore()
        print(f"\n===== profile: {title} =====")
        if self.kind == "pyinstrument":
            from functools import reduce

            from pyinstrument.renderers import ConsoleRenderer
            from pyinstrument.session import Session

            session = reduce(Session.combine, self.sessions)
            print(ConsoleRenderer(unicode=False, color=False, show_all=False, short_mode=False,
                                  flat=False).render(session))
        else:
            import pstats

            pstats.Stats(self.cp).sort_stats("cumulative").print_stats(70)
            pstats.Stats(self.cp).sort_stats("tottime").print_stats(40)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite:///bench/full.db")
    ap.add_argument("--changes", type=int, default=12, help="timed warm reruns per page and round")
    ap.add_argument("--repeat", type=int, default=3, help="rounds (a fresh AppTest each)")
    ap.add_argument("--pages", default=",".join(PAGES))
    ap.add_argument("--profile", choices=("pyinstrument", "cprofile"))
    ap.add_argument("--json")
    args = ap.parse_args()
    os.environ.update(GOV_DB_URL=args.db, GOV_AUTO_DEMO="0", GOV_NOW=NOW)
    from bench.timing import bench_session

    token = bench_session(args.db)
    _like_a_server()
    names = [n for n in args.pages.split(",") if n]
    # The process's first render imports the pages' modules (Altair, pandas' Styler, …): untimed.
    for n in names:
        measure(token, n, 1)
    rows = []
    print(f"{'page':24s} {'CPU ms/rerun med':>17s} {'min':>6s} {'wall med':>9s} {'min':>6s}   (n)")
    for n in names:
        cpu, wall = [], []
        prof = _Profiler(args.profile) if args.profile else None
        for _ in range(args.repeat):
            c, w = measure(token, n, args.changes, prof)
            cpu += c
            wall += w
        row = {"page": n, "cpu_ms_median": statistics.median(cpu), "cpu_ms_min": min(cpu),
               "wall_ms_median": statistics.median(wall), "wall_ms_min": min(wall), "n": len(cpu)}
        rows.append(row)
        print(f"{n:24s} {row['cpu_ms_median']:17.0f} {row['cpu_ms_min']:6.0f} {row['wall_ms_median']:9.0f} "
              f"{row['wall_ms_min']:6.0f}   ({len(cpu)})", flush=True)
        if prof is not None:
            prof.report(n)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
