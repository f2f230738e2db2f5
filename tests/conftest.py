"""Shared fixtures: a fresh database on SQLite (always) and PostgreSQL (when GOV_TEST_PG_URL is set)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _worker_pg_url(url: str) -> str:
    """Under pytest-xdist each worker drops and makes schemas in a database of its own (``<db>_gw0``, …),
    created here if missing; the environment is updated so that every module sees the same URL."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker:
        return url
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    eng = create_engine(base, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": own.database}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    eng.dispose()
    out = own.render_as_string(hide_password=False)
    os.environ["GOV_TEST_PG_URL"] = out
    return out


PG_URL = _worker_pg_url(os.environ.get("GOV_TEST_PG_URL", "").strip())
PG_SKIP_REASON = "GOV_TEST_PG_URL is not set: PostgreSQL tests skipped (.ci/run sets it to the local server)"

# The app must not build demo data on its own inside tests unless a test asks for it.
os.environ.setdefault("GOV_AUTO_DEMO", "0")


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
    from data_access.db import make_engine

    if kind == "pg":
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        reset_postgres(PG_URL)
        return make_engine(PG_URL)
    return make_engine(f"sqlite:///{tmp_path / 'test.db'}")


def metrics_db(kind: str, tmp_path: Path):
    """A new database of ``kind`` holding the hand-computable fixture (tests/fixtures/metrics)."""
    from data_access.loader import load_dataset

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
    from data_access.loader import load_dataset

    eng = fresh_engine(request.param, tmp_path_factory.mktemp("metrics"))
    load_dataset(FIXTURES / "metrics", eng)
    yield eng
    eng.dispose()


def sign_in(at, url: str, role: str = "leader", scope: str | None = None, name: str = "测试员"):
    """Sign ``at`` (an AppTest not yet run) in as an account of ``role`` and jurisdiction ``scope``, created in
    the database at ``url`` if missing, as the sign-in page would (ui/auth.py keeps the session's token)."""
    from data_access import users
    from data_access.db import get_engine

    engine = get_engine(url)
    username = f"t_{role}_{scope or 'all'}"
    account = users.get_account(engine, username) or users.add_user(
        engine, username, display_name=name, role=role, scope_code=scope)
    at.session_state["_auth"] = users.open_session(engine, account.as_user())
    return at
