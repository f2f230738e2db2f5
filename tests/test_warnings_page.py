"""The 风险预警 page (pages/warnings.py) and the Overview's link to it, on the early-warning fixture of
tests/test_warnings.py (six warnings as of Monday 2025-06-16), SQLite, in AppTest."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from data_access.core import warnings as W
from data_access.core.schema import audit_log
from data_access.core.schema import warnings as warnings_table
from tests.conftest import fresh_engine, open_app_page
from tests.test_warnings import AS_OF, build
from ui.i18n import translate

NOW = datetime(2025, 6, 17, 9, 0)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import streamlit as st

    from data_access.core.db import get_engine

    eng = fresh_engine("sqlite", tmp_path_factory.mktemp("warn_page"))
    build(eng)
    W.refresh(eng, AS_OF)
    url = eng.url.render_as_string(hide_password=False)
    eng.dispose()
    get_engine.cache_clear()
    st.cache_data.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GOV_DB_URL", url)
        mp.setenv("GOV_AUTO_DEMO", "0")
        mp.setenv("GOV_NOW", NOW.isoformat())
        yield url


def _id(url, kind, code):
    from data_access.core.db import get_engine

    with get_engine(url).connect() as conn:
        return conn.execute(select(warnings_table.c.id).where(warnings_table.c.kind == kind,
                                                              warnings_table.c.region_code == code)).scalar_one()


def _link(at, label_key, lang="zh"):
    return next(x.proto for x in at.get("page_link") if x.proto.label == translate(label_key, lang))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_city_sees_every_warning_most_severe_first(served, lang):
    at = open_app_page(served, "warnings", lang=lang)
    assert at.title[0].value == translate("wn.title", lang) + " · 测试市"
    table = at.dataframe[0].value
    assert len(table) == 6
    assert list(table["severity"]) == sorted(table["severity"], reverse=True)
    # the most severe: township 113 fallen silent since 06-12, 0 cases against 45 expected
    first = table.iloc[0]
    assert first["kind"] == translate("wn.kind.silent", lang)
    assert first["region_name"] == "镇113"
    assert [m.value for m in at.metric][-3:] == ["0", "45", "2025-06-12"]  # after the four state counts
    assert at.get("vega_lite_chart")  # its series with the usual range
    assert any("镇113" in m.value for m in at.markdown)


def test_a_surge_links_to_its_cases_in_the_workbench(served):
    wid = _id(served, "surge", "1111")
    at = open_app_page(served, "warnings", {"w": str(wid)})
    assert at.selectbox(key="wn_pick").value == str(wid)
    assert [m.value for m in at.metric][-3:] == ["12", "3", "2025-06-16"]
    link = _link(at, "wn.cases")
    assert link.page.strip("/") == "cases"
    assert dict(x.split("=") for x in link.query_string.split("&")) == {
        "region": "1111", "period": "custom", "from": "2025-06-16", "to": "2025-06-16", "cat": "A"}
    assert any("村1111" in m.value and "12" in m.value for m in at.markdown)


def test_staff_acknowledge_a_warning_and_it_is_audited(served):
    from data_access.core.db import get_engine

    wid = _id(served, "new_category", "1113")
    at = open_app_page(served, "warnings", {"w": str(wid)}, role="staff", scope="111")
    assert len(at.dataframe[0].value) == 3  # 111, 1111 and 1113: the jurisdiction's
    at.text_area(key=f"wn_note_{wid}").input("已核实：新建工地")
    at.button[0].click().run()
    assert not at.exception and not at.error
    with get_engine(served).connect() as conn:
        row = conn.execute(select(warnings_table.c.state, warnings_table.c.state_note)
                           .where(warnings_table.c.id == wid)).one()
        audit = conn.execute(select(audit_log.c.username, audit_log.c.target).where(audit_log.c.event == "write")
                             ).all()
    assert tuple(row) == ("acknowledged", "已核实：新建工地")
    assert ("t_staff_111", "1113") in [tuple(a) for a in audit]


def test_a_viewer_reads_but_cannot_set_a_state(served):
    at = open_app_page(served, "warnings", role="viewer")
    assert translate("wn.state.readonly", "zh") in [c.value for c in at.caption]
    assert not at.get("form")


def test_a_leader_of_another_township_sees_only_theirs(served):
    at = open_app_page(served, "warnings", role="leader", scope="112")
    assert len(at.dataframe[0].value) == 2
    assert set(at.dataframe[0].value["kind"]) == {
        translate("wn.kind.backlog", "zh"), translate("wn.kind.overdue", "zh")}


def test_no_warning_in_the_chosen_states_says_so(served):
    at = open_app_page(served, "warnings", {"state": "false_alarm"})
    assert translate("wn.none", "zh") in [i.value for i in at.info]
    assert not at.dataframe


def test_the_overview_links_the_new_warnings_of_the_region(served):
    at = open_app_page(served, "overview", {"region": "112"})
    link = next(
        x.proto for x in at.get("page_link") if x.proto.page.strip("/") == "warnings")
    assert link.label == translate("ov.warnings.link", "zh", n="2")
