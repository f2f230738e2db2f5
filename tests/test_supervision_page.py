"""AppTest runs of the supervision centre (pages/supervision.py) on the hand-computable fixture
(tests/fixtures/metrics/README.md, now = 2026-03-20 12:00), on SQLite and PostgreSQL: every view renders
with the fixture's numbers, the view and its choices travel in the URL (a bad one is dropped with a
notice), and a jurisdiction below the city sees only its own cases."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import FIXTURES, ROOT, fresh_engine, sign_in

VIEWS = ("backlog", "steps", "departments", "bounces", "orders", "integrity", "duplicates", "callbacks", "ranking")


@pytest.fixture(params=["sqlite", "pg"])
def fixture_url(request, tmp_path, monkeypatch) -> str:
    from data_access.core.db import get_engine
    from data_access.ingest.loader import load_dataset

    engine = fresh_engine(request.param, tmp_path)
    load_dataset(FIXTURES / "metrics", engine)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    get_engine.cache_clear()  # a PostgreSQL schema dropped and made again: no pooled connection of before
    import streamlit as st

    st.cache_data.clear()
    monkeypatch.setenv("GOV_DB_URL", url)
    monkeypatch.setenv("GOV_AUTO_DEMO", "0")
    monkeypatch.setenv("GOV_NOW", "2026-03-20T12:00:00")  # the fixture's "now"
    return url


def centre(url: str, query: dict[str, str] | None = None, scope: str | None = None) -> AppTest:
    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), url, "leader", scope)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/supervision.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def rerun(at: AppTest) -> AppTest:
    at._finished_page_script_hash = ""  # see tests/test_app.py: rerun
    at.run()
    assert not at.exception, at.exception
    return at


def test_backlog_view_shows_the_fixture_backlog(fixture_url):
    at = centre(fixture_url)
    # open now: c06 (overdue since 03-02 08:00), c07 (due 03-22), c08 (overdue since 03-11 09:00)
    assert metric(at, "在办案件") == "3"
    assert metric(at, "在办超期") == "2"
    assert metric(at, "超期占比") == "66.7%"
    assert metric(at, "最久积压") == "19 天"  # c06, reported 03-01 08:00: 19.2 days ago
    children = at.dataframe[0].value
    assert dict(zip(children["name"], children["open"])) == {"东县": 2, "西县": 1}
    assert dict(zip(children["name"], children["open_overdue"])) == {"东县": 1, "西县": 1}


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_renders_from_the_url(fixture_url, view):
    at = centre(fixture_url, {"view": view})
    assert at.segmented_control(key="sc_view").value == view
    assert at.query_params.get("view", "backlog") in (view, [view])


def test_a_bad_view_in_the_url_falls_back_with_a_notice(fixture_url):
    at = centre(fixture_url, {"view": "<script>"})
    assert at.segmented_control(key="sc_view").value == "backlog"
    assert at.toast, "the bad parameter is reported"


def test_switching_view_and_drilling_down(fixture_url):
    at = centre(fixture_url)
    at.segmented_control(key="sc_view").set_value("integrity")
    rerun(at)
    assert metric(at, "核实办结率").endswith("%")
    at.segmented_control(key="sc_view").set_value("backlog")
    rerun(at)
    assert metric(at, "在办案件") == "3"


def test_steps_view_groups_by_department(fixture_url):
    at = centre(fixture_url, {"view": "steps", "by": "department"})
    assert at.segmented_control(key="sc_by").value == "department"
    assert len(at.metric) == 4  # one per step: 受理, 分流, 处置, 反馈
    assert {m.label for m in at.metric} == {"受理", "分流", "处置", "反馈"}


def test_ranking_view_ranks_the_counties_of_a_month(fixture_url):
    at = centre(fixture_url, {"view": "ranking", "month": "2026-02"})
    # by default (automatic: 1 and 1 cases → the floor of 5) no unit of the small fixture is ranked, and the
    # page says why
    assert at.number_input(key="sc_min_cases").value is None
    assert any("最少案件数（5 件）" in i.value for i in at.info)
    at.number_input(key="sc_min_cases").set_value(2)  # 1 case each: listed, not ranked
    rerun(at)
    assert any("最少案件数（2 件）" in i.value for i in at.info)
    at.number_input(key="sc_min_cases").set_value(1)
    rerun(at)
    assert not any("最少案件数" in i.value for i in at.info)
    table = at.dataframe[0].value
    assert set(table["单位"]) == {"东县", "西县"}
    assert list(table["案件数"]) == [1, 1]  # Feb 2026: c04 (东县), c05 (西县)
    assert table["排名"].notna().all()  # both have ≥ 1 case: both ranked
    assert "month" not in at.query_params  # the default month (the last complete one) stays out of the link
    at.selectbox(key="sc_month").set_value("2026-01")
    rerun(at)
    assert at.query_params.get("month") in ("2026-01", ["2026-01"])
    jan = at.dataframe[0].value
    assert dict(zip(jan["单位"], jan["案件数"])) == {"东县": 3, "西县": 0}  # c01, c02, c03


def rendered_text(at: AppTest) -> list[str]:
    """Every string the run sent to the browser (labels, values, help, captions, expander titles …), each element's
    and block's message as text, tables' data left out."""
    from google.protobuf import text_format

    out = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and not getattr(node, "type", "") in ("arrow_data_frame", "dataframe"):
            out.append(text_format.MessageToString(proto, as_utf8=True))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_ranking_view_shows_no_unformatted_placeholder(fixture_url, lang):
    """Issue 20, defect 3: the weights panel read "当月案件不少于 {n} 件的单位参与排名"."""
    import re

    from tests.conftest import open_app_page

    at = open_app_page(fixture_url, "supervision", {"view": "ranking", "month": "2026-02"}, lang=lang)
    if lang == "zh":  # the units ranked too (in English one run only: see conftest.open_app_page)
        at.number_input(key="sc_min_cases").set_value(1)
        rerun(at)
    texts = rendered_text(at)
    assert any("权重" in x or "Weights" in x for x in texts)  # the weights panel is among them
    left = sorted({m for x in texts for m in re.findall(r"\{[A-Za-z_][A-Za-z0-9_]*\}", x)})
    assert left == [], [x for x in texts if re.search(r"\{[A-Za-z_][A-Za-z0-9_]*\}", x)]


def test_ranking_below_a_township_asks_for_a_higher_region(fixture_url):
    at = centre(fixture_url, {"view": "ranking", "region": "1111"})
    assert any("乡镇" in i.value for i in at.info)


def test_jurisdiction_below_the_city_sees_only_its_backlog(fixture_url):
    at = centre(fixture_url, scope="120")  # 西县: c06 only
    assert metric(at, "在办案件") == "1"
    assert metric(at, "在办超期") == "1"


@pytest.fixture
def warm_server(monkeypatch):
    """The frame's sidebar shows in AppTest as on a server that has served a session (tests/test_sync_frame.py)."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import app_test

    class Warm(PagesManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    monkeypatch.setattr(app_test, "PagesManager", Warm)


def test_unknown_holidays_are_said_once_in_the_sidebar_not_on_every_view(fixture_url, monkeypatch, warm_server):
    from data_access.core import time_limits

    def calendar_gaps_in_data(engine):  # the fixture has no working-day category: a year without holidays
        return [2027]

    monkeypatch.setattr(time_limits, "calendar_gaps_in_data", calendar_gaps_in_data)
    for view in VIEWS:
        at = centre(fixture_url, {"view": view})
        said = [c.value for c in at.sidebar.caption if "2027" in c.value]
        assert said == [":material/event_busy: 2027 年节假日未收录"], (view, said)
        assert not [w.value for w in at.warning if "2027" in w.value], view
        assert not [c.value for c in at.main.caption if "2027" in c.value], view


def test_no_holiday_note_when_the_calendar_covers_the_data(fixture_url, warm_server):
    at = centre(fixture_url)
    assert any(c.value.startswith("数据更新于") for c in at.sidebar.caption)  # the sidebar is there
    assert not [c.value for c in at.sidebar.caption if "节假日" in c.value]
