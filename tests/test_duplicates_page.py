"""AppTest of the supervision centre's repeat-case view (ui/supervision/duplicates.py) and the case panel's links
on the duplicates fixture (tests/fixtures/duplicates/README.md, now = 2026-03-20 12:00): the proposed groups
side by side, confirm / reject / undo through the buttons (scoped, audited), the counts that count a matter once,
the chronic lists with phones masked by role, and a confirmed duplicate's link on both case panels."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from data_access.core.duplicates import detect_duplicates, store_proposals
from data_access.core.schema import duplicate_groups
from tests.conftest import app_metric, app_rerun, app_text, open_app_page, serve_fixture

NOW = datetime(2026, 3, 20, 12, 0)


@pytest.fixture(params=["sqlite", "pg"])
def served(request, tmp_path, monkeypatch):
    from data_access.core.db import get_engine

    url = serve_fixture(request.param, tmp_path, monkeypatch, "duplicates", NOW)
    engine = get_engine(url)
    store_proposals(engine, detect_duplicates(engine), now=NOW)
    return url


def _states(url):
    from data_access.core.db import get_engine

    with get_engine(url).connect() as conn:
        return sorted(conn.execute(select(duplicate_groups.c.primary_case_no, duplicate_groups.c.state)).all())


def _note(url, primary):
    from data_access.core.db import get_engine

    with get_engine(url).connect() as conn:
        return conn.execute(select(duplicate_groups.c.note)
                            .where(duplicate_groups.c.primary_case_no == primary)).scalar_one()


def test_staff_confirm_and_undo_a_group(served):
    at = open_app_page(served, "supervision", {"view": "duplicates"}, role="staff")
    assert at.segmented_control(key="sc_view").value == "duplicates"
    assert (app_metric(at, "待确认重复组"), app_metric(at, "已确认事项"), app_metric(at, "已确认重复件")) == ("2", "0", "0")
    pick = at.selectbox(key="dup_pick")
    assert pick.options[0].startswith("1.00 · p1 ⇄ p2") and "同一来电" in pick.options[0]
    assert [o.split(" · ")[1] for o in pick.options] == ["p1 ⇄ p2", "d1 ⇄ d2", "d1 ⇄ d3"]
    text = app_text(at)
    assert "13900000001" in text  # staff see personal data
    pick.select_index(1)  # d1 ⇄ d2, side by side
    app_rerun(at)
    text = app_text(at)
    assert "首报案件** · d1" in text and "疑似重复件** · d2" in text and "污水外溢，气味很大" in text
    assert "组：3 件（d1, d2, d3），组相似度 0.85" in text
    assert "网格 丙村1栋1单元 · 网上 · 上报 · 上报 2026-03-02 10:00" in text
    note = next(x for x in at.text_input if (x.key or "").startswith("dup_note_"))
    assert note.label == "说明（可选）"
    note.set_value("同一下水道")
    at.button(key="dup_confirm").click()
    app_rerun(at)
    assert "已确认为重复件" in app_text(at)
    assert _states(served) == [("d1", "confirmed"), ("p1", "proposed")]
    assert _note(served, "d1") == "同一下水道"
    assert (app_metric(at, "待确认重复组"), app_metric(at, "已确认事项"), app_metric(at, "已确认重复件")) == ("1", "1", "2")
    assert "已确认组内 3 件计为 1 个事项（2 件重复件只计一次）" in app_text(at)
    at.button(key="dup_undo_confirmed").click()
    app_rerun(at)
    assert _states(served) == [("d1", "proposed"), ("p1", "proposed")]
    assert "已撤销决定" in app_text(at)


def test_a_viewer_sees_masked_phones_and_no_buttons(served):
    at = open_app_page(served, "supervision", {"view": "duplicates"}, role="viewer")
    assert not [b for b in at.button if b.key in ("dup_confirm", "dup_reject")]
    text = app_text(at)
    assert "13900000001" not in text and r"电话 139\*\*\*\*0001" in text  # Markdown-escaped by fmt.plain
    assert "当前角色只能查看" in text
    reporters = at.dataframe[-2].value  # frequent callers, beside the matters reported again
    assert list(reporters["phone"]) == ["139****0001"] and list(reporters["cases"]) == [3]


def test_a_county_sees_its_own_groups_only(served):
    at = open_app_page(served, "supervision", {"view": "duplicates"}, role="staff", scope="110")
    assert app_metric(at, "待确认重复组") == "1"
    assert [o.split(" · ")[1] for o in at.selectbox(key="dup_pick").options] == ["p1 ⇄ p2"]
    at.button(key="dup_reject").click()
    app_rerun(at)
    assert _states(served) == [("d1", "proposed"), ("p1", "rejected")]


def test_the_case_panel_links_a_duplicate_and_its_primary(served):
    from data_access.core.access import User
    from data_access.core.db import get_engine
    from data_access.writes.duplicates import confirm_group

    engine = get_engine(served)
    with engine.connect() as conn:
        gid = conn.execute(select(duplicate_groups.c.group_id)
                           .where(duplicate_groups.c.primary_case_no == "d1")).scalar_one()
    confirm_group(engine, User("办事员", "staff", None, "staff"), gid, now=NOW)
    at = open_app_page(served, "cases", {"case": "d2"}, role="leader")
    assert "本件已确认为 d1 的重复件" in app_text(at)
    assert at.button(key="dup_open_d1").label == "d1"
    at = open_app_page(served, "cases", {"case": "d1"}, role="leader")
    assert "已确认为本件重复件的案件 2 件" in app_text(at)
    assert {b.key for b in at.button if (b.key or "").startswith("dup_open_")} == {"dup_open_d2", "dup_open_d3"}
    at = open_app_page(served, "cases", {"case": "p2"}, role="leader")
    assert "重复件" not in app_text(at)
