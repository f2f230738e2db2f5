"""The dashboards' read replica (``GOV_DB_READ_URL``), on SQLite and PostgreSQL.

The "replica" is a second database holding the fixture (tests/fixtures/metrics, 10 cases), and the primary
gets one more case afterwards, as if replication lagged: the Overview (a dashboard) must then count the
replica's 10, the case workbench the primary's 11.  The replica engine must refuse writes, and a replica that
has not replayed the newest migration must give the "database unavailable, retrying" panel, not a traceback.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import streamlit as st
from sqlalchemy import create_engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from data_access.core import errors
from data_access.core.db import get_engine, make_engine
from data_access.ingest.loader import load_dataset
from data_access.writes.workflow import NewCase, report_case
from tests.conftest import (
    FIXTURES,
    PG_SKIP_REASON,
    PG_URL,
    open_app_page,
    serve_fixture,
)

NOW = datetime(2026, 3, 31, 12, 0)
UNAVAILABLE_ZH = "数据库暂时无法连接，正在重试…"


def _replica_url(kind: str, tmp_path) -> str:
    """A second database holding the fixture: a file beside the primary's, or ``<test db>_replica``."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'replica.db'}"
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    base = make_url(PG_URL)
    name = f"{base.database}_replica"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "pg"])
def lagging_replica(request, tmp_path, monkeypatch):
    """(primary URL, replica URL): both hold the fixture, the primary one case more."""
    primary = serve_fixture(request.param, tmp_path, monkeypatch, "metrics", NOW)
    replica = _replica_url(request.param, tmp_path)
    eng = make_engine(replica)  # the replica's copy is made as the primary's was: migrated, then loaded
    load_dataset(FIXTURES / "metrics", eng)
    eng.dispose()
    report_case(get_engine(primary), NewCase("lag-1", "G1", "A", "patrol", "刚上报", NOW - timedelta(hours=1)))
    monkeypatch.setenv("GOV_DB_READ_URL", replica)
    get_engine.cache_clear()
    st.cache_data.clear()
    yield primary, replica
    get_engine.cache_clear()


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_dashboards_read_the_replica_and_the_workbench_the_primary(lagging_replica):
    primary, _ = lagging_replica
    overview = open_app_page(primary, "overview", {"period": "all"})
    assert _metric(overview, "案件数") == "10"  # the replica: the new case has not reached it yet
    workbench = open_app_page(primary, "cases", {"period": "all"})
    assert _metric(workbench, "符合条件的案件") == "11"  # the primary, where a staff member's own write is


def test_without_a_replica_the_dashboards_read_the_primary(lagging_replica, monkeypatch):
    primary, _ = lagging_replica
    monkeypatch.delenv("GOV_DB_READ_URL")
    st.cache_data.clear()
    assert _metric(open_app_page(primary, "overview", {"period": "all"}), "案件数") == "11"


def test_the_replica_engine_refuses_writes(lagging_replica):
    _, replica = lagging_replica
    refused = sa_exc.OperationalError if replica.startswith("sqlite") else sa_exc.InternalError
    with pytest.raises(refused), get_engine(replica).begin() as conn:
        conn.execute(text("DELETE FROM cases"))
    with get_engine(replica).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar_one() == 10


def test_a_replica_behind_the_schema_is_unavailable_not_a_traceback(lagging_replica):
    primary, replica = lagging_replica
    raw = create_engine(replica)
    with raw.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    raw.dispose()
    get_engine.cache_clear()
    with pytest.raises(errors.ReplicaNotReady) as exc:
        get_engine(replica)
    assert errors.is_database_unavailable(exc.value)
    assert "GOV_DB_READ_URL" in str(exc.value)

    from streamlit.testing.v1 import AppTest

    from tests.conftest import sign_in

    at = sign_in(AppTest.from_file("../app.py", default_timeout=60), primary)
    at.query_params["period"] = "all"
    at.run()
    assert not at.exception
    assert any(UNAVAILABLE_ZH in w.value for w in at.warning), [w.value for w in at.warning]
