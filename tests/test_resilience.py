"""Hardening: every statement has a time limit, and pages survive the database going away and coming back.

- a runaway statement is stopped on both backends and recognised as a timeout (data_access/core/errors.py);
  statements within the limit, the bulk loader and migrations are not stopped;
- with the database unreachable (PostgreSQL behind a TCP proxy that is cut, or a SQLite file locked by
  another process) a page shows "数据库暂时无法连接，正在重试…", never a traceback, and shows its data again
  once the database is back, with the same engine;
- ``GOV_TEST_PG_RESTART=1`` also makes a PostgreSQL server of its own (pg_createcluster), stops and restarts it
  under the running app, and drops it (the machine's own server is never touched).
"""
from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event, make_url, text
from sqlalchemy import exc as sa_exc
from streamlit.testing.v1 import AppTest

from data_access.core import db, errors
from data_access.ingest import loader
from data_access.ingest.loader import load_dataset
from tests.conftest import FIXTURES, PG_SKIP_REASON, PG_URL, fresh_engine, metrics_db

RUNAWAY_SQLITE = ("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 1000000000) "
                  "SELECT count(*) FROM r")
COUNT_TO = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < {n}) SELECT count(*) FROM r"
UNAVAILABLE_ZH = "数据库暂时无法连接，正在重试…"
RETRY_ZH = "立即重试"
CASES = "10"  # cases in tests/fixtures/metrics


class Ticks:
    """A stand-in for data_access/db.py's clock (``db.time``): every reading is one tick after the last.  SQLite
    reads it when a statement starts and at each call of the progress handler (every PROGRESS_EVERY_OPS
    virtual-machine instructions), so a statement's length in ticks is a count of its instructions: the same on
    every machine and under any load, where a length in seconds is not."""

    def __init__(self) -> None:
        self.now = 0

    def monotonic(self) -> float:
        self.now += 1
        return float(self.now)


def _timed_out(engine, sql: str) -> tuple[BaseException, float]:
    t0 = time.perf_counter()
    with pytest.raises(sa_exc.DBAPIError) as info, engine.connect() as conn:
        conn.execute(text(sql)).all()
    return info.value, time.perf_counter() - t0


# --- the statement timeout -----------------------------------------------------------------------------------

def test_a_runaway_statement_is_stopped_and_recognised(db_kind, tmp_path, monkeypatch):
    monkeypatch.setattr(db, "STATEMENT_TIMEOUT_S", 0.2)  # PostgreSQL reads it when the engine is made
    engine = fresh_engine(db_kind, tmp_path)
    try:
        sql = RUNAWAY_SQLITE if db_kind == "sqlite" else "SELECT pg_sleep(30)"
        exc, seconds = _timed_out(engine, sql)
        assert errors.is_query_timeout(exc), exc
        assert not errors.is_database_unavailable(exc)
        # stopped by the 0.2 s limit: not before it, and long before the statement would end by itself (SQLite's
        # count runs for minutes, pg_sleep 30 s) or the default limit (30 s) would stop it.  The upper bound only
        # tells those apart; it leaves a loaded machine (connecting and stopping may take seconds there) room.
        assert 0.15 < seconds < 10
        with engine.connect() as conn:  # the connection is fine afterwards
            assert conn.execute(text("SELECT 1")).scalar() == 1
        if db_kind == "pg":  # a limit set in the session is recognised the same way
            with engine.connect() as conn:
                conn.exec_driver_sql("SET statement_timeout = 100")
                with pytest.raises(sa_exc.OperationalError) as info:
                    conn.exec_driver_sql("SELECT pg_sleep(5)")
            assert errors.is_query_timeout(info.value)
    finally:
        engine.dispose()


def test_the_limit_is_per_statement(tmp_path, monkeypatch):
    # On the tick clock, not on seconds: one statement timed, then a limit of a few times that, was a bet that
    # no later one would run that much slower, which a loaded machine can lose.
    ticks = Ticks()
    monkeypatch.setattr(db, "time", ticks)
    monkeypatch.setattr(db, "STATEMENT_TIMEOUT_S", 1e12)  # on, so that the handler reads the clock; never reached
    engine = db.make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with engine.connect() as conn:
        t0 = ticks.now
        conn.execute(text(COUNT_TO.format(n=300_000))).scalar()
        one = ticks.now - t0
    assert one > 10  # the handler ran: the statement is long enough to be stopped
    # each statement well within the limit, all of them together well past it: none is stopped
    monkeypatch.setattr(db, "STATEMENT_TIMEOUT_S", 2 * one)
    with engine.connect() as conn:
        t0 = ticks.now
        for _ in range(15):
            assert conn.execute(text(COUNT_TO.format(n=300_000))).scalar() == 300_000
        assert ticks.now - t0 > db.STATEMENT_TIMEOUT_S
    # and one statement past it is stopped: the limit is in force
    monkeypatch.setattr(db, "STATEMENT_TIMEOUT_S", one // 2)
    exc, _ = _timed_out(engine, COUNT_TO.format(n=300_000))
    assert errors.is_query_timeout(exc), exc
    engine.dispose()
    # (its cost — none beyond noise — is a measurement, not a unit test: README, Hardening)


def test_a_deadline_never_outlives_its_connection_checkout(tmp_path, monkeypatch):
    """Raw DBAPI work on a connection taken from the pool must not inherit the last statement's deadline."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    monkeypatch.setattr(db, "STATEMENT_TIMEOUT_S", 0.1)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1")).scalar()
    time.sleep(0.2)  # that statement's deadline has passed
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw.execute(COUNT_TO.format(n=200_000)).fetchone()[0] == 200_000
    engine.dispose()


def test_bulk_load_and_migrations_are_not_held_to_the_query_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(db, "PROGRESS_EVERY_OPS", 100)  # check the clock often: any lapse shows at once
    # on the tick clock a limit under one tick stops any statement the handler sees (100 instructions) wherever it
    # runs: with 1 ms of real time, a fast machine might finish a small statement in time
    monkeypatch.setattr(db, "time", Ticks())
    monkeypatch.setattr(db, "STATEMENT_TIMEOUT_S", 0.5)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'a.db'}")  # migrations: lifted by the execution option
    result = load_dataset(FIXTURES / "metrics", engine)
    assert result.counts["cases"] == int(CASES)
    exc, _ = _timed_out(engine, RUNAWAY_SQLITE)  # queries are still held to it
    assert errors.is_query_timeout(exc)
    engine.dispose()

    # without the loader's lift the same load is interrupted: the lift is needed.  Which of its statements is
    # stopped first decided how: a bulk insert is reported as a problem of its file (DatasetInvalid), a check of
    # the schema before it raises.  With a real 1 ms limit that depended on the machine's speed (a small check
    # finished within 1 ms, or did not); on the tick clock it is the first statement of 100 instructions.
    monkeypatch.setattr(loader, "no_statement_timeout", lambda conn: contextlib.nullcontext(conn))
    engine = db.make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    with pytest.raises((loader.DatasetInvalid, sa_exc.OperationalError), match="interrupted"):
        load_dataset(FIXTURES / "metrics", engine)
    engine.dispose()


# --- classification --------------------------------------------------------------------------------------

def _wrapped(orig: BaseException) -> sa_exc.DBAPIError:
    return sa_exc.DBAPIError.instance("SELECT 1", {}, orig, psycopg.Error if isinstance(orig, psycopg.Error)
                                      else sqlite3.Error)


@pytest.mark.parametrize("orig, unavailable, timeout", [
    (sqlite3.OperationalError("database is locked"), True, False),
    (sqlite3.OperationalError("unable to open database file"), True, False),
    (sqlite3.OperationalError("disk I/O error"), True, False),
    (sqlite3.OperationalError("interrupted"), False, True),
    (sqlite3.OperationalError("no such table: cases"), False, False),
    (psycopg.OperationalError('connection failed: connection to server at "127.0.0.1", port 5432 failed: '
                              "Connection refused\n\tIs the server running on that host?"), True, False),
    (psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"), True, False),
    (psycopg.OperationalError("the connection is closed"), True, False),
    (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), True, False),
    (psycopg.errors.CannotConnectNow("the database system is shutting down"), True, False),
    (psycopg.errors.ConnectionFailure("connection failure"), True, False),
    (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), False, True),
    # a retry does not mend these: the generic message, not "retrying"
    (psycopg.OperationalError('connection failed: connection to server at "127.0.0.1", port 5432 failed: '
                              'FATAL:  database "nope" does not exist'), False, False),
    (psycopg.errors.UndefinedTable('relation "nope" does not exist'), False, False),
])
def test_failures_are_classified(orig, unavailable, timeout):
    for exc in (orig, _wrapped(orig)):
        assert errors.is_database_unavailable(exc) is unavailable, exc
        assert errors.is_query_timeout(exc) is timeout, exc
        assert errors.is_database_error(exc)


def test_other_failures_are_classified():
    assert errors.is_database_unavailable(ConnectionRefusedError(111, "Connection refused"))
    assert errors.is_database_unavailable(sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"))
    assert not errors.is_database_error(ValueError("x"))
    assert not errors.is_database_unavailable(ValueError("database is locked"))
    assert not errors.is_query_timeout(None)


def test_reconnect_is_not_attempted_in_the_run_that_failed():
    from ui.resilience import RETRY_SECONDS, reconnect_due

    now = time.time()
    assert not reconnect_due(now, now)  # the page itself was the attempt
    assert reconnect_due(now - RETRY_SECONDS, now)  # the fragment's timed rerun asks again
    assert reconnect_due(None, now)


# --- pages while the database is away --------------------------------------------------------------------

APP = '''
import streamlit as st
from sqlalchemy import text

from data_access.core import meta
from ui import data, resilience
from ui.setup import friendly_errors

SLOW = {"sqlite": "RUNAWAY_SQLITE", "postgresql": "SELECT pg_sleep(5)"}


def body():
    engine = data.engine()
    mode = st.session_state.get("mode", "ok")
    if mode == "write":
        with engine.begin() as conn:
            conn.execute(text("UPDATE data_meta SET value = value"))
    elif mode == "defect":  # a programming error, not a database failure
        raise KeyError("no such key")
    elif mode != "ok":
        with engine.connect() as conn:
            conn.execute(text(SLOW[engine.dialect.name] if mode == "slow" else "SELECT * FROM no_such_table")).all()
    st.metric("cases", meta.case_count(engine))


with resilience.guard_page():
    if st.session_state.get("block"):
        with friendly_errors():
            body()
        st.caption("after the block")
    else:
        body()
'''.replace("RUNAWAY_SQLITE", RUNAWAY_SQLITE)


@pytest.fixture
def app_script(tmp_path) -> Path:
    path = tmp_path / "resilience_app.py"
    path.write_text(APP, encoding="utf-8")
    return path


def _app(script: Path, url: str, monkeypatch, **state) -> AppTest:
    monkeypatch.setenv("GOV_DB_URL", url)
    at = AppTest.from_file(str(script), default_timeout=30)
    for k, v in state.items():
        at.session_state[k] = v
    return at


def _cases(at: AppTest) -> str | None:
    return next((m.value for m in at.metric if m.label == "cases"), None)


def _waiting(at: AppTest, text_: str = UNAVAILABLE_ZH) -> bool:
    return any(text_ in w.value for w in at.warning)


def _retry_button(at: AppTest, label: str = RETRY_ZH):
    return next(b for b in at.button if b.label == label)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = db.make_engine(url)
    load_dataset(FIXTURES / "metrics", engine)
    engine.dispose()
    return url


@pytest.mark.parametrize("block", [False, True], ids=["page", "block"])
def test_timeout_and_other_errors_show_their_message(app_script, sqlite_url, monkeypatch, block):
    monkeypatch.setattr(db, "STATEMENT_TIMEOUT_S", 0.2)
    at = _app(app_script, sqlite_url, monkeypatch, mode="slow", block=block).run()
    assert not at.exception
    assert any("查询超时：筛选范围太大，请缩小地区或时间范围后重试" in w.value for w in at.warning)
    assert not at.error and not _waiting(at)
    assert bool(at.caption) is block  # after a failed block the page goes on

    at.session_state["mode"] = "broken"
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["数据暂时无法读取，请稍后重试。（OperationalError）"]

    at.session_state["lang"] = "en"
    at.session_state["mode"] = "slow"
    at.run()
    assert any("The query took too long" in w.value for w in at.warning)


def test_a_defect_shows_a_translated_message_with_a_reference_that_the_log_names(app_script, sqlite_url,
                                                                                   monkeypatch, caplog):
    import re

    monkeypatch.setenv("GOV_RAISE_ERRORS", "0")  # as in production and demos
    at = _app(app_script, sqlite_url, monkeypatch, mode="defect").run()
    assert not at.exception  # no traceback, no Streamlit message in English
    [message] = [e.value for e in at.error]
    ref = re.fullmatch(r"页面出现意外错误，已记录（编号 ([0-9a-f]{8})）。请刷新页面重试；如仍出现，请将编号告知系统管理员。",
                       message).group(1)
    logged = [r for r in caplog.records if ref in r.getMessage()]
    assert logged and logged[0].exc_info and logged[0].exc_info[0] is KeyError  # the traceback, under the reference

    at.session_state["lang"] = "en"
    at.run()
    assert at.error[0].value.startswith("Something went wrong on this page; it has been logged (reference ")
    at.session_state["mode"] = "ok"
    at.run()
    assert not at.error and _cases(at) == "10"

    monkeypatch.setenv("GOV_RAISE_ERRORS", "1")  # the tests' setting: a defect is raised, never hidden
    at.session_state["mode"] = "defect"
    at.run()
    assert at.exception  # (its text is redacted: showErrorDetails = "none" in .streamlit/config.toml)


def test_locked_sqlite_file_shows_retrying_then_recovers(app_script, sqlite_url, monkeypatch):
    from ui.data import engine as app_engine
    from ui.resilience import database_answers

    monkeypatch.setenv("GOV_DB_URL", sqlite_url)
    engine = app_engine()

    @event.listens_for(engine, "do_connect")
    def _short_open_wait(_dialect, _rec, _cargs, cparams):  # the driver waits 5 s for a lock when opening
        cparams["timeout"] = 0.1

    event.listen(engine, "connect", lambda c, _r: c.execute("PRAGMA busy_timeout=100"))  # db.py waits 10 s
    engine.dispose()
    at = _app(app_script, sqlite_url, monkeypatch, mode="write").run()
    assert not at.exception and _cases(at) == CASES

    holder = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None)
    try:
        # 1. another connection holds the write lock (in WAL mode readers go on): the page's write gives up
        holder.execute("BEGIN EXCLUSIVE")
        at.run()
        assert not at.exception and not at.error
        assert _waiting(at) and _cases(at) is None
        assert any("上次尝试" in w.value for w in at.warning)
        holder.execute("ROLLBACK")
        _retry_button(at).click().run()
        assert not at.exception and not at.warning and _cases(at) == CASES

        # 2. another process holds the whole file (exclusive locking mode): not even a read gets through
        at.session_state["mode"] = "ok"
        engine.dispose()  # while the app holds a connection open, nobody can take the file exclusively
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE data_meta SET value = value")
        at.run()
        assert not at.exception and _waiting(at) and _cases(at) is None
        assert not database_answers()
        _retry_button(at).click().run()  # still locked: still waiting, no traceback
        assert not at.exception and _waiting(at)
    finally:
        holder.close()
    assert database_answers()
    _retry_button(at).click().run()
    assert not at.exception and not at.warning
    assert _cases(at) == CASES
    assert app_engine() is engine


def hold_port(port: int) -> socket.socket:
    """A socket bound to 127.0.0.1:``port`` that does not listen: connections to the port are refused, and no
    other process gets the port meanwhile (the kernel picks no bound port for an outgoing connection or a
    ``bind(("", 0))``), yet a server that sets SO_REUSEADDR (Python's, PostgreSQL) can take it up again.
    Close it once that server listens."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    return s


class TcpProxy:
    """A TCP forwarder on a fixed local port: ``stop()`` refuses new connections and cuts the open ones.  While
    stopped it holds its port (:func:`hold_port`), so that ``start()`` gets the same one back: left free, any
    process on the machine could take it meanwhile."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._held: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(16)
        srv.settimeout(0.05)
        self.port = srv.getsockname()[1]
        if self._held is not None:
            self._held.close()
            self._held = None
        self._listener = srv
        self._acceptor = threading.Thread(target=self._accept, args=(srv,), daemon=True)
        self._acceptor.start()
        return self

    def _accept(self, srv: socket.socket) -> None:
        while self._listener is srv:
            try:
                client, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        srv, self._listener = self._listener, None
        if self._acceptor is not None:
            self._acceptor.join()  # its accept() holds the listening socket open until it returns
        if srv is not None:
            srv.close()
            self._held = hold_port(self.port)
        with self._lock:
            socks, self._open = self._open, set()
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def release(self) -> None:
        """Let the port go (after the last ``stop()``)."""
        if self._held is not None:
            self._held.close()
            self._held = None


@pytest.fixture
def pg_behind_proxy(tmp_path):
    """The metrics fixture in the PostgreSQL test database, reached through a proxy: (proxy, url)."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    metrics_db("pg", tmp_path).dispose()
    url = make_url(PG_URL)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432)).start()
    proxy_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    yield proxy, proxy_url
    proxy.stop()
    proxy.release()
    db.get_engine(proxy_url).dispose()


def test_postgres_going_away_shows_retrying_and_recovers(app_script, pg_behind_proxy, monkeypatch):
    from ui.data import engine as app_engine
    from ui.resilience import database_answers

    proxy, url = pg_behind_proxy
    at = _app(app_script, url, monkeypatch).run()
    assert not at.exception and _cases(at) == CASES
    engine = app_engine()

    proxy.stop()  # gone and back between two runs: the pooled connection is dead, pool_pre_ping replaces it
    proxy.start()
    at.run()
    assert not at.exception and not at.warning and _cases(at) == CASES

    proxy.stop()  # the server "goes away": open connections cut, new ones refused
    at.run()
    assert not at.exception and not at.error
    assert _waiting(at) and _cases(at) is None
    assert not database_answers()
    at.session_state["lang"] = "en"
    at.run()
    assert _waiting(at, "The database cannot be reached just now; retrying…")
    assert any("Last attempt:" in w.value for w in at.warning)
    _retry_button(at, "Retry now").click().run()  # still away: still waiting
    assert not at.exception and _waiting(at, "retrying")

    proxy.start()  # back, on the same port
    assert database_answers()  # what the waiting fragment asks every few seconds
    _retry_button(at, "Retry now").click().run()
    assert not at.exception and not at.warning
    assert _cases(at) == CASES
    assert app_engine() is engine  # recovered with the same engine (pool_pre_ping replaced the dead connections)


def _pg_version() -> str:
    return max(os.listdir("/etc/postgresql"), key=lambda v: [int(x) for x in v.split(".") if x.isdigit()])


def _wait_ready(host: str, port: int, seconds: float = 60) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if subprocess.run(["pg_isready", "-q", "-h", host, "-p", str(port)], check=False).returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError(f"PostgreSQL not ready after {seconds} s")


@pytest.fixture
def own_cluster():
    """A PostgreSQL server of this test's own (Debian's pg_createcluster, trust auth, a free port on
    loopback), so that stopping it disturbs nothing else running beside the test (other test workers).  The
    port is free when chosen, not necessarily when the server binds it: another process may take it between,
    and then the cluster is made again on another port."""
    version, name = _pg_version(), f"govtest{os.getpid()}"
    failures = []
    for _attempt in range(3):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        subprocess.run(["pg_createcluster", version, name, "-p", str(port), "--", "--auth=trust"], check=True,
                       capture_output=True)
        started = subprocess.run(["pg_ctlcluster", version, name, "start"], check=False, capture_output=True,
                                 text=True)
        if started.returncode == 0:
            break
        failures.append(f"port {port}: {started.stdout}{started.stderr}")
        subprocess.run(["pg_dropcluster", version, name, "--stop"], check=False, capture_output=True)
    else:
        raise AssertionError("own PostgreSQL cluster would not start:\n" + "\n".join(failures))
    try:
        _wait_ready("127.0.0.1", port)
        yield version, name, f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(["pg_dropcluster", version, name, "--stop"], check=False, capture_output=True)


@pytest.mark.skipif(os.environ.get("GOV_TEST_PG_RESTART") != "1",
                    reason="makes, stops and restarts a PostgreSQL server of its own: only with GOV_TEST_PG_RESTART=1")
def test_real_postgres_restart(app_script, own_cluster, monkeypatch):
    """A real PostgreSQL server stopped under the running app, then started again: the page waits, retries
    and recovers with the same engine."""
    from data_access.core.db import make_engine
    from data_access.ingest.loader import load_dataset
    from ui.data import engine as app_engine
    from ui.resilience import database_answers

    version, cluster, url = own_cluster
    fixture_engine = make_engine(url)
    load_dataset(FIXTURES / "metrics", fixture_engine)
    fixture_engine.dispose()
    at = _app(app_script, url, monkeypatch).run()
    assert _cases(at) == CASES
    engine = app_engine()
    port = make_url(url).port
    subprocess.run(["pg_ctlcluster", version, cluster, "stop", "-m", "fast"], check=True)
    held = hold_port(port)  # for the restart on the same port: nobody else takes it while the server is away
    try:
        at.run()
        assert not at.exception and _waiting(at) and _cases(at) is None
        assert not database_answers()
    finally:
        subprocess.run(["pg_ctlcluster", version, cluster, "start"], check=False)
        _wait_ready("127.0.0.1", port)
        held.close()
    assert database_answers()
    _retry_button(at).click().run()
    assert not at.exception and not at.warning and _cases(at) == CASES
    assert app_engine() is engine
    engine.dispose()


def test_streamlit_control_flow_and_other_errors_pass_through(tmp_path, monkeypatch):
    script = tmp_path / "flow.py"
    script.write_text(
        "import streamlit as st\n"
        "from ui import resilience\n"
        "with resilience.guard_page():\n"
        "    st.session_state['runs'] = st.session_state.get('runs', 0) + 1\n"
        "    if st.session_state.pop('rerun', False):\n"
        "        st.rerun()\n"
        "    if st.session_state.get('stop'):\n"
        "        st.stop()\n"
        "    if st.session_state.get('boom'):\n"
        "        raise ValueError('not a database error')\n"
        "    st.write('end')\n", encoding="utf-8")
    at = AppTest.from_file(str(script), default_timeout=30)
    at.session_state["rerun"] = True
    at.run()
    assert not at.exception and at.session_state["runs"] == 2 and at.markdown[0].value == "end"
    at.session_state["stop"] = True
    at.run()
    assert not at.exception and not at.markdown and not at.error
    at.session_state["stop"] = False
    at.session_state["boom"] = True
    at.run()
    assert at.exception and not at.warning  # Streamlit's own error display (details as configured)
