"""AppTest runs of the app and every page: demo data, empty database, language, drill-down, live rows."""
from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import FIXTURES, ROOT, sign_in

PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py"))
DATA_PAGES = [p for p in PAGES if p != "help.py"]  # the help page shows no numbers (tests/test_help_page.py)


def _app(url: str, monkeypatch, auto_demo: str = "0", role: str | None = "leader",
         scope: str | None = None) -> AppTest:
    """The app on ``url``, signed in as a ``role`` of jurisdiction ``scope`` (None: signed out)."""
    monkeypatch.setenv("GOV_DB_URL", url)
    monkeypatch.setenv("GOV_AUTO_DEMO", auto_demo)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    return sign_in(at, url, role, scope) if role else at


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    from data_access.core.db import make_engine
    from sample_data import build_sample_database

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    build_sample_database(make_engine(url))
    return url


@pytest.fixture
def metrics_url(tmp_path) -> str:
    from data_access.core.db import make_engine
    from data_access.ingest.loader import load_dataset

    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    load_dataset(FIXTURES / "metrics", make_engine(url))
    return url


def rerun(at: AppTest) -> AppTest:
    """Run again after an interaction.

    AppTest 1.67 re-requests the page it finished on by hash; with a ``pages/`` folder beside
    app.py that hash is not resolved and the rerun executes nothing (reproduced on a three-line
    app).  The real server is not affected.  Requesting the default page avoids it."""
    at._finished_page_script_hash = ""
    return at.run()


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_overview_renders_on_demo_data(demo_url, monkeypatch):
    at = _app(demo_url, monkeypatch).run()
    assert not at.exception
    assert len(at.metric) == 11   # the eight headline numbers and the 三率
    assert "娄底市" in at.title[0].value
    assert _metric(at, "案件数").endswith("万")  # Chinese number format
    assert _metric(at, "办结率").endswith("%")


@pytest.mark.parametrize("page", DATA_PAGES)
def test_every_page_renders_in_the_frame(page, demo_url, monkeypatch):
    at = _app(demo_url, monkeypatch).run()
    at.switch_page(f"pages/{page}").run()
    assert not at.exception and not at.error
    assert at.session_state["_frame_ran"] is True
    assert len(at.metric) >= 4  # every page opens with its headline numbers
    if page != "audit.py":  # the audit log is about accounts, not the selected region
        assert "娄底市" in at.title[0].value  # the frame's region reached the page


@pytest.mark.parametrize("page", PAGES)
def test_a_page_never_renders_without_the_frame(page, demo_url, monkeypatch):
    """Started on its own (as Streamlit does for a deep link before app.py has ever run), a page shows no
    data: it hands over to app.py (ui/guard.py)."""
    monkeypatch.setenv("GOV_DB_URL", demo_url)
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120).run()
    assert not at.exception
    assert not at.metric and not at.dataframe
    assert "app.py" in at.info[0].value


def test_language_switch_changes_labels(demo_url, monkeypatch):
    at = _app(demo_url, monkeypatch).run()
    assert "案件数" in [m.label for m in at.metric]
    at.segmented_control(key="lang").set_value("en")
    rerun(at)
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert "Cases" in labels and "Closure rate" in labels and "案件数" not in labels
    assert "Overview" in at.title[0].value


def test_drill_down_changes_the_numbers(demo_url, monkeypatch):
    at = _app(demo_url, monkeypatch).run()
    city_cases = _metric(at, "案件数")
    at.selectbox(key="region_pick_431300").set_value("431302")  # 娄星区
    rerun(at)
    assert not at.exception
    assert "娄星区" in at.title[0].value
    assert _metric(at, "案件数") != city_cases
    # one level further, and back up
    at.selectbox(key="region_pick_431302").set_value("431302001")
    rerun(at)
    assert "乐坪街道" in at.title[0].value
    next(b for b in at.button if b.label == "返回上级").click()  # the sidebar's "up one level"
    rerun(at)
    assert "娄星区" in at.title[0].value


def test_empty_database_shows_a_clear_empty_state(tmp_path, monkeypatch):
    at = _app(f"sqlite:///{tmp_path / 'empty.db'}", monkeypatch).run()
    assert not at.exception
    assert any("数据库中还没有数据" in i.value for i in at.info)
    assert len(at.metric) == 0


def test_first_start_builds_the_demo_dataset(tmp_path, monkeypatch):
    from data_access.core import db

    # only into the embedded default file (GOV_DB_URL unset): a database GOV_DB_URL names never gets demo data
    # (tests/test_db_file.py)
    monkeypatch.setattr(db, "DEFAULT_SQLITE_PATH", tmp_path / "first.db")
    from sample_data import generator

    monkeypatch.setitem(generator.SCALES, "demo", (400, 50))  # the same path, a smaller demo (a busy machine)
    at = _app(f"sqlite:///{tmp_path / 'first.db'}", monkeypatch, auto_demo="1")
    monkeypatch.delenv("GOV_DB_URL")
    at.run()
    assert not at.exception
    assert len(at.metric) == 11  # after the build, the Overview (eight headline numbers and the 三率)


def test_region_without_cases_and_hostile_params(metrics_url, monkeypatch):
    at = _app(metrics_url, monkeypatch)
    at.query_params["region"] = "<script>alert(1)</script>"
    at.query_params["period"] = "'; DROP TABLE cases; --"
    at.run()
    assert not at.exception
    assert "测试市" in at.title[0].value  # fell back to the default region


def test_a_new_row_shows_up_without_restart(metrics_url, monkeypatch):
    from data_access.core.clock import now_local
    from data_access.core.db import get_engine
    from data_access.writes.workflow import NewCase, report_case

    at = _app(metrics_url, monkeypatch)
    at.query_params["period"] = "all"
    at.run()
    assert _metric(at, "案件数") == "10"
    report_case(get_engine(metrics_url), NewCase(
        case_no="live-1", grid_code="G1", category="A", source="patrol", title="新上报",
        reported_at=now_local() - timedelta(minutes=5)))
    import streamlit as st

    st.cache_data.clear()  # what the refresh interval's expiry does
    rerun(at)
    assert _metric(at, "案件数") == "11"
    assert _metric(at, "在办") == "4"
