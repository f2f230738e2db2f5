"""The escalation rules page (pages/rules.py) on the tiny fixture at 2024-07-01 12:00 (tests/test_escalation.py's
table): the shipped rules, a preview that writes nothing, the admin's switches and new rule, and refusals."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from data_access.core.db import get_engine
from data_access.core.schema import escalation_rules, supervisions
from tests.conftest import open_app_page, serve_fixture

NOW = datetime(2024, 7, 1, 12, 0)


@pytest.fixture
def url(tmp_path, monkeypatch):
    return serve_fixture("sqlite", tmp_path, monkeypatch, "tiny", NOW)


def _count(url, table, *where):
    with get_engine(url).connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def _texts(at) -> str:
    return " ".join(str(x.value) for x in [*at.caption, *at.info, *at.markdown])


def test_a_leader_sees_the_shipped_rules_and_previews_one(url):
    at = open_app_page(url, "rules", role="leader")
    rules = at.dataframe[0].value
    assert list(rules["name"]) == ["受理超时 黄牌", "处置超时 黄牌", "逾期 黄牌", "逾期一天 红牌"]
    assert set(rules["enabled"]) == {"—"}
    assert "现在执行不会发出督办" in _texts(at)       # nothing enabled: no order
    assert "规则由管理员设置与启停" in _texts(at) and not at.get("form")
    at.multiselect(key="rules_preview").set_value([3]).run()   # 逾期 黄牌: open past the due time
    assert "将对本区域 5 件次案件发出督办" in _texts(at)
    assert sorted(at.dataframe[1].value["case_no"].str.removeprefix("cases?case=")) == [
        "LD20240601000007", "LD20240610000008", "LD20240615000009", "LD20240620000010", "LD20240628000011"]
    assert _count(url, supervisions, supervisions.c.rule_id.is_not(None)) == 0   # a preview writes nothing


def test_the_sidebar_region_narrows_the_preview(url):
    at = open_app_page(url, "rules", {"region": "431322"}, role="leader")
    at.multiselect(key="rules_preview").set_value([3]).run()
    assert "将对本区域 1 件次案件发出督办" in _texts(at)   # 新化县: …11 only (…12 is not past due)


def test_an_admin_switches_a_rule_on_and_adds_one(url):
    at = open_app_page(url, "rules", role="admin")
    at.toggle(key="rules_on_4").set_value(True)
    form_buttons = [b for b in at.button if b.label == "保存启停"]
    form_buttons[0].click().run()
    assert not at.exception and _count(url, escalation_rules, escalation_rules.c.enabled.is_(True)) == 1
    assert "将对本区域 5 件次案件发出督办" in _texts(at)   # 逾期一天 红牌: 651, 483, 267, 195, 40 h past ≥ 24
    at.text_input(key="rules_name").set_value("反馈超时")
    at.selectbox(key="rules_step").set_value("feedback")
    [b for b in at.button if b.label == "保存规则"][0].click().run()
    assert _count(url, escalation_rules) == 5
    assert "反馈超时" in list(at.dataframe[0].value["name"])


def test_an_admins_bad_rule_is_refused_with_its_reason(url):
    at = open_app_page(url, "rules", role="admin")
    at.text_input(key="rules_name").set_value("   ")
    [b for b in at.button if b.label == "保存规则"][0].click().run()
    assert any("未保存：请填写规则名称" in e.value for e in at.error)
    assert _count(url, escalation_rules) == 4


def test_an_admin_adds_an_upgrade_rule_and_the_page_shows_its_moves(url):
    from data_access.writes import escalation

    at = open_app_page(url, "rules", role="admin")
    at.text_input(key="rules_name").set_value("逾期升级")
    at.selectbox(key="rules_step").set_value("case")
    at.selectbox(key="rules_grade").set_value("upgrade")
    at.selectbox(key="rules_measure").set_value("hours_past")
    at.number_input(key="rules_threshold").set_value(300.0)
    at.checkbox(key="rules_enable").check()
    [b for b in at.button if b.label == "保存规则"][0].click().run()
    assert not at.exception
    rules = at.dataframe[0].value
    assert rules.loc[rules["name"] == "逾期升级", "grade"].tolist() == ["升级（上移一级）"]
    assert "将对本区域 2 件次案件发出督办或升级" in _texts(at)    # 651 and 483 h past due
    preview = at.dataframe[1].value
    assert preview[["from_level", "to_level"]].values.tolist() == [["网格", "村（社区）"], ["网格", "村（社区）"]]
    assert escalation.escalate(get_engine(url), NOW).upgraded == ["LD20240601000007", "LD20240610000008"]
    import streamlit as st

    st.cache_data.clear()   # what the refresh interval's expiry does after a pass run by the timer
    at = open_app_page(url, "rules", role="admin")
    assert [m.value for m in at.metric if m.label == "规则已升级"] == ["2"]
    assert "现在执行不会发出督办" in _texts(at)
