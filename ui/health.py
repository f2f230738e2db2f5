"""The health check answers for the database too: ``GET /_stcore/health`` (the path the balancer, systemd or
Kubernetes poll; deploy/nginx.conf, docs/OPERATIONS.md) is 503 ``unhealthy: <reason>`` while the database cannot
be read — the SQLite file missing, renamed, replaced or unreadable, PostgreSQL not answering — and otherwise
Streamlit's own answer (200 ``ok`` once the server is up).  Streamlit's check alone said ``ok`` with the database
file gone, so a balancer kept sending users to a process that could only show an error.

A middleware (Streamlit reserves the ``/_stcore/`` routes): it sees the request before Streamlit's routes and
passes every other request through untouched.  The check (data_access.core.db.database_problem) runs in a worker
thread and never creates a file; the primary and, when configured, the read replica are checked."""
from __future__ import annotations

import os

from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse

from data_access.core.db import DEFAULT_SQLITE_PATH, database_problem, default_url, replica_url

PATH = "/_stcore/health"


def problem() -> str | None:
    """The first reason the app cannot read its data (primary, then replica); None when it can.

    One exception: the built-in demo (no ``GOV_DB_URL``) whose file this process has never seen yet.  Its first
    visit builds the demo data (ui/setup.py), so the process is ready for that visit; saying "missing" would keep
    a balancer from ever sending it.  Once the file has existed here, its loss is reported like any other."""
    demo_seen = _demo_file_seen()
    for url in dict.fromkeys(u for u in (default_url(), replica_url()) if u):
        found = database_problem(url)
        if found and not (url == _DEMO_URL and not os.environ.get("GOV_DB_URL", "").strip()
                          and found.startswith("database file missing") and not demo_seen):
            return found
    return None


_DEMO_URL = f"sqlite:///{DEFAULT_SQLITE_PATH}"
_seen = {"demo": False}


def _demo_file_seen() -> bool:
    """Whether the demo's file has existed while this process ran (remembered once seen)."""
    if not _seen["demo"] and os.path.exists(DEFAULT_SQLITE_PATH):
        _seen["demo"] = True
    return _seen["demo"]


class HealthCheck:
    """ASGI middleware: the database's state on the health check (see the module docstring)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD") \
                and scope.get("path", "").endswith(PATH):
            found = await run_in_threadpool(problem)
            if found:
                response = PlainTextResponse(f"unhealthy: {found}", status_code=503,
                                             headers={"Cache-Control": "no-store"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
