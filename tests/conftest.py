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


def fresh_engine(kind: str, tmp_path: Path):
    """A new, migrated, empty database of ``kind`` ('sqlite' or 'pg')."""
    from data_access.core.db import make_engine

    if kind == "pg":
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        reset_postgres(PG_URL)
        return make_engine(PG_URL)
    return make_engine(f"sqlite:///{tmp_path / 'test.db'}")


def metrics_db(kind: str, tmp_path: Path):
    """A new database of ``kind`` holding the hand-computable fixture (tests/fixtures/metrics)."""
    from data_access.ingest.loader import load_dataset

    eng = fresh_engine(kind, tmp_path)
    load_dataset(FIXTURES / "metrics", eng)
    return eng


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
    from data_access.ingest.loader import load_dataset

    eng = fresh_engine(request.param, tmp_path_factory.mktemp("metrics"))
    load_dataset(FIXTURES / "metrics", eng)
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
    from data_access.ingest.loader import load_dataset

    eng = fresh_engine(kind, tmp_path)
    load_dataset(FIXTURES / name, eng)
    return eng


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
