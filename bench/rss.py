"""Peak memory of a real ``streamlit run`` after a scripted visit of every page, in Chinese and in English.

    python -m bench rss [--db sqlite:///bench/full.db] [--timeout 300]

One server (bench/server.py), one scripted tab (bench/ws_client.py) signed in as the city-wide benchmark
leader, every visit of ``bench/visits.py: every_page`` in order, first in Chinese and then with ``lang=en``;
each visit's time and problems (exception, error alert, page not found, timeout), then the server's VmHWM
(peak resident memory) and VmRSS.

A visit is the page's url path with its query string, sent on the tab's session.  The app reads most of the
URL only once per session (ui/state.py, ui/urlstate.py: the session's value wins over a changed URL), so a
visit whose query the session does not apply — the URL the app writes back differs from the visit's — is
reloaded, as a browser does when a link is pasted into the tab: a new session with the same cookie.  The
table says which visits needed that; a visit that still does not show its URL counts as a problem.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from bench.server import StreamlitServer
from bench.timing import bench_session
from bench.visits import Visit, every_page, samples
from bench.ws_client import ClientError, StreamlitClient

# The app leaves a parameter out of the URL when it has its default value (ui/urlstate.to_url).
FRAME_DEFAULTS = {"lang": "zh", "period": "last12m"}
VIEW_DEFAULTS = {"supervision": "backlog", "staffing": "regions", "volunteers": "overview",
                 "assets": "portfolio", "clean": "ranking"}
DEFAULT_PAGE = "overview"  # st.navigation gives the default page the url path "" whatever its url_path


@dataclass
class VisitRecord:
    """One visit: time of the run that showed it, and what went wrong."""

    lang: str
    label: str
    path: str
    query: str
    seconds: float
    status: str
    title: str | None
    reloaded: bool = False  # the session ignored the URL; a new session (reload) showed it
    first_seconds: float | None = None  # the ignored run's time, when reloaded
    problems: list[str] = field(default_factory=list)


def page_name(v: Visit) -> str:
    """The url path to ask for: "" for the default page."""
    return "" if v.path == DEFAULT_PAGE else v.path


def wanted_query(v: Visit, lang: str) -> dict[str, str]:
    """The visit's query string in ``lang``."""
    return {**v.query, **({"lang": lang} if lang != FRAME_DEFAULTS["lang"] else {})}


def url_mismatch(v: Visit, want: dict[str, str], url_left: str, home_region: str | None,
                 carried: set[str]) -> list[str]:
    """Parameters whose value in the URL the app left differs from the visit's (defaults count as absent;
    a visit without ``region`` wants the user's home region).  A parameter the visit does not set counts
    only when it is in ``carried`` (it was in the URL earlier in the session, so it is kept state); one the
    page adds by itself (the ranking's ``unit``) does not."""
    defaults = {**FRAME_DEFAULTS, "view": VIEW_DEFAULTS.get(v.path), "region": home_region}

    def norm(d: dict[str, str]) -> dict[str, str]:
        return {k: x for k, x in d.items() if defaults.get(k) != x}

    a, b = norm(want), norm(dict(parse_qsl(url_left)))
    keys = a.keys() | (b.keys() & (carried | {"region", "lang", "period", "view"}))
    return sorted(k for k in keys if a.get(k) != b.get(k))


class Tab:
    """The scripted browser tab: a client that can be reloaded (a new session with the same cookie)."""

    def __init__(self, url: str, token: str, timeout: float) -> None:
        self.url, self.token, self.timeout = url, token, timeout
        self.client: StreamlitClient | None = None
        self.sessions = 0
        self.home: str | None = None  # the user's home region (in the URL of the first visit without one)
        self.carried: set[str] = set()  # parameters the app has written to the URL in this session

    async def open(self) -> StreamlitClient:
        """Close the current session (if any) and connect a new one."""
        await self.close()
        self.client = StreamlitClient(self.url, cookies={"gov_session": self.token}, run_timeout=self.timeout)
        await self.client.connect()
        self.sessions += 1
        self.carried = set()
        return self.client

    async def close(self) -> None:
        """Close the session."""
        if self.client is not None:
            await self.client.close()
            self.client = None


async def visit(tab: Tab, v: Visit, lang: str) -> VisitRecord:
    """Open ``v`` on the tab's session; reload once when the session does not apply its URL."""
    want = wanted_query(v, lang)
    qs = urlencode(want)
    client = tab.client or await tab.open()
    r = await client.run(page_name(v), qs)
    if tab.home is None and r.status == "ok" and "region" not in v.query:
        tab.home = dict(parse_qsl(client.query_string)).get("region")
    rec = VisitRecord(lang, v.label, v.path, qs, r.elapsed_s, r.status, r.title)
    if r.status == "ok" and url_mismatch(v, want, client.query_string, tab.home, tab.carried):
        client = await tab.open()
        rec.first_seconds, rec.reloaded = r.elapsed_s, True
        r = await client.run(page_name(v), qs)
        rec.seconds, rec.status, rec.title = r.elapsed_s, r.status, r.title
    rec.problems = list(r.problems)
    if r.status in ("timeout", "disconnected"):
        await tab.close()  # the next visit starts a new session
    elif r.status == "ok":
        wrong = url_mismatch(v, want, client.query_string, tab.home, tab.carried)
        if wrong:
            rec.problems.append(f"URL not applied ({', '.join(wrong)}): {client.query_string}")
        tab.carried |= {k for k, _ in parse_qsl(client.query_string)}
    return rec


async def visit_all(url: str, token: str, visits: list[Visit], timeout: float,
                    progress: bool = True) -> tuple[list[VisitRecord], int]:
    """Every visit in Chinese, then in English, on one tab; returns the records and the sessions used."""
    tab = Tab(url, token, timeout)
    records: list[VisitRecord] = []
    try:
        for lang in ("zh", "en"):
            for v in visits:
                try:
                    rec = await visit(tab, v, lang)
                except ClientError as exc:
                    rec = VisitRecord(lang, v.label, v.path, urlencode(wanted_query(v, lang)), 0.0, "disconnected",
                                      None, problems=[str(exc)])
                    await tab.close()
                records.append(rec)
                if progress:
                    print(f"  {lang} {rec.seconds:7.2f} s  {'reload ' if rec.reloaded else ''}{v.label}"
                          f"{'  ' + '; '.join(rec.problems) if rec.problems else ''}", file=sys.stderr, flush=True)
    finally:
        await tab.close()
    return records, tab.sessions


def run(db_url: str, timeout: float = 300.0, progress: bool = True) -> dict:
    """Start the server, visit every page in Chinese and English, and return the visits and the memory."""
    token = bench_session(db_url)
    visits = every_page(samples(db_url))
    with StreamlitServer(db_url, args=["--client.showErrorDetails", "full"]) as srv:
        records, sessions = asyncio.run(visit_all(srv.url, token, visits, timeout, progress))
        memory = srv.memory()
        started = srv.started_s
    errors = sum(1 for r in records if r.problems)
    return {"db": db_url, "server_start_s": started, "visits": [asdict(r) for r in records],
            "sessions": sessions, "reloads": sum(r.reloaded for r in records), "errors": errors,
            "total_s": sum(r.seconds for r in records), **memory}


def print_table(result: dict) -> None:
    """The visits and the memory as a Markdown table."""
    print("| lang | visit | s | reload | title | problems |")
    print("|---|---|---:|---|---|---|")
    for r in result["visits"]:
        problems = "; ".join(r["problems"]).replace("|", "\\|")[:160]
        print(f"| {r['lang']} | {r['label']} | {r['seconds']:.2f} | {'yes' if r['reloaded'] else ''} | "
              f"{r['title'] or ''} | {problems} |")
    print()
    print(f"visits {len(result['visits'])}, errors {result['errors']}, sessions {result['sessions']} "
          f"(reloads {result['reloads']}), sum of visit times {result['total_s']:.1f} s")
    print(f"server peak RSS (VmHWM) {result['vm_hwm_mib']:.0f} MiB, current RSS (VmRSS) {result['vm_rss_mib']:.0f} MiB")


def main() -> None:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite:///bench/full.db")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds a visit may take (default 300)")
    ap.add_argument("--json", help="also write the result to this file")
    args = ap.parse_args()
    result = run(args.db, args.timeout)
    print_table(result)
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    sys.exit(1 if result["errors"] else 0)


if __name__ == "__main__":
    main()
