"""The health check says when the database cannot be read: ``GET /_stcore/health`` answered 200 ``ok`` with the
SQLite file deleted, so a balancer kept sending users to a process that could only show an error.  Now it answers
503 ``unhealthy: <reason>`` (ui/health.py, data_access.core.db.database_problem), creates no file, and stays
Streamlit's ``ok`` while the database answers.  Checked on a small app with the middleware, on both databases,
and on a real ``streamlit run app.py``."""
from __future__ import annotations

import asyncio
import http.client
import os
import urllib.error
import urllib.parse
import urllib.request

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from data_access.core import db
from data_access.ingest.loader import load_dataset
from tests.conftest import FIXTURES, PG_SKIP_REASON, PG_URL
from ui import health


class _Response:
    def __init__(self, status: int, headers: dict[str, str], text: str) -> None:
        self.status_code, self.headers, self.text = status, headers, text


class _Client:
    """Requests straight to the ASGI app (no HTTP client needed)."""

    def __init__(self, app) -> None:
        self.app = app

    def request(self, method: str, path: str) -> _Response:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "server": ("127.0.0.1", 8501), "client": ("127.0.0.1", 50000), "headers": [(b"host", b"x")]}
        sent: list[dict] = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        asyncio.run(self.app(scope, receive, send))
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return _Response(start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]},
                         body.decode())

    def get(self, path: str) -> _Response:
        return self.request("GET", path)

    def head(self, path: str) -> _Response:
        return self.request("HEAD", path)


def _client() -> _Client:
    """Streamlit's own check stands in as a route that always says ok; the app's middleware in front of it."""
    async def ok(_request):
        return PlainTextResponse("ok")
    app = Starlette(routes=[Route(health.PATH, ok, methods=["GET", "HEAD"]), Route("/other", ok)],
                    middleware=[Middleware(health.HealthCheck)])
    return _Client(app)


@pytest.fixture
def sqlite_url(tmp_path, monkeypatch):
    path = tmp_path / "gov.db"
    url = f"sqlite:///{path}"
    load_dataset(FIXTURES / "tiny", db.make_engine(url))
    monkeypatch.setenv("GOV_DB_URL", url)
    monkeypatch.delenv("GOV_DB_READ_URL", raising=False)
    db.get_engine.cache_clear()
    return url, path


def test_ok_while_the_sqlite_file_is_there(sqlite_url):
    r = _client().get(health.PATH)
    assert (r.status_code, r.text) == (200, "ok")


def test_unhealthy_with_the_reason_when_the_file_is_gone_and_no_file_is_made(sqlite_url):
    _url, path = sqlite_url
    path.unlink()
    c = _client()
    r = c.get(health.PATH)
    assert (r.status_code, r.text) == (503, f"unhealthy: database file missing: {path}")
    assert r.headers["cache-control"] == "no-store"
    assert c.head(health.PATH).status_code == 503
    assert not path.exists()                                   # nothing created in its place
    assert c.get("/other").text == "ok"                        # every other request passes through


def test_the_demo_before_its_first_visit_is_ready_and_its_later_loss_is_reported(tmp_path, monkeypatch):
    """Without GOV_DB_URL the first visit builds the demo (ui/setup.py): before the file exists the process is
    ready for that visit (a balancer must send it); once the file has existed, losing it is unhealthy."""
    demo = tmp_path / "data" / "governance.db"
    monkeypatch.delenv("GOV_DB_URL", raising=False)
    monkeypatch.delenv("GOV_DB_READ_URL", raising=False)
    monkeypatch.setattr(db, "DEFAULT_SQLITE_PATH", demo)
    monkeypatch.setattr(health, "DEFAULT_SQLITE_PATH", demo)
    monkeypatch.setattr(health, "_DEMO_URL", f"sqlite:///{demo}")
    monkeypatch.setattr(health, "_seen", {"demo": False})
    c = _client()
    assert (c.get(health.PATH).status_code, c.get(health.PATH).text) == (200, "ok")
    assert not demo.exists()                                   # the check made nothing
    load_dataset(FIXTURES / "tiny", db.make_engine(f"sqlite:///{demo}"))   # the first visit's build
    assert c.get(health.PATH).text == "ok"
    demo.unlink()
    r = c.get(health.PATH)
    assert (r.status_code, r.text) == (503, f"unhealthy: database file missing: {demo}")


def test_unhealthy_when_the_file_was_replaced_under_the_running_engine(sqlite_url):
    url, path = sqlite_url
    db.get_engine(url)                                         # the app's engine, watching the file it opened
    path.rename(path.with_suffix(".old"))
    path.write_bytes(path.with_suffix(".old").read_bytes())    # another file (new inode) with the same name
    r = _client().get(health.PATH)
    assert (r.status_code, r.text) == (503, f"unhealthy: database file replaced: {path}")


def test_unhealthy_when_the_file_is_not_a_database(tmp_path, monkeypatch):
    path = tmp_path / "garbage.db"
    path.write_bytes(b"not a database " * 500)
    monkeypatch.setenv("GOV_DB_URL", f"sqlite:///{path}")
    monkeypatch.delenv("GOV_DB_READ_URL", raising=False)
    r = _client().get(health.PATH)
    assert r.status_code == 503 and r.text.startswith("unhealthy: database unavailable: DatabaseError: ")


def test_unhealthy_when_the_read_replica_is_gone(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("GOV_DB_READ_URL", f"sqlite:///{tmp_path / 'replica.db'}")
    r = _client().get(health.PATH)
    assert (r.status_code, r.text) == (503, f"unhealthy: database file missing: {tmp_path / 'replica.db'}")
    assert not (tmp_path / "replica.db").exists()


def test_postgresql_ok_and_unreachable(monkeypatch):
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    monkeypatch.delenv("GOV_DB_READ_URL", raising=False)
    monkeypatch.setenv("GOV_DB_URL", PG_URL)
    db.get_engine.cache_clear()
    assert _client().get(health.PATH).text == "ok"
    monkeypatch.setenv("GOV_DB_URL", "postgresql+psycopg://postgres@127.0.0.1:1/nothing")   # nothing listens
    r = _client().get(health.PATH)
    assert r.status_code == 503 and r.text.startswith("unhealthy: database unavailable: OperationalError: ")
    db.get_engine.cache_clear()


def test_the_real_server_says_unhealthy_once_its_file_is_deleted(tmp_path):
    from bench.server import StreamlitServer

    path = tmp_path / "served.db"
    url = f"sqlite:///{path}"
    load_dataset(FIXTURES / "tiny", db.make_engine(url))
    with StreamlitServer(url, log_path=tmp_path / "app.log", env={"GOV_DB_READ_URL": ""}) as srv:
        with urllib.request.urlopen(f"{srv.url}{health.PATH}", timeout=10) as r:
            assert (r.status, r.read()) == (200, b"ok")
        # the default page is served at the root; its own path (a bookmark) is sent there with its query
        # (Streamlit alone answered it with a "Page not found" dialog)
        host = urllib.parse.urlsplit(srv.url)
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        conn.request("GET", "/overview?region=120&view=a")
        r = conn.getresponse()
        assert (r.status, r.getheader("location")) == (308, "./?region=120&view=a")
        conn.close()
        os.rename(path, tmp_path / "moved.db")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{srv.url}{health.PATH}", timeout=10)
        assert e.value.code == 503
        assert e.value.read().decode() == f"unhealthy: database file missing: {path}"
        assert not path.exists()
