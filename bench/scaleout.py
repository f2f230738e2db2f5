"""Two app processes behind nginx (deploy/nginx.conf), one PostgreSQL: the deployment of the README's
"Several app processes behind nginx", started on loopback ports and checked with scripted tabs
(bench/ws_client.py).

    python -m bench scaleout --db postgresql+psycopg://postgres@127.0.0.1:5432/gov_bench_full [--sessions 20]

Each process is started by deploy/run-production.sh (the production profile: XSRF protection on, error
details hidden) with the same cookie secret; nginx runs with the repository's config, only the ports filled
in.  Checks:
1. health through the proxy, and tabs through it land on both processes (X-Upstream), each signed in by its
   session cookie and showing the Overview without an error, each on the process nginx's hash pinned its
   browser to.  Which process a browser's cookie hashes to depends on the processes' ports, which change from
   run to run, so a fixed handful of cookies may all land on one process (a CI run once saw that): the
   cookies are probed first (plain requests through the proxy, :func:`cookies_by_upstream`) and the tabs
   opened with as many pinned to A as to B (A's first: :func:`pinned_browsers`).  A tab's websocket on the
   process its probe named is the stickiness; a proxy that does not spread browsers finds no cookie for one
   process, one that does not pin them sends some tab elsewhere, and the check fails;
2. a red supervision order issued through process A (the workbench's form, as a user fills it in) shows at
   once in process B's case panel (uncached, primary) and within the refresh interval in B's workbench count
   of open red orders (cached for GOV_REFRESH_SECONDS): no look at B's count that began a refresh interval
   or more after the write still shows the old count (B cached it before the write, so it has expired by
   then), however long each look takes on a loaded machine;
3. with process B stopped, new tabs of every browser through the proxy, B's included, are all served by A;
4. (benchmark only, ``--sessions N``) N concurrent tabs through the proxy for ``--seconds``, as
   bench/concurrency.py does against one process.
``run(db_url)`` returns the measurements; tests/test_scaleout.py runs checks 1–3 on the test fixture.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.server import BENCH_COOKIE_SECRET, PortTaken, StreamlitServer, free_port, on_a_free_port
from bench.ws_client import StreamlitClient

ROOT = Path(__file__).resolve().parent.parent

NGINX_CONF = ROOT / "deploy" / "nginx.conf"
RED = "红牌督办"
SUBMIT = "发出督办"


class ProductionServer(StreamlitServer):
    """One app process as production starts it: deploy/run-production.sh with the shared cookie secret."""

    def command(self) -> list[str]:
        return ["bash", str(ROOT / "deploy" / "run-production.sh"), "--server.port", str(self.port)]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.update({"GOV_COOKIE_SECRET": BENCH_COOKIE_SECRET, "PYTHON": self.python,
                    "GOV_LISTEN_ADDRESS": self.host})
        env.update(self.extra_env)
        return env


class Nginx:
    """nginx with deploy/nginx.conf (or ``site``, the same file's text changed) for two upstream ports, in a
    folder of its own (context manager).  Without ``listen`` it listens on a free port, another one if a
    different process takes that first."""

    PORT_ATTEMPTS = 3

    def __init__(self, port_a: int, port_b: int, listen: int | None = None, site: str | None = None) -> None:
        self.binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.listen = listen or free_port()
        self._own_port = listen is None
        self.site = NGINX_CONF.read_text() if site is None else site
        self.ports = (port_a, port_b)
        self.dir = Path(tempfile.mkdtemp(prefix="gov_nginx_"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listen}"

    def write_config(self) -> Path:
        site = self.site.replace("@PORT_A@", str(self.ports[0])).replace(
            "@PORT_B@", str(self.ports[1])).replace("@LISTEN@", f"127.0.0.1:{self.listen}")
        (self.dir / "gov.conf").write_text(site)
        d = self.dir
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must write the temp folders below
        main = (f"{user}worker_processes 1;\nerror_log {d}/error.log warn;\npid {d}/nginx.pid;\n"
                "events { worker_connections 512; }\n"
                f"http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n"
                f"  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n"
                f"  scgi_temp_path {d}/scgi;\n  include {d}/gov.conf;\n}}\n")
        (d / "nginx.conf").write_text(main)
        return d / "nginx.conf"

    def start(self) -> Nginx:
        def next_port() -> None:
            self.listen = free_port()

        return on_a_free_port(self._start_once, next_port, self.PORT_ATTEMPTS if self._own_port else 1)

    def _answers(self) -> bool:
        """Whether this nginx answers on its port: the health check through it, from one of its upstreams (a
        server another process started on the same free port would answer without that header)."""
        try:
            status, via = _proxy_health(self.url)
        except (OSError, ValueError):
            return False
        return status == 200 and via.rsplit(", ", 1)[-1] in {f"127.0.0.1:{p}" for p in self.ports}

    def _start_once(self) -> Nginx:
        conf = self.write_config()
        test = subprocess.run([self.binary, "-t", "-p", str(self.dir), "-c", str(conf)], check=False, capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t refused the config:\n{test.stderr}")
        with open(self.dir / "stderr.log", "wb") as err:
            self.proc = subprocess.Popen([self.binary, "-p", str(self.dir), "-c", str(conf), "-g", "daemon off;"],
                                         stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self._log()
                if "Address already in use" in log:
                    raise PortTaken(f"port {self.listen} was taken before nginx bound it: {log[-500:]}")
                break
            if self._answers():
                return self
            time.sleep(0.2)
        log = self._log()
        self.stop()
        raise RuntimeError(f"nginx not answering on {self.url}: {log[-2000:]}")

    def _log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in (self.dir / "error.log", self.dir / "stderr.log")
                       if p.exists())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Nginx":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _proxy_health(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as r:
        return r.status, r.headers.get("X-Upstream", "")


def _proxy_cookie_route(url: str, db_url: str, token: str) -> dict:
    """The server-set session cookie through the proxy (ui/session_cookie.py): the page's POST of a one-time grant
    is answered 204 with an HttpOnly, SameSite=Strict cookie holding the session's token."""
    from data_access.core import users
    from data_access.core.db import get_engine

    grant = users.session_grant(get_engine(db_url), token)
    req = urllib.request.Request(f"{url}/_gov/session", data=grant.encode(), method="POST",
                                 headers={"X-Gov-Session": "1", "Origin": url, "Sec-Fetch-Site": "same-origin"})
    with urllib.request.urlopen(req, timeout=10) as r:
        cookie = r.headers.get("Set-Cookie", "")
        parts = {p.strip().lower() for p in cookie.split(";")}
        return {"status": r.status, "via": r.headers.get("X-Upstream", ""),
                "ok": r.status == 204 and cookie.startswith(f"gov_session={token};")
                and {"httponly", "samesite=strict", "path=/"} <= parts}


def upstream_of(url: str, xsrf: str) -> str:
    """The process nginx at ``url`` sends a browser with this XSRF cookie to: the X-Upstream of a plain request
    (the health check, hashed like every other location)."""
    req = urllib.request.Request(f"{url}/_stcore/health", headers={"Cookie": f"_streamlit_xsrf={xsrf}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.headers.get("X-Upstream", "")


def cookies_by_upstream(url: str, upstreams: list[str], per: int, tag: str, tries: int = 200) -> dict[str, list[str]]:
    """XSRF cookie values (``tag``000, ``tag``001, …) sorted by the process nginx pins each to, probed one by
    one until each of ``upstreams`` has ``per`` of them or ``tries`` values were probed.

    The hash decides where a value lands, and the processes' ports (part of nginx's hash ring) change from run
    to run, so no fixed list of values is sure to reach both; probed, ``tries`` values all landing on one of
    two processes that share the ring about evenly is a chance of about 2**-200.  A proxy that does not spread
    browsers (every value on one process) leaves a list empty."""
    found: dict[str, list[str]] = {u: [] for u in upstreams}
    for i in range(tries):
        if all(len(v) >= per for v in found.values()):
            break
        value = f"{tag}{i:03d}"
        up = upstream_of(url, value)
        if up in found and len(found[up]) < per:
            found[up].append(value)
    return found


def pinned_browsers(by_upstream: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(cookie value, its process): A's browsers, then B's.  An order no rotation produces, so that a proxy
    taking the processes in turn (round robin) instead of pinning browsers sends some tab elsewhere."""
    return [(value, up) for up, values in by_upstream.items() for value in values]


async def tabs_through(url: str, token: str, browsers: list[tuple[str, str]]) -> list[dict]:
    """A new tab through ``url`` for each (XSRF cookie, expected process) of ``browsers``, each opening the
    Overview; where each landed, where it should have, and how it went."""
    out = []
    for xsrf, expected in browsers:
        cookies = {"gov_session": token, "_streamlit_xsrf": xsrf}
        async with StreamlitClient(url, cookies=cookies, run_timeout=120) as tab:
            r = await tab.run("", "")
            out.append({"xsrf": xsrf, "expected": expected, "upstream": tab.upstream, "ok": r.ok,
                        "problems": r.problems, "title": r.title, "seconds": round(r.elapsed_s, 3)})
    return out


def red_orders(result) -> int | None:
    """The workbench's count of open red orders: its metric "督办 红牌/黄牌: {red} / {yellow}" (thousands with a
    separator: at 1.07 M skewed cases "1,204 / 3,517", which read as no count, so the write check failed there)."""
    for text in result.texts:
        if text.startswith("督办 红牌/黄牌:"):
            red = text.split(":", 1)[1].split("/")[0].strip().replace(",", "")
            return int(red) if red.isdigit() else None
    return None


async def write_in_a_seen_in_b(a_url: str, b_url: str, token: str, case_no: str, refresh_s: float) -> dict:
    """A red order through A's workbench form; seconds until B's case panel and B's red-order count show it."""
    note = f"扩容测试督办 {time.strftime('%H%M%S')}"
    cookies = {"gov_session": token}
    async with StreamlitClient(b_url, cookies=cookies, run_timeout=120) as b:
        before = await b.run("cases", {"period": "all"})
        red_before = red_orders(before)
        async with StreamlitClient(a_url, cookies=cookies, run_timeout=120) as a:
            opened = await a.run("cases", {"case": case_no, "period": "all"})
            if not opened.ok:
                return {"ok": False, "why": f"A could not open {case_no}: {opened.problems}"}
            form = [(a.widget(key=f"order_grade_{case_no}"), RED), (a.widget(key=f"order_note_{case_no}"), note),
                    (a.widget(label=SUBMIT, kind="button"), True)]
            sent = await a.submit(form)
            t_write = time.monotonic()
            if not sent.ok or not sent.has_text(note):
                return {"ok": False, "why": f"A's form: {sent.problems} {sent.errors} {sent.texts[-8:]}"}
        async with StreamlitClient(b_url, cookies=cookies, run_timeout=120) as b2:  # a link opened in a new tab
            panel = await b2.run("cases", {"case": case_no, "period": "all"})
        panel_s = time.monotonic() - t_write
        seen_in_panel = panel.has_text(note)
        # B's count was cached before the write (``before``, or earlier), so it expires less than refresh_s after
        # the write: a look at it that *starts* refresh_s or more after the write must show the new count.  When a
        # look ends (count_s) depends on how loaded the machine is; when the last stale one began does not.
        count_s = stale_s = None
        red_after = red_before
        while time.monotonic() - t_write < refresh_s + 60:  # a bound for a count that never changes, not a check
            asked_s = time.monotonic() - t_write
            r = await b.run("cases", {"period": "all"})
            red_after = red_orders(r)
            if red_before is not None and red_after == red_before + 1:
                count_s = time.monotonic() - t_write
                break
            if red_after == red_before:
                stale_s = asked_s
            await asyncio.sleep(1)
    fresh_in_time = count_s is not None and (stale_s is None or stale_s < refresh_s)
    return {"ok": seen_in_panel and fresh_in_time, "note": note,
            "seen_in_b_case_panel": seen_in_panel, "case_panel_s": round(panel_s, 2),
            "red_before": red_before, "red_after": red_after,
            "seen_in_b_count_s": None if count_s is None else round(count_s, 2),
            "last_stale_look_began_s": None if stale_s is None else round(stale_s, 2), "refresh_s": refresh_s}


def open_case(db_url: str) -> str:
    from sqlalchemy import select

    from data_access.core.db import get_engine
    from data_access.core.schema import cases

    with get_engine(db_url).connect() as conn:
        return conn.execute(select(cases.c.case_no).where(cases.c.status != "closed")
                            .order_by(cases.c.reported_at.desc()).limit(1)).scalar_one()


def run(db_url: str, sessions: int = 0, seconds: float = 60, refresh_s: int = 10, tabs: int = 8,
        env: dict[str, str] | None = None, think: tuple[float, float] = (0.5, 1.5)) -> dict:
    """Start A, B and nginx; run the checks (and ``sessions`` concurrent tabs when > 0); stop everything."""
    from bench.timing import bench_session

    token = bench_session(db_url)
    case_no = open_case(db_url)
    extra = {"GOV_REFRESH_SECONDS": str(refresh_s), **(env or {})}
    out: dict = {"db": db_url.split("@")[-1], "refresh_s": refresh_s}
    a, b = ProductionServer(db_url, env=extra), ProductionServer(db_url, env=extra)
    try:
        a.start()
        b.start()
        with Nginx(a.port, b.port) as proxy:
            status, via = _proxy_health(proxy.url)
            out["health"] = {"status": status, "via": via}
            out["cookie_route"] = _proxy_cookie_route(proxy.url, db_url, token)
            up_a, up_b = f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"
            browsers = pinned_browsers(cookies_by_upstream(proxy.url, [up_a, up_b], max(1, tabs // 2), "s"))
            out["browsers"] = browsers
            landed = asyncio.run(tabs_through(proxy.url, token, browsers))
            out["tabs"] = landed
            out["upstreams"] = sorted({t["upstream"] for t in landed})
            out["both_used"] = {up_a, up_b} <= set(out["upstreams"])
            out["sticky"] = bool(landed) and all(t["upstream"] == t["expected"] for t in landed)
            out["tabs_ok"] = bool(landed) and all(t["ok"] for t in landed)
            out["write"] = asyncio.run(write_in_a_seen_in_b(a.url, b.url, token, case_no, refresh_s))
            if sessions:
                out["concurrency"] = concurrent(proxy.url, db_url, token, sessions, seconds, think, (a, b))
            b.stop()
            # the same browsers, B's included (their first request may try B before A: "B, A")
            after = asyncio.run(tabs_through(proxy.url, token, [(x, up_a) for x, _ in browsers]))
            out["after_b_stopped"] = after
            out["failover_from_b"] = sum(1 for _, up in browsers if up == up_b)
            out["failover_ok"] = out["failover_from_b"] > 0 and all(
                t["ok"] and t["upstream"].split(", ")[-1] == up_a for t in after)
    finally:
        for s in (a, b):
            s.stop()
    out["ok"] = bool(out.get("both_used") and out.get("sticky") and out.get("tabs_ok")
                     and out.get("write", {}).get("ok") and out.get("failover_ok")
                     and out.get("health", {}).get("status") == 200 and out.get("cookie_route", {}).get("ok"))
    return out


def concurrent(url: str, db_url: str, token: str, sessions: int, seconds: float, think: tuple[float, float],
               servers: tuple[StreamlitServer, StreamlitServer]) -> dict:
    import statistics

    from bench.concurrency import (
        GRACE_S,
        WARM_S,
        Stats,
        load_regions,
        percentile,
        run_sessions,
    )

    stats = Stats()
    cpu0 = [s.cpu_seconds() or 0.0 for s in servers]
    asyncio.run(asyncio.wait_for(run_sessions(url, token, load_regions(db_url), sessions, seconds, "widget", 30.0,
                                              stats, think), WARM_S + seconds + GRACE_S + 5))
    c = stats.changes
    return {"sessions": sessions, "seconds": seconds, "think_s": list(think), "changes": len(c),
            "change_median_s": statistics.median(c) if c else None, "change_p95_s": percentile(c, 95),
            "errors": sum(stats.errors.values()), "errors_by_kind": dict(stats.errors),
            "upstreams": dict(stats.upstreams),
            "server_cpu_s": [round((s.cpu_seconds() or 0.0) - c0, 1) for s, c0 in zip(servers, cpu0)],
            "peak_rss_mib": [round(s.memory()["vm_hwm_mib"]) for s in servers]}


def main() -> None:
    import argparse
    import json

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="a PostgreSQL URL holding a dataset")
    ap.add_argument("--sessions", type=int, default=0, help="also run this many concurrent tabs through nginx")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", type=float, nargs=2, default=(0.5, 1.5))
    ap.add_argument("--refresh", type=int, default=10, help="GOV_REFRESH_SECONDS of both processes")
    args = ap.parse_args()
    os.environ.setdefault("GOV_NOW", "2026-10-08T12:00:00")
    r = run(args.db, args.sessions, args.seconds, args.refresh, think=tuple(args.think))
    print(json.dumps(r, ensure_ascii=False, indent=1))
    raise SystemExit(0 if r["ok"] else 1)


if __name__ == "__main__":
    main()
