"""The database file and the disk under a running app (issue 21 items 12 and 13), and the load lock of
``python -m sample_data``.

- The SQLite file renamed, deleted or replaced while the app runs: every read and write is refused with
  DatabaseFileGone (data_access/core/db.py) — nothing goes into the orphaned file, no new file appears at the
  old name — and the page says what happened and what to do (ui/resilience.py), the typed order kept.  Put
  back, the file is accepted again.
- An empty database named by ``GOV_DB_URL`` never gets demo data; the production start refuses a missing or
  empty database (``python -m data_access ready``, exit code 6).
- A full disk (real SQLITE_FULL: a database whose page size is 512 and whose size is capped with
  ``PRAGMA max_page_count``; on PostgreSQL a trigger raising SQLSTATE 53100, the server's own error) is said to
  be a full disk, the typed note stays in the order form, "retry now" is offered, and the order goes through
  once there is room.
"""
from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event, func, select, text
from streamlit.testing.v1 import AppTest

from data_access.core import db, errors, users
from data_access.core.errors import DatabaseFileGone
from data_access.core.schema import cases, supervisions
from data_access.ingest.loader import load_dataset
from data_access.writes import orders
from data_access.writes.orders import SupervisionOrder
from tests.conftest import FIXTURES, PG_SKIP_REASON, PG_URL, ROOT, fresh_engine, sign_in

NOW = datetime(2026, 3, 20, 12, 0)   # the metrics fixture's "now" (tests/fixtures/metrics/README.md)
ORDER = SupervisionOrder("c06", "red", datetime(2026, 3, 22, 12, 0), "请两日内办结")
GONE_ZH = "在应用运行期间被移走、删除或替换，应用已停止读写"
GONE_EN = "was moved, deleted or replaced while the app was running"
FULL_ZH = "磁盘已满：数据库无法写入，刚才的操作没有保存"
FULL_EN = "The disk is full: the database cannot write"
RETRY_ZH = "立即重试"
LONG_NOTE = "请两日内办结并书面报告整改情况。" * 25   # 400 characters: needs overflow pages of a 512-byte page size


def _staff(engine):
    return users.add_user(engine, "staff.one", display_name="测试员", role="staff", scope_code=None).as_user()


def _orders(path_or_engine) -> list[tuple]:
    """(case_no, note) of every supervision order, read with plain sqlite3 from a file or through an engine."""
    if isinstance(path_or_engine, Path):
        con = sqlite3.connect(path_or_engine)
        try:
            return con.execute("SELECT case_no, note FROM supervisions ORDER BY case_no").fetchall()
        finally:
            con.close()
    with path_or_engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(supervisions.c.case_no, supervisions.c.note)
                                                .order_by(supervisions.c.case_no))]


@pytest.fixture
def sqlite_db(tmp_path):
    path = tmp_path / "gov.db"
    engine = db.make_engine(f"sqlite:///{path}")
    load_dataset(FIXTURES / "metrics", engine)
    yield path, engine
    engine.dispose()


# --- the file renamed, deleted or replaced: data_access ---------------------------------------------------------

def test_a_write_after_the_file_was_renamed_is_refused_and_lands_nowhere(sqlite_db):
    path, engine = sqlite_db
    user = _staff(engine)
    before = _orders(path)
    moved = path.with_name("gov.moved.db")
    os.rename(path, moved)
    with pytest.raises(DatabaseFileGone) as info:
        orders.issue_supervision(engine, user, ORDER, now=NOW)
    assert info.value.how == "missing" and info.value.path == str(path)
    assert errors.is_database_file_gone(info.value) and errors.is_database_error(info.value)
    assert not path.exists()            # no new, empty database at the old name
    with pytest.raises(DatabaseFileGone):  # reads are refused too: no stale or empty answer
        with engine.connect() as conn:
            conn.execute(select(func.count()).select_from(cases)).scalar_one()
    with pytest.raises(DatabaseFileGone):
        db.check_database_file(engine)
    os.rename(moved, path)              # put back: the same file, accepted again
    assert _orders(path) == before      # the refused order is in neither file
    db.check_database_file(engine)
    orders.issue_supervision(engine, user, ORDER, now=NOW)
    assert ("c06", "请两日内办结") in _orders(engine)


def test_a_deleted_file_is_noticed_by_a_pooled_connection_and_a_new_one(sqlite_db):
    path, engine = sqlite_db
    with engine.connect() as conn:      # a connection in the pool, open on the file
        conn.execute(text("SELECT 1")).scalar()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with pytest.raises(DatabaseFileGone):
        with engine.begin() as conn:    # the pooled connection (checkout)
            conn.execute(text("UPDATE data_meta SET value = value"))
    engine.dispose()
    with pytest.raises(DatabaseFileGone):
        engine.connect()                # a new connection (do_connect): refused before the file is opened
    assert not path.exists()


def test_a_file_replaced_by_another_is_refused(sqlite_db, tmp_path):
    path, engine = sqlite_db
    other = tmp_path / "other.db"
    fresh = db.make_engine(f"sqlite:///{other}")   # an empty database (what a restart used to build at the path)
    fresh.dispose()
    os.replace(other, path)
    with pytest.raises(DatabaseFileGone) as info:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM cases")).scalar()
    assert info.value.how == "replaced"
    assert "replaced" in str(info.value) and str(path) in str(info.value)


def test_a_postgres_engine_has_no_file_to_watch(tmp_path):
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    pg = fresh_engine("pg", tmp_path)
    db.check_database_file(pg)        # nothing to compare: no error, no stat
    assert getattr(pg, "gov_file_watch", None) is None
    pg.dispose()


# --- disk full: classification ----------------------------------------------------------------------------------

def _small_pages(path: Path) -> None:
    """A new SQLite file with 512-byte pages (a 400-character note then needs new overflow pages)."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size = 512")
    con.execute("CREATE TABLE _x (a)")
    con.execute("DROP TABLE _x")
    con.commit()
    con.close()


def _cap_size(engine) -> None:
    """Every connection of ``engine`` from now on may not grow the file: a real SQLITE_FULL on the next page."""
    def cap(dbapi_conn, _rec):
        n = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {n}")

    event.listen(engine, "connect", cap)
    engine.dispose()
    return cap


@pytest.fixture
def full_sqlite(tmp_path):
    path = tmp_path / "full.db"
    _small_pages(path)
    engine = db.make_engine(f"sqlite:///{path}")
    load_dataset(FIXTURES / "metrics", engine)
    return path, engine


def test_a_real_sqlite_full_is_a_full_disk_and_writes_nothing(full_sqlite):
    path, engine = full_sqlite
    user = _staff(engine)
    before = _orders(path)
    _cap_size(engine)
    with pytest.raises(Exception) as info:
        orders.issue_supervision(engine, user, SupervisionOrder("c06", "red", ORDER.deadline, LONG_NOTE), now=NOW)
    exc = info.value
    assert exc.orig.sqlite_errorcode == sqlite3.SQLITE_FULL      # the real error, not a stand-in
    assert errors.is_disk_full(exc) and not errors.is_database_unavailable(exc)
    assert not errors.is_query_timeout(exc)
    assert _orders(path) == before


def test_a_postgres_disk_full_is_a_full_disk(tmp_path):
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    engine = fresh_engine("pg", tmp_path)
    load_dataset(FIXTURES / "metrics", engine)
    user = _staff(engine)
    before = _orders(engine)
    _raise_disk_full_on_orders(engine)
    with pytest.raises(Exception) as info:
        orders.issue_supervision(engine, user, ORDER, now=NOW)
    assert errors._sqlstate(info.value.orig) == "53100"            # the server's own error
    assert errors.is_disk_full(info.value) and not errors.is_database_unavailable(info.value)
    assert _orders(engine) == before
    engine.dispose()


def test_other_full_disks_and_not_full_ones_are_classified():
    from ui.resilience import DISK_FULL, ERROR, FILE_GONE, failure_kind

    full = [OSError(errno.ENOSPC, "No space left on device"),
            psycopg.errors.DiskFull("could not extend file: No space left on device"),
            sqlite3.OperationalError("database or disk is full")]
    for exc in full:
        assert errors.is_disk_full(exc), exc
        assert failure_kind(exc) == DISK_FULL
    for exc in (OSError(errno.EACCES, "Permission denied"), sqlite3.OperationalError("no such table: x"),
                psycopg.errors.UndefinedTable("x")):
        assert not errors.is_disk_full(exc), exc
    assert failure_kind(sqlite3.OperationalError("no such table: x")) == ERROR
    assert failure_kind(DatabaseFileGone("/x.db", "missing")) == FILE_GONE
    assert not errors.is_disk_full(DatabaseFileGone("/x.db", "missing"))


def _raise_disk_full_on_orders(engine) -> None:
    """PostgreSQL raises SQLSTATE 53100 (disk_full) on the next order: a trigger, so the error comes from the server
    in the middle of the write's transaction, as a full disk's would."""
    with engine.begin() as conn:
        conn.execute(text("CREATE FUNCTION gov_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                          "RAISE EXCEPTION 'could not extend file: No space left on device' "
                          "USING ERRCODE = 'disk_full'; END $$"))
        conn.execute(text("CREATE TRIGGER gov_disk_full BEFORE INSERT ON supervisions "
                          "FOR EACH ROW EXECUTE FUNCTION gov_disk_full()"))


def _room_again(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER gov_disk_full ON supervisions"))


# --- the pages --------------------------------------------------------------------------------------------------

def _serve(monkeypatch, url: str) -> None:
    import streamlit as st

    db.get_engine.cache_clear()
    st.cache_data.clear()
    monkeypatch.setenv("GOV_DB_URL", url)
    monkeypatch.setenv("GOV_AUTO_DEMO", "0")
    monkeypatch.setenv("GOV_NOW", NOW.isoformat())


def _workbench(url: str) -> AppTest:
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), url, "staff")
    at.query_params["case"] = "c06"
    at.run()
    at.switch_page("pages/cases.py").run()
    assert not at.exception, at.exception
    assert any("c06 · 楼道堆物" in s.value for s in at.subheader)
    return at


def _submit(at: AppTest, note: str) -> AppTest:
    at.text_area(key="order_note_c06").input(note)
    return next(b for b in at.button if b.label == "发出督办").click().run()


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


@pytest.fixture(params=["sqlite", "pg"])
def full_disk_app(request, tmp_path, monkeypatch):
    """The workbench's database with a full disk; yields (url, make_room)."""
    if request.param == "sqlite":
        path = tmp_path / "full.db"
        _small_pages(path)
        url = f"sqlite:///{path}"
        load_dataset(FIXTURES / "metrics", db.make_engine(url))
        _serve(monkeypatch, url)
        engine = db.get_engine(url)
        cap = _cap_size(engine)

        def room():
            event.remove(engine, "connect", cap)
            engine.dispose()
    else:
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        engine = fresh_engine("pg", tmp_path)
        load_dataset(FIXTURES / "metrics", engine)
        _raise_disk_full_on_orders(engine)
        url = PG_URL
        _serve(monkeypatch, url)

        def room():
            _room_again(engine)
    yield url, room


def test_a_full_disk_says_so_keeps_the_typed_order_and_offers_retry(full_disk_app):
    url, make_room = full_disk_app
    before = _orders(db.get_engine(url))
    at = _workbench(url)
    at = _submit(at, LONG_NOTE)
    assert not at.exception, at.exception
    assert any(FULL_ZH in e for e in _errors(at)), _errors(at)
    assert not any("OperationalError" in e or "数据暂时无法读取" in e for e in _errors(at))
    assert at.text_area(key="order_note_c06").value == LONG_NOTE     # what was typed is still there
    assert any(b.label == RETRY_ZH for b in at.button)
    assert _orders(db.get_engine(url)) == before                     # nothing written
    next(b for b in at.button if b.label == RETRY_ZH).click().run()   # still full: the form keeps the note
    assert at.text_area(key="order_note_c06").value == LONG_NOTE

    at = next(b for b in at.button if b.label == "发出督办").click().run()    # submitted again: still full
    assert any(FULL_ZH in e for e in _errors(at)), _errors(at)
    assert at.text_area(key="order_note_c06").value == LONG_NOTE

    make_room()
    at = next(b for b in at.button if b.label == "发出督办").click().run()    # the same form, submitted again
    assert not _errors(at), _errors(at)
    assert _orders(db.get_engine(url)) == sorted(before + [("c06", LONG_NOTE)])
    assert at.text_area(key="order_note_c06").value in ("", None)   # written: the form starts afresh


@pytest.fixture
def every_run_through_the_router(monkeypatch):
    """Every AppTest run goes through app.py, as on a real server.  AppTest resets Streamlit's "the app has a
    pages/ folder" flag before each run, so after the first run it runs the current page's file directly, without
    the router (and its page-run checks); a real server clears the flag at the first st.navigation for good."""
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def without_v1(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", without_v1)


SHOW = """
import errno, streamlit as st
from ui import resilience
resilience.show_error(OSError(errno.ENOSPC, "No space left on device"))
"""


def test_the_full_disk_message_in_english(tmp_path):
    script = tmp_path / "show.py"
    script.write_text(SHOW, encoding="utf-8")
    at = AppTest.from_file(str(script), default_timeout=30)
    at.session_state["lang"] = "en"
    at.run()
    assert any(FULL_EN in e for e in _errors(at)) and any(b.label == "Retry now" for b in at.button)


def test_the_file_renamed_under_the_workbench_stops_it_with_what_to_do(tmp_path, monkeypatch,
                                                                     every_run_through_the_router):
    path = tmp_path / "gov.db"
    url = f"sqlite:///{path}"
    load_dataset(FIXTURES / "metrics", db.make_engine(url))
    _serve(monkeypatch, url)
    at = _workbench(url)
    assert at.dataframe                                        # the list, read before the file went
    before = _orders(db.get_engine(url))
    moved = tmp_path / "gov.db.bak"
    os.rename(path, moved)
    at = _submit(at, "请两日内办结")
    assert not at.exception, at.exception
    [message] = [e for e in _errors(at) if GONE_ZH in e]
    assert "gov\\.db" in message and "重启应用" in message   # (the path escaped for Markdown)
    assert not path.exists()                                   # nothing made at the old name

    at.run()                                                   # the next page run: the message, no (cached) data
    assert any(GONE_ZH in e for e in _errors(at)) and not at.dataframe
    at.session_state["lang"] = "en"
    at.run()
    assert any(GONE_EN in e for e in _errors(at))

    os.rename(moved, path)                                     # put back: the page comes back with "retry now"
    at.session_state["lang"] = "zh"
    at.run()
    assert not _errors(at), _errors(at)
    assert at.dataframe
    assert at.text_area(key="order_note_c06").value == "请两日内办结"   # the refused order's note, kept
    assert _orders(db.get_engine(url)) == before               # it was written nowhere


def test_an_empty_database_named_by_gov_db_url_gets_no_demo(tmp_path, monkeypatch):
    from ui.setup import demo_allowed

    url = f"sqlite:///{tmp_path / 'named.db'}"
    db.make_engine(url).dispose()
    _serve(monkeypatch, url)
    monkeypatch.setenv("GOV_AUTO_DEMO", "1")                   # even with demo data allowed in general
    assert not demo_allowed()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert any("这个数据库是空的，且不会自动生成演示数据" in w.value for w in at.warning)
    assert db.is_empty(db.get_engine(url))                     # nothing built
    assert users.list_accounts(db.get_engine(url)).empty        # and no demo accounts
    monkeypatch.delenv("GOV_DB_URL")
    assert demo_allowed()                                      # the embedded default file may still get it
    monkeypatch.setenv("GOV_AUTO_DEMO", "0")
    assert not demo_allowed()


# --- the production start ---------------------------------------------------------------------------------------

def _ready(url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "data_access", "--db", url, "ready"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_ready_refuses_a_missing_or_empty_database_and_passes_a_loaded_one(tmp_path):
    missing = tmp_path / "gone.db"
    r = _ready(f"sqlite:///{missing}")
    assert r.returncode == 6 and "does not exist" in r.stderr, r.stderr
    assert not missing.exists()                                # not created
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    db.make_engine(empty).dispose()
    r = _ready(empty)
    assert r.returncode == 6 and "holds no data" in r.stderr, r.stderr
    load_dataset(FIXTURES / "metrics", db.make_engine(empty))
    r = _ready(empty)
    assert r.returncode == 0 and r.stdout.startswith("ready: "), r.stderr


def test_the_production_start_refuses_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    db.make_engine(url).dispose()
    env = {**os.environ, "GOV_DB_URL": url, "GOV_COOKIE_SECRET": "0123456789abcdef" * 4, "PYTHON": sys.executable}
    r = subprocess.run(["bash", str(ROOT / "deploy" / "run-production.sh")], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2
    assert "holds no data" in r.stderr and "refusing to start" in r.stderr, r.stderr


# --- python -m sample_data takes the load lock ------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_sample_data_load_waits_for_no_one_and_refuses_while_a_sync_runs(kind, tmp_path, monkeypatch, capsys):
    from data_access.ingest.watch import sync_lock
    from sample_data import generator
    from sample_data.__main__ import main

    engine = fresh_engine(kind, tmp_path)
    url = engine.url.render_as_string(hide_password=False)
    db.get_engine.cache_clear()
    monkeypatch.setitem(generator.SCALES, "tiny-test", (300, 20))
    with sync_lock(engine, "sync"):                             # a sync is running
        code = main(["--scale", "tiny-test", "--db", url])
    assert code == 4
    err = capsys.readouterr().err
    assert "another sync is running" in err and "nothing was loaded" in err
    assert db.is_empty(engine)                                  # the database is unchanged
    assert main(["--scale", "tiny-test", "--db", url]) == 0     # the lock free: loaded
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(cases)).scalar_one() == 300
    with sync_lock(engine, "sync"):                             # and it let the lock go
        pass
    db.get_engine.cache_clear()
    engine.dispose()
