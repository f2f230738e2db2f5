"""AppTest of the supervision centre's callback view (回访, ui/supervision/callbacks.py) on tiny with the ratings of
002 and 006 removed (tests/test_callbacks.py says why), now = 2024-04-01 12:00: within the 30-day window only
LD20240305000006 (closed 2024-03-20, phone 13600000006) is due.  Staff record a rating through the form and undo
it; a leader sees the phone masked; the English strings."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from data_access.core.schema import audit_log, cases
from tests.conftest import app_metric, app_rerun, app_text, fresh_engine, open_app_page
from tests.test_callbacks import C6, unrated_tiny

NOW = datetime(2024, 4, 1, 12, 0)


@pytest.fixture(params=["sqlite", "pg"])
def served(request, tmp_path, monkeypatch):
    import streamlit as st

    from data_access.core.db import get_engine
    from data_access.ingest.loader import load_dataset

    eng = fresh_engine(request.param, tmp_path)
    load_dataset(unrated_tiny(tmp_path / "data"), eng)
    url = eng.url.render_as_string(hide_password=False)
    eng.dispose()
    get_engine.cache_clear()
    st.cache_data.clear()
    monkeypatch.setenv("GOV_DB_URL", url)
    monkeypatch.setenv("GOV_AUTO_DEMO", "0")
    monkeypatch.setenv("GOV_NOW", NOW.isoformat())
    return url


def _rating(url):
    from data_access.core.db import get_engine

    with get_engine(url).connect() as conn:
        return conn.execute(select(cases.c.satisfaction).where(cases.c.case_no == C6)).scalar_one()


def test_staff_record_a_callback_and_undo_it(served):
    at = open_app_page(served, "supervision", {"view": "callbacks"}, role="staff")
    assert at.segmented_control(key="sc_view").value == "callbacks"
    assert app_metric(at, "待回访") == "1"
    listed = at.dataframe[0].value
    assert list(listed["case_no"]) == [f"cases?case={C6}"] and list(listed["reporter_phone"]) == ["13600000006"]
    assert at.selectbox(key="cb_pick").value.startswith(C6)
    assert "暂无回访记录" in app_text(at)
    # a record without a rating is refused, with the reason, and writes nothing
    at.button(key="cb_record").click()
    app_rerun(at)
    assert "未记录：满意度须为 1–5 的整数" in app_text(at) and _rating(served) is None
    at.segmented_control(key="cb_rating").set_value(4)
    at.text_input(key="cb_note").set_value("已回访，群众满意")
    at.button(key="cb_record").click()
    app_rerun(at)
    assert f"已记录 {C6} 的回访：满意度 4 分" in app_text(at)
    assert _rating(served) == 4
    assert app_metric(at, "待回访") == "0" and "暂无待回访案件" in app_text(at)
    recorded = at.dataframe[-1].value
    assert list(recorded["case_no"]) == [f"cases?case={C6}"] and list(recorded["rating"]) == [4]
    assert list(recorded["note"]) == ["已回访，群众满意"]
    from data_access.core.db import get_engine
    with get_engine(served).connect() as conn:
        assert conn.execute(select(audit_log.c.detail).where(audit_log.c.target == C6)).scalar_one().count(
            '"action": "callback"') == 1
    at.button(key="cb_undo").click()
    app_rerun(at)
    assert "已撤销回访" in app_text(at) and _rating(served) is None
    assert app_metric(at, "待回访") == "1"


def test_a_leader_sees_the_phone_masked_in_english(served):
    at = open_app_page(served, "supervision", {"view": "callbacks"}, role="leader", lang="en")
    assert app_metric(at, "To call back") == "1"
    listed = at.dataframe[0].value
    assert list(listed["reporter_phone"]) == ["136****0006"] and list(listed["reporter_name"]) == ["吴*"]
    assert "13600000006" not in app_text(at)
    assert at.button(key="cb_record").label == "Record"


def test_a_viewer_may_not_record(served):
    at = open_app_page(served, "supervision", {"view": "callbacks"}, role="viewer")
    assert not [b for b in at.button if b.key == "cb_record"]
    assert "当前角色只能查看回访清单" in app_text(at)
