"""Shared fixtures: a fresh database on SQLite (always) and PostgreSQL (when GOV_TEST_PG_URL is set)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The loader and sync recompute the early warnings after committing (data_access/core/warnings.py), about a second
# a load; the tests of everything else load hundreds of times and read no warning: off unless a test turns it on.
os.environ.setdefault("GOV_WARNINGS_AUTO", "0")


def _worker_pg_url(url: str) -> str:
    """Under pytest-xdist each worker drops and makes schemas in a database of its own (``<db>_gw0``, …),
    created here if missing; the environment is updated so that every module sees the same URL."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker:
        return url
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    if base.database.endswith(f"_{worker}"):   # conftest imported a second time (as tests.conftest): already set
        return url
    own = base.set(database=f"{base.database}_{worker}")
    eng = create_engine(base, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": own.database}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    eng.dispose()
    out = own.render_as_string(hide_password=False)
    os.environ["GOV_TEST_PG_URL"] = out
    return out


# --- Hypothesis (the property tests, tests/test_properties_*.py; docs/TESTING.md "Property tests") ----------------
# "ci", the default: no deadline (a loaded 2-core machine is slow), the same examples on every run (derandomize: a
# run that passes passes again), no example database written; 100 examples a property, a test that touches a
# database asks for fewer through ``examples(n)``.  "thorough" (HYPOTHESIS_PROFILE=thorough): random, 20 times
# as many, failures kept in .hypothesis/ and tried first next time.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("ci", deadline=None, derandomize=True, database=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("thorough", deadline=None, max_examples=2000,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci").strip() or "ci")


def examples(n: int) -> int:
    """``n`` examples under the "ci" profile, as many times more as the profile loaded has (thorough: 20 ×)."""
    return max(1, round(n * settings.default.max_examples / 100))


PG_URL = _worker_pg_url(os.environ.get("GOV_TEST_PG_URL", "").strip())
PG_SKIP_REASON = "GOV_TEST_PG_URL is not set: PostgreSQL tests skipped (.ci/run sets it to the local server)"

# The app must not build demo data on its own inside tests unless a test asks for it.
os.environ.setdefault("GOV_AUTO_DEMO", "0")
# A defect on a page is raised, not turned into the friendly "unexpected error" message (ui/resilience.py), so that
# no test passes over it; tests/test_resilience.py switches it off to check that message.
os.environ.setdefault("GOV_RAISE_ERRORS", "1")


def reset_postgres(url: str) -> None:
    """Drop everything this project created in the PostgreSQL test database."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    eng.dispose()


# --- Databases made once per process and copied (docs/TESTING.md "Where the time goes") ---------------------------
# Migrating an empty database costs 0.5–1 s and loading the metrics fixture 0.2–0.6 s; about a thousand tests
# ask for a fresh one.  So each worker makes each state once: on SQLite a file that a test gets a copy of, on
# PostgreSQL a snapshot of every table (COPY) that is put back after emptying the tables (DELETE), which is
# only done while the schema is the one a migration makes (a fingerprint of the catalogue: a test that changed
# the schema gets a dropped and re-migrated one, as before).  A state is keyed by the GOV_* variables as they
# are at the time (the loader reads some, e.g. GOV_WARNINGS_AUTO).  GOV_TEST_NO_TEMPLATES=1 turns this off.
import atexit  # noqa: E402
import hashlib  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

_TEMPLATE_DIR = Path(tempfile.gettempdir()) / f"gov-test-templates-{os.getpid()}"
# pytest imports this file as ``conftest`` and the tests import it as ``tests.conftest``: one store for both
_PG_SNAPSHOTS: dict = __import__("sys").__dict__.setdefault("_gov_test_pg_snapshots", {})
_PG_CLEAN: dict = __import__("sys").__dict__.setdefault("_gov_test_pg_clean", {})   # url -> a fresh schema's fingerprint
atexit.register(shutil.rmtree, _TEMPLATE_DIR, True)


def _templates_on() -> bool:
    return os.environ.get("GOV_TEST_NO_TEMPLATES", "") != "1"


def _state_key(name: str | None) -> str:
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("GOV_") and k != "GOV_TEST_PG_URL")
    return hashlib.sha1(repr((name, env)).encode()).hexdigest()[:16]


def _sqlite_copy(target: Path, name: str | None) -> bool:
    """Copy the migrated SQLite file holding tests/fixtures/<name> (or nothing) to ``target``, made first if this
    worker has none; False (nothing done) when ``target`` exists already or the templates are off."""
    import sqlite3

    if not _templates_on() or target.exists():
        return False
    tpl = _TEMPLATE_DIR / f"{_state_key(name)}.db"
    if not tpl.exists():
        from data_access.core.db import make_engine
        from data_access.ingest.loader import load_dataset

        _TEMPLATE_DIR.mkdir(parents=True, exist_ok=True)
        building = _TEMPLATE_DIR / f"building-{os.getpid()}-{tpl.name}"
        for f in _TEMPLATE_DIR.glob(building.name + "*"):
            f.unlink()
        eng = make_engine(f"sqlite:///{building}")
        if name is not None:
            load_dataset(FIXTURES / name, eng)
        eng.dispose()
        con = sqlite3.connect(building)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        for f in _TEMPLATE_DIR.glob(building.name + "-*"):
            f.unlink()
        os.replace(building, tpl)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tpl, target)
    return True


_FINGERPRINT = """
SELECT md5(coalesce(string_agg(x, E'\n' ORDER BY x), '')) FROM (
  SELECT 'r ' || c.relname || ' ' || c.relkind::text || ' ' || coalesce(array_to_string(c.reloptions, ','), '') AS x
    FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT 'i ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT 'a ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
                   || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT 'c ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 't ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
  UNION ALL SELECT 'f ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') ' || md5(p.prosrc)
    FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
  UNION ALL SELECT 'e ' || extname || ' ' || extversion FROM pg_extension
) s"""


def _pg_tables(cur) -> list[str]:
    cur.execute("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    return [r[0] for r in cur.fetchall()]


def _pg_columns(cur, table: str) -> str:
    """``table``'s columns by name, as a COPY column list.  COPY without one reads and writes the columns in their
    physical order, which a migration that re-made a column changes (added at the end) while the fingerprint, of
    names and types, stays: a snapshot put back so wrote each value into its neighbour's column
    (tests/test_test_databases.py)."""
    cur.execute("SELECT string_agg(quote_ident(attname), ', ' ORDER BY attname) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", (f"public.{table}",))
    return cur.fetchone()[0]


def _pg_snapshot(url: str) -> dict:
    """Every table's rows (COPY text, the columns by name) and every sequence's position, with the schema's
    fingerprint."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    with psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database) as con:
        cur = con.cursor()
        cur.execute(_FINGERPRINT)
        fp = cur.fetchone()[0]
        rows = {}
        for t in _pg_tables(cur):
            with cur.copy(f"COPY {t} ({_pg_columns(cur, t)}) TO STDOUT") as cp:
                rows[t] = b"".join(bytes(b) for b in cp)
        cur.execute("SELECT quote_ident(sequencename), last_value FROM pg_sequences WHERE schemaname = 'public'")
        seqs = cur.fetchall()
    return {"fp": fp, "rows": rows, "seqs": seqs}


def _pg_restore(url: str, snap: dict) -> bool:
    """Put ``snap`` back when the schema is still the migrated one (else False, nothing changed)."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    with psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database) as con:
        cur = con.cursor()
        cur.execute(_FINGERPRINT)
        if cur.fetchone()[0] != snap["fp"] or _PG_CLEAN.get(url) != snap["fp"]:
            con.rollback()
            return False
        tables = _pg_tables(cur)
        if sorted(tables) != sorted(snap["rows"]):
            con.rollback()
            return False
        # DELETE, not TRUNCATE: on these small tables it takes 30 ms where TRUNCATE (new files for 35 tables and
        # 100 indexes) took a second; with the foreign keys' triggers off the order of the tables does not matter
        cur.execute("SET LOCAL session_replication_role = replica")
        for t in tables:
            cur.execute(f"DELETE FROM {t}")
        for t, data in snap["rows"].items():
            if data:
                with cur.copy(f"COPY {t} ({_pg_columns(cur, t)}) FROM STDIN") as cp:
                    cp.write(data)
        for seq, last in snap["seqs"]:
            if last is None:   # never used: as new (RESTART IDENTITY resets only the tables' own sequences)
                cur.execute(f"ALTER SEQUENCE public.{seq} RESTART")
            else:
                cur.execute("SELECT setval(%s, %s, true)", (f"public.{seq}", last))
        if any(snap["rows"].values()):
            cur.execute("ANALYZE")
        con.commit()
    return True


def _pg_state(name: str | None) -> bool:
    """The PostgreSQL test database in the state "migrated" (``name`` None) or "tests/fixtures/<name> loaded",
    from this worker's snapshot; False when there is none yet or the schema is not the migrated one."""
    if not _templates_on():
        return False
    snap = _PG_SNAPSHOTS.get((PG_URL, _state_key(name)))
    if snap is None:
        return False
    try:
        return _pg_restore(PG_URL, snap)
    except Exception:  # anything unexpected: the slow way, as before
        return False


def _pg_remember(name: str | None) -> None:
    if not _templates_on():
        return
    try:
        snap = _pg_snapshot(PG_URL)
    except Exception:
        return
    if name is None:
        _PG_CLEAN[PG_URL] = snap["fp"]
    _PG_SNAPSHOTS[(PG_URL, _state_key(name))] = snap


def fresh_engine(kind: str, tmp_path: Path):
    """A new, migrated, empty database of ``kind`` ('sqlite' or 'pg')."""
    from data_access.core.db import make_engine

    if kind == "pg":
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        if not _pg_state(None):
            reset_postgres(PG_URL)
            eng = make_engine(PG_URL)
            _pg_remember(None)
            return eng
        return make_engine(PG_URL)
    _sqlite_copy(tmp_path / "test.db", None)
    return make_engine(f"sqlite:///{tmp_path / 'test.db'}")


def _loaded(kind: str, tmp_path: Path, name: str):
    """A new database of ``kind`` holding tests/fixtures/<name> (copied from this worker's first load of it)."""
    from data_access.core.db import make_engine
    from data_access.ingest.loader import load_dataset

    if kind == "sqlite" and _sqlite_copy(tmp_path / "test.db", name):
        return make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    if kind == "pg" and PG_URL and _pg_state(name):
        return make_engine(PG_URL)
    eng = fresh_engine(kind, tmp_path)
    load_dataset(FIXTURES / name, eng)
    if kind == "pg":
        _pg_remember(name)
    return eng


def metrics_db(kind: str, tmp_path: Path):
    """A new database of ``kind`` holding the hand-computable fixture (tests/fixtures/metrics)."""
    return _loaded(kind, tmp_path, "metrics")


@pytest.fixture
def loaded_engine(db_kind, tmp_path):
    """The hand-computable fixture, fresh for each test, on each backend."""
    eng = metrics_db(db_kind, tmp_path)
    yield eng
    eng.dispose()


@pytest.fixture(params=["sqlite", "pg"])
def db_kind(request) -> str:
    return request.param


@pytest.fixture
def empty_engine(db_kind, tmp_path):
    eng = fresh_engine(db_kind, tmp_path)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def metrics_engine(request, tmp_path_factory):
    """The hand-computable fixture (tests/fixtures/metrics/README.md) loaded once per module and backend."""
    eng = metrics_db(request.param, tmp_path_factory.mktemp("metrics"))
    yield eng
    eng.dispose()


def sign_in(at, url: str, role: str = "leader", scope: str | None = None, name: str = "测试员"):
    """Sign ``at`` (an AppTest not yet run) in as an account of ``role`` and jurisdiction ``scope``, created in
    the database at ``url`` if missing, as the sign-in page would (ui/auth.py keeps the session's token)."""
    from data_access.core import users
    from data_access.core.db import get_engine

    engine = get_engine(url)
    username = f"t_{role}_{scope or 'all'}"
    account = users.get_account(engine, username) or users.add_user(
        engine, username, display_name=name, role=role, scope_code=scope)
    at.session_state["_auth"] = users.open_session(engine, account.as_user())
    return at


def load_fixture(kind: str, tmp_path: Path, name: str):
    """A fresh database of ``kind`` holding the dataset tests/fixtures/<name>."""
    return _loaded(kind, tmp_path, name)


def serve_fixture(kind: str, tmp_path: Path, monkeypatch, name: str, now) -> str:
    """The app's database for AppTest runs: tests/fixtures/<name> on ``kind``, no pooled connection or cached
    answer of before, no demo data, "now" = ``now``; returns its URL."""
    import streamlit as st

    from data_access.core.db import get_engine

    eng = load_fixture(kind, tmp_path, name)
    url = eng.url.render_as_string(hide_password=False)
    eng.dispose()
    get_engine.cache_clear()  # a PostgreSQL schema dropped and made again: no pooled connection of before
    st.cache_data.clear()
    monkeypatch.setenv("GOV_DB_URL", url)
    monkeypatch.setenv("GOV_AUTO_DEMO", "0")
    monkeypatch.setenv("GOV_NOW", now.isoformat())
    return url


def open_app_page(url: str, page: str, query: dict | None = None, role: str = "leader", scope: str | None = None,
                  lang: str | None = None):
    """An AppTest of ``pages/<page>.py`` in the frame, signed in as ``role`` of ``scope``, with ``query`` in the
    URL; fails on an exception or an error element.  ``lang``: one run straight onto the page in that language
    (AppTest re-formats the previous run's selectboxes outside a script run, where the session's language is
    not known, so the frame's period labels would not match)."""
    from streamlit.testing.v1 import AppTest

    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), url, role, scope)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if lang:
        at.session_state["lang"] = lang
    else:
        at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def app_metric(at, label: str) -> str:
    """The value of the page's metric labelled ``label``."""
    return next(m.value for m in at.metric if m.label == label)


def app_text(at) -> str:
    """The page's markdown, captions, texts and messages, one per line (what a reader sees as text)."""
    return "\n".join(x.value for kind in ("markdown", "caption", "text", "success", "error", "info")
                     for x in at.get(kind))


def app_rerun(at):
    """Run again after an interaction (the default page requested: tests/test_app.rerun says why), failing on an
    exception."""
    at._finished_page_script_hash = ""
    at.run()
    assert not at.exception, at.exception
    return at


# --- Spreading the files over the workers (pytest-xdist, ``--dist loadfile`` in pytest.ini) -----------------------
# A file's tests stay on one worker (its module-scoped fixtures are built once), except the files below, whose
# tests are split by backend: their SQLite and PostgreSQL halves each build their own module-scoped database
# anyway, and one of them alone would keep a worker busy for a third of the run.  The longest units go first
# (xdist's own order is by number of tests, which put the browser tests, 28 tests but minutes long, last and
# left the other worker idle at the end): SLOW_FIRST holds rough wall times in seconds, measured one file at a
# time (docs/TESTING.md "Where the time goes"); the others follow by number of tests.
SPLIT_BY_BACKEND = ("tests/test_scope_probes.py",)
SLOW_FIRST = {
    "tests/test_scope_probes.py::sqlite": 300, "tests/test_scope_probes.py::pg": 360,
    "tests/test_browser.py": 240, "tests/test_search.py": 200,
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    import re

    from xdist.scheduler import LoadFileScheduling

    if config.getoption("dist") != "loadfile":
        return None

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            if file in SPLIT_BY_BACKEND:
                m = re.search(r"\[(sqlite|pg)[\]-]", nodeid)
                if m:
                    return f"{file}::{m.group(1)}"
            return file

        def schedule(self) -> None:
            """xdist's LoadScopeScheduling.schedule (3.8) with the work units in order of expected time."""
            assert self.collection_is_completed
            if self.collection is not None:
                for node in self.nodes:
                    self._reschedule(node)
                return
            if not self._check_nodes_have_same_collection():
                self.log("**Different tests collected, aborting run**")
                return
            self.collection = list(next(iter(self.registered_collections.values())))
            if not self.collection:
                return
            units: dict[str, dict[str, bool]] = {}
            for nodeid in self.collection:
                units.setdefault(self._split_scope(nodeid), {})[nodeid] = False
            for scope in sorted(units, key=lambda s: -SLOW_FIRST.get(s, 0.3 * len(units[s]))):
                self.workqueue[scope] = units[scope]
            for _ in range(max(0, len(self.nodes) - len(self.workqueue))):
                unused_node, _assigned = self.assigned_work.popitem()
                unused_node.shutdown()
            for node in self.nodes:
                self._assign_work_unit(node)
            for node in self.nodes:
                self._reschedule(node)
            if not self.workqueue:
                for node in self.nodes:
                    node.shutdown()

    return Scheduling(config, log)
