"""The frame and the batch log (issue 19, "In the app"; data_access/core/batches.py): "data as of" is the time the
source produced the last batch applied; past GOV_SYNC_STALE_MINUTES without a batch every page warns, but only on
a database that follows a source by sync (a load-only one is frozen by design); a batch refused since the last one
applied is shown, with its report, to admins and leaders only.  On the tiny fixture, SQLite and PostgreSQL.

Staleness is measured as ``python -m data_access status`` measures it (``applied_at`` against the wall clock), so
the rows below are logged relative to the wall clock, whatever GOV_NOW says."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from data_access.core import batches
from data_access.core.access import User, may_see_sync_problems
from data_access.core.clock import wall_now
from data_access.core.db import get_engine
from tests.conftest import ROOT, serve_fixture, sign_in

NOW = datetime(2026, 3, 20, 12, 0)
PRODUCED = datetime(2026, 3, 20, 11, 47)
STALE_ZH = "分钟未更新"
STALE_EN = "has not been updated for"
REPORT = "cases.csv:3 status: *not* a status [x](http://example.com)"


@pytest.fixture(autouse=True)
def warm_server(monkeypatch):
    """AppTest runs app.py (the frame, then the page st.navigation picks) on every run, as a server that has
    already served a session does (as in tests/test_url_changes.py): the frame's sidebar and warnings show."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import app_test

    class Warm(PagesManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    monkeypatch.setattr(app_test, "PagesManager", Warm)


def open_app_page(url: str, page: str, role: str = "leader", lang: str = "zh") -> AppTest:
    """A new session whose first request is ``/<page>?lang=…``, signed in as ``role``; no exception, no error."""
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), url, role)
    at._page_hash = calc_hash(page)
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


@pytest.fixture
def url(db_kind, tmp_path, monkeypatch) -> str:
    """The tiny fixture, its load logged a day ago (the batches below come after it)."""
    monkeypatch.setenv("GOV_SYNC_STALE_MINUTES", "60")
    out = serve_fixture(db_kind, tmp_path, monkeypatch, "tiny", NOW)
    with get_engine(out).begin() as conn:
        conn.execute(batches.sync_batches.update().values(applied_at=wall_now() - timedelta(days=1)))
    return out


def log(url: str, batch_id: str, minutes_ago: float, status: str = "applied", kind: str = "batch",
        produced_at: datetime = PRODUCED, report: str | None = None) -> None:
    import streamlit as st

    with get_engine(url).begin() as conn:
        batches.record(conn, batch_id=batch_id, kind=kind, produced_at=produced_at, status=status, rows=3,
                       report=report, applied_at=wall_now() - timedelta(minutes=minutes_ago))
    st.cache_data.clear()


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


def test_data_as_of_is_the_last_batch_time(url):
    log(url, "b-1", 5)
    at = open_app_page(url, "overview")
    captions = [c.value for c in at.sidebar.caption]
    assert "数据更新于 2026-03-20 11:47" in captions, captions
    assert not warnings(at)
    at = open_app_page(url, "overview", lang="en")
    assert "Data as of 2026-03-20 11:47" in [c.value for c in at.sidebar.caption]


def test_a_load_only_database_shows_its_load_and_never_warns(url):
    """The fixture's load is the log's only entry: its time shows, and a load hours old is not "stale"."""
    state = batches.sync_state(get_engine(url))
    assert state.last is not None and state.last.kind == "load" and not state.follows_source
    assert batches.is_stale(state.last) and not state.stale()
    at = open_app_page(url, "overview")
    assert not warnings(at)
    assert any(c.value.startswith("数据更新于 ") for c in at.sidebar.caption)


def test_stale_warning_past_the_limit_only(url):
    log(url, "b-1", 59)
    assert not open_app_page(url, "overview").warning
    log(url, "b-1", 90)
    at = open_app_page(url, "overview")
    assert warnings(at) == ["数据已超过 90 分钟未更新，可能不是最新。"]
    at = open_app_page(url, "cases", role="viewer", lang="en")  # every page, every role
    # (the workbench adds its own note on open cases older than the period: not the frame's)
    assert [w for w in warnings(at) if "not been updated" in w] == [
        "The data has not been updated for 90 minutes and may be out of date."]


def test_stale_limit_is_the_status_setting(url, monkeypatch):
    log(url, "b-1", 30)
    monkeypatch.setenv("GOV_SYNC_STALE_MINUTES", "20")
    assert any(STALE_ZH in w for w in warnings(open_app_page(url, "overview")))


@pytest.mark.parametrize("role", ["leader", "admin"])
def test_refused_batch_for_leaders_and_admins(url, role):
    log(url, "b-1", 10)
    log(url, "b-2_bad", 2, status="rejected", produced_at=datetime(2026, 3, 20, 11, 58), report=REPORT)
    at = open_app_page(url, "overview", role=role)
    (w,) = warnings(at)
    assert "b\\-2\\_bad" in w and "11:58" in w and "被拒绝" in w
    assert [e.label for e in at.expander] == ["拒绝原因"]
    assert [c.value for c in at.code] == [REPORT]  # as text, never Markdown
    at = open_app_page(url, "overview", role=role, lang="en")
    assert "was refused" in at.warning[0].value and at.expander[0].label == "Why it was refused"


@pytest.mark.parametrize("role", ["staff", "viewer"])
def test_refused_batch_not_for_staff_and_viewers(url, role):
    log(url, "b-1", 10)
    log(url, "b-2", 2, status="rejected", report=REPORT)
    at = open_app_page(url, "overview", role=role)
    assert not at.warning and not at.expander and not at.code


def test_a_refusal_before_the_last_applied_batch_is_past(url):
    log(url, "b-2", 20, status="rejected", report=REPORT)
    log(url, "b-3", 5)
    assert batches.sync_state(get_engine(url)).refused is None
    assert not open_app_page(url, "overview").warning


def test_rule():
    assert [r for r in ("leader", "staff", "viewer", "admin") if may_see_sync_problems(User("x", r))] == \
        ["leader", "admin"]
    assert not may_see_sync_problems(None)


def test_the_sync_command_path(db_kind, tmp_path, monkeypatch):
    """End to end with the sync itself (tests/test_sync.py's base and batch 1, then a refused batch): the frame
    shows batch 1's time, then the refusal with the sync's own report."""
    from data_access.ingest.sync import BatchRefused, sync_batch
    from tests.test_sync import C08_REPORTED, _case, _write_files, base_dataset, batch_1

    url = serve_fixture(db_kind, tmp_path, monkeypatch, str(base_dataset(tmp_path / "base")), NOW)
    engine = get_engine(url)
    sync_batch(batch_1(tmp_path / "b1"), engine)
    at = open_app_page(url, "overview", role="admin")
    assert "数据更新于 2026-03-10 12:00" in [c.value for c in at.sidebar.caption]
    assert not at.warning
    with pytest.raises(BatchRefused):
        sync_batch(_write_files(tmp_path / "bad", {"cases.csv": _case("c08", grid_code="GX", **C08_REPORTED)},
                                {"batch_id": "bad", "produced_at": "2026-03-12T00:00:00"}), engine)
    import streamlit as st

    st.cache_data.clear()  # the refresh interval passed
    at = open_app_page(url, "overview", role="admin", lang="en")
    (w,) = [w.value for w in at.warning]
    assert "bad" in w and "2026-03-12 00:00" in w
    assert "cases.csv:2 grid_code: unknown grid 'GX'" in at.code[0].value
    assert "Data as of 2026-03-10 12:00" in [c.value for c in at.sidebar.caption]
