"""AppTest runs of the case workbench on the hand-computed fixture: filters and their URL round trip,
hostile parameters, opening a case, issuing and resolving a supervision order from the page."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from tests.conftest import FIXTURES, ROOT, sign_in

FOUND = "符合条件的案件"


@pytest.fixture(params=["sqlite", "pg"])
def url(request, tmp_path, monkeypatch) -> str:
    """The hand-computed fixture on each backend, as the app's database."""
    from data_access.ingest.loader import load_dataset
    from tests.conftest import fresh_engine

    engine = fresh_engine(request.param, tmp_path)
    load_dataset(FIXTURES / "metrics", engine)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    if request.param == "pg":
        from data_access.core.db import get_engine

        get_engine.cache_clear()  # the schema was dropped and made again: no pooled connection of before
        st_cache_clear()
    monkeypatch.setenv("GOV_DB_URL", url)
    monkeypatch.setenv("GOV_AUTO_DEMO", "0")
    monkeypatch.setenv("GOV_NOW", "2026-03-20T12:00:00")  # the fixture's "now" (its README)
    return url


def st_cache_clear() -> None:
    import streamlit as st

    st.cache_data.clear()


def workbench(query: dict[str, str] | None = None, role: str = "leader", scope: str | None = None) -> AppTest:
    import os

    at = sign_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), os.environ["GOV_DB_URL"], role, scope)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/cases.py").run()
    assert not at.exception, at.exception
    return at


def found(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == FOUND)


def listed(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["case_no"]) if at.dataframe else []


def test_filters_narrow_the_list_and_go_into_the_url(url):
    at = workbench()
    assert found(at) == "10"
    assert listed(at)[:3] == ["c07", "c08", "c09"]  # newest first
    at.text_input(key="wb_q").input("纠纷").run()
    assert found(at) == "4"
    at.multiselect(key="wb_status").select("closed").run()
    assert found(at) == "3" and sorted(listed(at)) == ["c02", "c05", "c10"]
    at.selectbox(key="wb_overdue").set_value("late").run()
    assert found(at) == "1" and listed(at) == ["c02"]  # closed late
    assert (at.query_params["q"], at.query_params["status"], at.query_params["overdue"]) == ("纠纷", "closed", "late")
    assert at.query_params["region"] == "100"  # the frame's choices are in the link too (ui/frame.keep_in_url)

    # the same link in a new session gives the same view
    again = workbench(dict(at.query_params))
    assert found(again) == "1" and listed(again) == ["c02"]
    assert again.text_input(key="wb_q").value == "纠纷"
    assert again.multiselect(key="wb_status").value == ["closed"]
    assert again.selectbox(key="wb_overdue").value == "late"

    clear = next(b for b in at.button if b.label == "清除筛选")
    clear.click().run()
    assert found(at) == "10" and "q" not in at.query_params


def test_overdue_choice_offers_open_overdue_first(url):
    """仅超期 mixed in cases closed late (issue 20): the choice's first option is the open backlog."""
    at = workbench({"sort": "overdue_desc"})
    box = at.selectbox(key="wb_overdue")
    assert box.options[:2] == ["全部", "未办结且已超期"]
    box.set_value("open").run()
    assert found(at) == "2" and listed(at) == ["c06", "c08"]  # c02 was closed late: not in the backlog
    at.selectbox(key="wb_overdue").set_value("any").run()
    assert found(at) == "3" and listed(at) == ["c06", "c08", "c02"]
    assert at.query_params["overdue"] == "any"


def test_a_link_from_before_the_overdue_choice_keeps_its_meaning(url):
    at = workbench({"overdue": "1"})
    assert at.selectbox(key="wb_overdue").value == "any" and found(at) == "3"
    assert not at.toast  # not dropped as a bad parameter


def test_order_card_counts_the_filtered_cases_orders(url):
    """The 督办 card counted the region's open orders whatever the filter (17/41 with 0 matching cases)."""
    card = "督办 红牌/黄牌"
    at = workbench()
    assert next(m.value for m in at.metric if m.label == card) == "0 / 1"  # SV1, yellow, on c08
    at.multiselect(key="wb_status").select("closed").run()
    assert found(at) == "7"
    assert next(m.value for m in at.metric if m.label == card) == "0 / 0"
    at.session_state["wb_tab"] = "督办单"
    at.run()
    assert any(m.label == "黄牌督办" and m.value == "1" for m in at.metric)  # the tab lists the whole place


def test_rarer_filters_sit_in_a_popover_that_counts_them(url):
    at = workbench()
    assert at.multiselect(key="wb_src").value == []
    at.multiselect(key="wb_src").select("hotline").run()
    at.toggle(key="wb_sup").set_value(True).run()
    assert found(at) == "1" and listed(at) == ["c08"]
    assert [p.proto.popover.label for p in at.get("popover")] == ["更多筛选 · 2"]


def test_sort_and_pager(url):
    at = workbench({"sort": "overdue_desc"})
    assert listed(at)[:3] == ["c06", "c08", "c02"]
    at.segmented_control(key="wb_sort").set_value("due_asc").run()
    assert listed(at)[:2] == ["c10", "c01"]
    assert any("第 1 / 1 页" in m.value for m in at.markdown)


@pytest.mark.parametrize("query, notice", [
    ({"cat": "nope,A"}, "cat"),
    ({"sort": "'; drop table cases; --"}, "sort"),
    ({"overdue": "yes"}, "overdue"),
    ({"sat": "9"}, "sat"),
    ({"status": "closed,<script>"}, "status"),
])
def test_bad_parameters_are_dropped_with_a_notice(url, query, notice):
    at = workbench(query)
    assert not at.error
    assert any(notice in toast.value for toast in at.toast)
    assert int(found(at)) > 0


@pytest.mark.parametrize("q, expected", [
    ("'; drop table cases; --", "0"),
    ("<script>alert(1)</script>", "0"),
    ("100%", "0"),
    ("_", "0"),
    ("漏水", "1"),
])
def test_hostile_search_strings_are_searched_for_literally(url, q, expected):
    at = workbench({"q": q})
    assert not at.error
    assert found(at) == expected
    assert not any("<script>" in m.value for m in at.markdown)  # never rendered as markup


def test_open_a_case_issue_and_resolve_an_order(url, monkeypatch):
    from data_access.core.db import make_engine
    from data_access.core.schema import supervisions

    at = workbench({"case": "c06"}, role="staff")  # a link straight to a case
    assert any("c06 · 楼道堆物" in s.value for s in at.subheader)
    at.text_area(key="order_note_c06").input("请两日内办结")  # form values go with the submit
    next(b for b in at.button if b.label == "发出督办").click().run()
    assert not at.error, [e.value for e in at.error]
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(supervisions.c.grade, supervisions.c.issued_by_name, supervisions.c.note)
                            .where(supervisions.c.case_no == "c06")).all()
    assert rows == [("normal", "测试员", "请两日内办结")]
    assert "普通督办" in list(at.dataframe[0].value["supervision_grade"])  # the list shows it at once
    resolve = next(b for b in at.button if b.label == "标记办结")
    resolve.click().run()
    with engine.connect() as conn:
        open_left = conn.execute(select(func.count()).select_from(supervisions)
                                 .where(supervisions.c.case_no == "c06", supervisions.c.resolved_at.is_(None))
                                 ).scalar_one()
    assert open_left == 0
    assert any("已标记办结" in s.value for s in at.success)


def test_the_case_opens_over_the_list_and_closes(url):
    at = workbench({"case": "c06"}, role="staff")
    assert any("c06 · 楼道堆物" in s.value for s in at.subheader)
    next(b for b in at.button if b.label == "关闭").click().run()
    assert not any("c06" in s.value for s in at.subheader)
    assert "case" not in at.query_params
    at.run()  # and it stays closed
    assert not any("c06" in s.value for s in at.subheader)


def test_refused_order_writes_nothing_and_says_why(url, monkeypatch):
    at = workbench({"case": "c06"}, role="staff")
    next(b for b in at.button if b.label == "发出督办").click().run()  # empty note
    assert any("请填写督办意见" in e.value for e in at.error)


def test_viewer_sees_masked_reporter_and_no_order_form(url, monkeypatch):
    at = workbench({"case": "c01"}, role="viewer")
    facts = at.dataframe[1].value  # the case's fields
    reporter = facts.iloc[:, 1].tolist()[-1]
    assert reporter == "张* · 139****1234"
    assert not any(b.label == "发出督办" for b in at.button)
    assert any("脱敏" in c.value for c in at.caption)


def test_orders_tab_lists_open_orders(url):
    at = workbench()
    at.session_state["wb_tab"] = "督办单"
    at.run()
    assert any(m.label == "黄牌督办" and m.value == "1" for m in at.metric)
    orders = at.dataframe[0].value
    assert list(orders["case_no"]) == ["c08"]


def test_export_buttons_prepare_a_download(url):
    at = workbench({"q": "纠纷"})
    next(b for b in at.button if b.label == "导出 CSV").click().run()
    assert not at.exception and not at.error
    ready = at.session_state["wb_export_file"]
    assert ready["rows"] == 4 and ready["name"].endswith(".csv") and ready["kind"] == "csv"
    with open(ready["path"], encoding="utf-8-sig") as fh:
        lines = fh.read().splitlines()
    assert lines[0].startswith("案件编号,标题,类别") and len(lines) == 5
    assert any(d.proto.label.startswith("下载") for d in at.get("download_button"))


def test_empty_database_shows_how_to_load_data(tmp_path, monkeypatch):
    monkeypatch.setenv("GOV_DB_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("GOV_AUTO_DEMO", "0")
    at = workbench({"q": "纠纷", "cat": "nope"})
    assert not at.error and not at.dataframe
    assert any("python -m data_access load" in i.value for i in at.info)


def test_the_sort_key_column_comes_first():
    """At 1366 px the overdue column was off to the right: the sort's own key leads, then the case."""
    from ui.case_list import list_columns

    def first(sort):
        return [c[0] for c in list_columns({}, sort)][:3]

    assert first("overdue_desc") == ["overdue_days", "case_no", "title"]
    assert first("due_asc") == ["due_at", "case_no", "title"]
    assert first("reported_desc") == ["case_no", "title", "status"]
    assert sorted(c[0] for c in list_columns({}, "overdue_desc")) == sorted(c[0] for c in list_columns({}))
