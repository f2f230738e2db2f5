"""Concurrent sessions against one real ``streamlit run``: errors, filter-change times and peak memory.

    python -m bench concurrency [--db sqlite:///bench/full.db] [--sessions 20] [--seconds 60] [--mode widget]

One server (bench/server.py) on loopback, warmed by one Overview; then ``sessions`` scripted tabs
(bench/ws_client.py, asyncio, one process), each signed in as the city-wide benchmark leader, open the
Overview and, until ``seconds`` are up, go round a script of filter changes with a think time of 0.5–1.5 s
(``--think``):
region city → a county → a township → back to the county, period year-to-date and last 90 days, back to
the city and the last 12 months, the case list (next page, a status filter, the filter cleared), a view of
the supervision centre, the Overview again.  Each tab takes its own county, township, status and view, so
the tabs do not all ask the same question.

Every change is checked against what it should show (the page title names the region, the period's dates
are in the sidebar, the URL the app writes carries the status or the view, the pager says page 2);
exceptions, error alerts, timeouts, disconnects, changes that do not show and widgets that are missing all
count as errors.  A tab that timed out or lost its connection reconnects and starts again from the Overview.

``--mode widget`` (default) changes a filter the way a browser does: a rerun carrying the widget's new value
(and the URL as the app left it).  ``--mode query`` changes it with the URL instead — a rerun on the same
connection with a different query string — which the app does not apply to a running session (ui/state.py
and ui/urlstate.py read the URL once per session): those changes count as "not_applied".

Bounded: every run has a timeout; no step starts after ``seconds``, every tab is cancelled ``seconds`` + 30 s
after the start, and the server is stopped at the end whatever happens: server start ≤ 15 s, warm-up ≤ 15 s,
tabs ≤ ``seconds`` + 20 s, stop ≤ 15 s (in practice ``seconds`` + 10 s or so).
"""
from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from bench.server import BENCH_NOW, StreamlitServer
from bench.timing import bench_session
from bench.visits import VIEWS
from bench.ws_client import ClientError, RunResult, StreamlitClient

TODAY = date.fromisoformat(BENCH_NOW[:10])
OPEN_STATUSES = ("reported", "accepted", "dispatched", "handling", "feedback")
SUPERVISION_VIEWS = VIEWS["supervision"]
PAGE_TITLES = {"": "ov.title", "cases": "wb.title", "supervision": "sc.title"}
LANG = "zh"
GRACE_S = 20.0  # after ``seconds``: the time a step already started may still take
WARM_S = 15.0  # the warm-up Overview may take this long (a slower one is cut off, and the run goes on)
START_S = 15.0  # the server must answer its health check within this


def t(key: str, **kwargs: object) -> str:
    """The app's text of ``key`` (ui/i18n.py) in the benchmark's language."""
    from ui.i18n import translate

    return translate(key, LANG, **kwargs)


@dataclass(frozen=True)
class Regions:
    """The names and parents of the regions the tabs move through."""

    city: str
    names: dict[str, str]
    parents: dict[str, str | None]
    counties: list[str]
    townships: dict[str, list[str]]


def load_regions(db_url: str) -> Regions:
    """The city a city-wide leader starts in (the root with the most residents), its counties and their
    townships."""
    from data_access.core.db import get_engine
    from data_access.core.regions import region_tree

    tree = region_tree(get_engine(db_url))
    city = max(tree.roots, key=lambda c: (tree.population.get(c, 0), c))
    counties = [n.code for n in tree.children(city)]
    return Regions(city, {c: n.name for c, n in tree.nodes.items()}, {c: n.parent for c, n in tree.nodes.items()},
                   counties, {c: [n.code for n in tree.children(c)] for c in counties})


@dataclass
class Stats:
    """What all tabs measured."""

    changes: list[float] = field(default_factory=list)  # seconds of each filter change that showed
    opens: list[float] = field(default_factory=list)  # seconds of each page opened
    errors: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # one example per error kind
    upstreams: Counter = field(default_factory=Counter)  # sessions per process behind a proxy (X-Upstream)

    def error(self, kind: str, what: str) -> None:
        """Count an error (and keep its first example)."""
        self.errors[kind] += 1
        self.examples.setdefault(kind, what[:300])


@dataclass
class Step:
    """One action of the script: a page opened or a filter changed, and what it must show."""

    kind: str  # "open" or "change"
    label: str
    act: Callable[[Tab], Awaitable[RunResult]]
    check: Callable[[Tab, RunResult], str | None]  # None when it shows, else why not


class Tab:
    """One scripted tab: its client, where it is, and its own choices of county, township, status, view."""

    def __init__(self, i: int, url: str, token: str, regions: Regions, mode: str, stats: Stats,
                 run_timeout: float, think: tuple[float, float] = (0.5, 1.5)) -> None:
        self.i, self.url, self.token, self.regions, self.mode, self.stats = i, url, token, regions, mode, stats
        self.run_timeout, self.think = run_timeout, think
        self.client: StreamlitClient | None = None
        self.page = ""  # url path of the page on screen
        self.region = regions.city
        self.deadline = math.inf  # no run may end later than this (monotonic)
        self.rng = random.Random(i)
        self.county = regions.counties[i % len(regions.counties)]
        towns = regions.townships.get(self.county) or [self.county]
        self.township = towns[(i // len(regions.counties)) % len(towns)]
        self.status = OPEN_STATUSES[i % len(OPEN_STATUSES)]
        self.view = SUPERVISION_VIEWS[1 + i % (len(SUPERVISION_VIEWS) - 1)]

    def timeout(self) -> float:
        """The time the next run may take."""
        return max(0.1, min(self.run_timeout, self.deadline - time.monotonic()))

    async def connect(self) -> None:
        """A new session (closing the old one)."""
        if self.client is not None:
            await self.client.close()
        # Each tab its own XSRF cookie, as each browser has: a proxy that pins browsers by it (deploy/nginx.conf)
        # spreads the tabs over its processes.
        cookies = {"gov_session": self.token, "_streamlit_xsrf": f"bench{self.i:04d}"}
        self.client = StreamlitClient(self.url, cookies=cookies, run_timeout=self.run_timeout)
        await self.client.connect()
        if self.client.upstream:
            self.stats.upstreams[self.client.upstream] += 1
        self.page, self.region = "", self.regions.city

    async def open(self, page: str) -> RunResult:
        """Open a page as the navigation does (its script hash once known, no query string)."""
        assert self.client is not None
        self.page = page
        return await self.client.run(page, "", timeout=self.timeout(), page_script_hash=self.client.pages.get(page))

    async def set_param(self, key: str, value: str | None) -> RunResult:
        """``--mode query``: the current page with ``key`` changed in the URL the app left."""
        assert self.client is not None
        q = dict(parse_qsl(self.client.query_string))
        if value is None:
            q.pop(key, None)
        else:
            q[key] = value
        return await self.client.run(self.page, urlencode(q), timeout=self.timeout(),
                                     page_script_hash=self.client.page_script_hash)

    async def set_widget(self, key: str | None, value: object, label: str | None = None,
                         kind: str | None = None) -> RunResult:
        """``--mode widget``: what a user's change of the widget sends."""
        assert self.client is not None
        return await self.client.interact(self.client.widget(key, label, kind), value, timeout=self.timeout())


# --- the script ---------------------------------------------------------------------------------------------

def region_step(label: str, target: str) -> Step:
    """Select ``target`` in the region picker: a child of the current region (its picker) or an ancestor
    (the "(all)" entry of the picker below it)."""

    async def act(tab: Tab) -> RunResult:
        up = _is_ancestor(tab.regions, target, tab.region)
        tab.region = target
        if tab.mode == "query":
            return await tab.set_param("region", target)
        if up:
            return await tab.set_widget(f"region_pick_{target}", t("frame.region.all"))
        parent = tab.regions.parents.get(target)
        return await tab.set_widget(f"region_pick_{parent or 'root'}", tab.regions.names[target])

    def check(tab: Tab, r: RunResult) -> str | None:
        want = tab.regions.names[target]
        return None if (r.title or "").endswith(f" · {want}") else f"title {r.title!r}, wanted {want}"

    return Step("change", label, act, check)


def _is_ancestor(regions: Regions, a: str, code: str) -> bool:
    node: str | None = regions.parents.get(code)
    while node is not None:
        if node == a:
            return True
        node = regions.parents.get(node)
    return False


def period_step(period: str) -> Step:
    """Pick a preset period in the sidebar."""
    from ui.state import period_dates

    start, end = period_dates(period, None, TODAY)
    caption = t("frame.period.range", start=start.isoformat(), end=end.isoformat()) if start and end else None

    async def act(tab: Tab) -> RunResult:
        if tab.mode == "query":
            return await tab.set_param("period", period)
        return await tab.set_widget("period", t(f"frame.period.{period}"))

    def check(tab: Tab, r: RunResult) -> str | None:
        return None if caption is None or r.has_text(caption) else f"no {caption!r} on the page"

    return Step("change", f"period {period}", act, check)


def open_step(page: str) -> Step:
    """Open a page from the navigation."""

    async def act(tab: Tab) -> RunResult:
        return await tab.open(page)

    def check(tab: Tab, r: RunResult) -> str | None:
        title = t(PAGE_TITLES[page])
        return None if (r.title or "").startswith(title) else f"title {r.title!r}, wanted {title}"

    return Step("open", f"open {page or 'overview'}", act, check)


def status_step(clear: bool) -> Step:
    """The case list's status filter: the tab's status, or cleared."""

    async def act(tab: Tab) -> RunResult:
        if tab.mode == "query":
            return await tab.set_param("status", None if clear else tab.status)
        return await tab.set_widget("wb_status", [] if clear else [t(f"enum.status.{tab.status}")])

    def check(tab: Tab, r: RunResult) -> str | None:
        assert tab.client is not None
        got = dict(parse_qsl(tab.client.query_string)).get("status")
        want = None if clear else tab.status
        return None if got == want else f"URL status={got}, wanted {want}"

    return Step("change", "case list: status cleared" if clear else "case list: status", act, check)


def next_page_step() -> Step:
    """The case list's next page (a button in both modes: the page number is not in the URL)."""
    prefix = t("wb.page.of", page="2", pages="\x00", total="\x00").split("\x00")[0]

    async def act(tab: Tab) -> RunResult:
        return await tab.set_widget(None, True, label=t("wb.page.next"), kind="button")

    def check(tab: Tab, r: RunResult) -> str | None:
        return None if any(s.startswith(prefix) for s in r.texts) else f"no {prefix!r} on the page"

    return Step("change", "case list: next page", act, check)


def view_step() -> Step:
    """One of the supervision centre's views (the tab's own)."""

    async def act(tab: Tab) -> RunResult:
        if tab.mode == "query":
            return await tab.set_param("view", tab.view)
        return await tab.set_widget("sc_view", t(f"sc.view.{tab.view}"))

    def check(tab: Tab, r: RunResult) -> str | None:
        assert tab.client is not None
        got = dict(parse_qsl(tab.client.query_string)).get("view", "backlog")
        return None if got == tab.view else f"URL view={got}, wanted {tab.view}"

    return Step("change", "supervision view", act, check)


def script(tab: Tab) -> list[Step]:
    """The round of steps a tab repeats (it starts on the Overview of the city, last 12 months)."""
    r = tab.regions
    return [
        region_step("region: county", tab.county),
        region_step("region: township", tab.township),
        period_step("ytd"),
        region_step("region: back to the county", tab.county),
        period_step("last90"),
        region_step("region: back to the city", r.city),
        period_step("last12m"),
        open_step("cases"),
        next_page_step(),
        status_step(clear=False),
        status_step(clear=True),
        open_step("supervision"),
        view_step(),
        open_step(""),
    ]


# --- running -----------------------------------------------------------------------------------------------

async def do_step(tab: Tab, step: Step) -> bool:
    """Run one step and count it; False when the tab must reconnect."""
    try:
        r = await step.act(tab)
    except (KeyError, ValueError) as exc:
        tab.stats.error("widget", f"{step.label}: no widget {exc}")
        return False
    if r.status in ("timeout", "disconnected"):
        tab.stats.error(r.status, f"{step.label} after {r.elapsed_s:.1f} s")
        return False
    bad = r.problems
    for p in bad:
        kind = p.split(":", 1)[0].replace(" ", "_")
        tab.stats.error(kind, f"{step.label}: {p}")
    if bad:
        return False
    reason = step.check(tab, r)
    if reason is not None:
        tab.stats.error("not_applied", f"{step.label}: {reason}")
        return tab.mode == "query"  # a query-mode change the app ignores is the finding, not a broken tab
    (tab.stats.changes if step.kind == "change" else tab.stats.opens).append(r.elapsed_s)
    return True


async def tab_loop(tab: Tab, stop_at: float) -> None:
    """Open the Overview, then go round the script until ``stop_at`` (monotonic)."""
    steps = script(tab)
    pos = -1  # -1: (re)connect and open the Overview
    while time.monotonic() < stop_at:
        if pos < 0:
            try:
                await tab.connect()
            except ClientError as exc:
                tab.stats.error("connect", str(exc))
                await asyncio.sleep(1)
                continue
            ok = await do_step(tab, open_step(""))
            pos = 0 if ok else -1
            tab.region = tab.regions.city
        else:
            ok = await do_step(tab, steps[pos])
            pos = (pos + 1) % len(steps) if ok else -1
        await asyncio.sleep(min(tab.rng.uniform(*tab.think), max(0.0, stop_at - time.monotonic())))


async def run_sessions(url: str, token: str, regions: Regions, sessions: int, seconds: float, mode: str,
                       run_timeout: float, stats: Stats, think: tuple[float, float] = (0.5, 1.5)) -> float:
    """Warm the server with one Overview, then run the tabs; returns the seconds they ran."""
    async with StreamlitClient(url, cookies={"gov_session": token}, run_timeout=WARM_S) as warm:
        await warm.run("", "")
    start = time.monotonic()
    tabs = [Tab(i, url, token, regions, mode, stats, run_timeout, think) for i in range(sessions)]
    for tab in tabs:
        tab.deadline = start + seconds + GRACE_S - 1

    async def staggered(tab: Tab) -> None:
        await asyncio.sleep(tab.i * min(0.1, seconds / 20 / max(1, sessions)))
        try:
            await tab_loop(tab, start + seconds)
        finally:
            if tab.client is not None:
                await tab.client.close()

    tasks = [asyncio.create_task(staggered(tab)) for tab in tabs]
    done, pending = await asyncio.wait(tasks, timeout=seconds + GRACE_S)
    for task in pending:
        task.cancel()
        stats.error("cancelled", "a tab still busy at the hard deadline")
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            stats.error("crash", repr(task.exception()))
    return time.monotonic() - start


def percentile(xs: list[float], p: float) -> float | None:
    """The nearest-rank percentile (None for no values)."""
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def run(db_url: str, sessions: int = 20, seconds: float = 60, mode: str = "widget",
        run_timeout: float = 30.0, think: tuple[float, float] = (0.5, 1.5)) -> dict:
    """One server, ``sessions`` concurrent tabs for ``seconds`` (``think``: the pause after each step, drawn
    uniformly between the two values, in s); errors, change times and memory."""
    token = bench_session(db_url)
    regions = load_regions(db_url)
    stats = Stats()
    with StreamlitServer(db_url, startup_timeout=START_S, args=["--client.showErrorDetails", "full"]) as srv:
        cpu0, client0 = srv.cpu_seconds() or 0.0, time.process_time()
        ran = asyncio.run(asyncio.wait_for(
            run_sessions(srv.url, token, regions, sessions, seconds, mode, run_timeout, stats, think),
            WARM_S + seconds + GRACE_S + 5))
        server_cpu, client_cpu = (srv.cpu_seconds() or 0.0) - cpu0, time.process_time() - client0
        memory = srv.memory()
    c = stats.changes
    return {"db": db_url, "mode": mode, "sessions": sessions, "seconds": seconds, "think_s": list(think),
            "ran_s": ran,
            "changes": len(c), "change_median_s": statistics.median(c) if c else None,
            "change_p95_s": percentile(c, 95), "change_max_s": max(c) if c else None,
            "opens": len(stats.opens), "open_median_s": statistics.median(stats.opens) if stats.opens else None,
            "open_p95_s": percentile(stats.opens, 95),
            "server_cpu_s": server_cpu, "client_cpu_s": client_cpu,
            "errors": sum(stats.errors.values()), "errors_by_kind": dict(stats.errors),
            "upstreams": dict(stats.upstreams),
            "error_examples": stats.examples, **memory}


def print_result(r: dict) -> None:
    """The result, one line each."""
    def s(x: float | None) -> str:
        return "—" if x is None else f"{x:.2f} s"

    print(f"{r['sessions']} sessions × {r['seconds']:.0f} s ({r['mode']} mode, think "
          f"{r['think_s'][0]:g}–{r['think_s'][1]:g} s) on {r['db']}, ran {r['ran_s']:.1f} s")
    print(f"filter changes: {r['changes']}, median {s(r['change_median_s'])}, p95 {s(r['change_p95_s'])}, "
          f"max {s(r['change_max_s'])}")
    print(f"pages opened: {r['opens']}, median {s(r['open_median_s'])}, p95 {s(r['open_p95_s'])}")
    print(f"CPU: server {r['server_cpu_s']:.1f} s, this client {r['client_cpu_s']:.1f} s (warm-up included)")
    print(f"errors: {r['errors']} {r['errors_by_kind'] or ''}")
    for kind, example in r["error_examples"].items():
        print(f"  e.g. {kind}: {example}")
    print(f"server peak RSS (VmHWM) {r['vm_hwm_mib']:.0f} MiB, current RSS (VmRSS) {r['vm_rss_mib']:.0f} MiB")


def main() -> None:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite:///bench/full.db")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--mode", choices=("widget", "query"), default="widget")
    ap.add_argument("--run-timeout", type=float, default=30.0, help="seconds one run may take (default 30)")
    ap.add_argument("--think", type=float, nargs=2, default=(0.5, 1.5), metavar=("MIN", "MAX"),
                    help="pause after each step, uniform in [MIN, MAX] s (default 0.5 1.5)")
    ap.add_argument("--json", help="also write the result to this file")
    args = ap.parse_args()
    result = run(args.db, args.sessions, args.seconds, args.mode, args.run_timeout, tuple(args.think))
    print_result(result)
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    sys.exit(1 if result["errors"] else 0)


if __name__ == "__main__":
    main()
