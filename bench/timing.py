"""The one timing helper of the benchmark scripts: the median wall time of repeated calls, in ms."""
from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object], repeat: int = 5, warm: bool = False) -> float:
    """Median milliseconds of ``repeat`` calls of ``fn`` (``warm``: one untimed call first)."""
    if warm:
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def bench_session(url: str) -> str:
    """A signed-in session token of a city-wide leader (account ``bench_leader``, made if missing)."""
    from data_access.core import users
    from data_access.core.db import get_engine

    engine = get_engine(url)
    account = users.get_account(engine, "bench_leader") or users.add_user(
        engine, "bench_leader", display_name="基准测试", role="leader", scope_code=None)
    return users.open_session(engine, account.as_user())


def open_page(token: str, path: str, query: dict[str, str]):
    """An AppTest of app.py, signed in with ``token``, whose FIRST run opens the page at URL path ``path``:
    the whole page as a browser gets it (the frame's sign-in check, region tree, pickers, then the page).
    ``st.Page`` identifies a page by the hash of its url_path; AppTest's own ``switch_page`` after a first run
    re-runs the page file alone, without app.py's frame, so it would time the page without the frame."""
    from pathlib import Path

    from streamlit.util import calc_hash

    at = _server_like_app_test()(Path(__file__).resolve().parent.parent / "app.py", default_timeout=600)
    at.session_state["_auth"] = token
    for k, v in query.items():
        at.query_params[k] = v
    at._page_hash = calc_hash(path)
    return at


@functools.cache
def _server_like_app_test():
    """AppTest doing per run only what a server does per run.  A new AppTest scans every installed package's
    metadata for custom components (~150 ms at each first run: 260 distributions) and compiles app.py and the
    page afresh (their AST rewrite, ~30 ms); a server does both once per process (the component registry at
    start, the page bytecode in its ScriptCache).  Every page opened here is a new AppTest, so without this the
    timings carried ~0.2 s a run that no user waits for (bench/pages.filter_change until 2026-12-07)."""
    from unittest import mock

    from streamlit.components.v2.component_manager import BidiComponentManager
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import AppTest, app_test, local_script_runner

    components = BidiComponentManager()
    components.discover_and_register_components(start_file_watching=False)
    script_cache = ScriptCache()

    class ServerLikeAppTest(AppTest):
        def _run(self, *args, **kwargs):
            self._bidi_component_manager = components
            with (mock.patch.object(app_test, "ScriptCache", lambda: script_cache),
                  mock.patch.object(local_script_runner, "ScriptCache", lambda: script_cache)):
                return super()._run(*args, **kwargs)

    return ServerLikeAppTest


def render_page(root, page: str, query: dict[str, str], token: str, cold: bool) -> float:
    """Milliseconds to render the page at URL path ``page`` (frame included, :func:`open_page`) with ``query``,
    signed in with ``token``; ``cold`` drops every cached answer first.  ``root`` is kept for the callers."""
    import streamlit as st

    if cold:
        st.cache_data.clear()
    at = open_page(token, page, query)
    t0 = time.perf_counter()
    at.run()
    ms = (time.perf_counter() - t0) * 1000
    if at.exception:
        raise SystemExit(f"{page} {query}: {at.exception[0].value}")
    return ms


def print_scope_table(levels: list[str], rows: list[tuple[str, list[float]]],
                      pg_rows: list[tuple[str, list[float]]] | None) -> None:
    """The Markdown table of the per-scope benchmarks: a row per question, a column per scope and backend."""
    head = "| question (median of 7, ms) | " + " | ".join(f"SQLite {lv}" for lv in levels)
    head += (" | " + " | ".join(f"PG {lv}" for lv in levels)) if pg_rows else ""
    print(head + " |")
    print("|---|" + "---:|" * (len(levels) * (2 if pg_rows else 1)))
    for i, (label, ms) in enumerate(rows):
        cells = [f"{x:.0f}" for x in ms] + ([f"{x:.0f}" for x in pg_rows[i][1]] if pg_rows else [])
        print(f"| {label} | " + " | ".join(cells) + " |")


def page_bench_setup(doc: str) -> tuple[object, str]:
    """The page benchmarks' command line (--db, --runs) and environment; returns (args, session token)."""
    import argparse
    import os

    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite:///bench/full.db")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    os.environ["GOV_DB_URL"] = args.db
    os.environ["GOV_AUTO_DEMO"] = "0"
    return args, bench_session(args.db)
