"""AppTest runs of the case workbench on the hand-computed fixture: filters and their URL round trip,
hostile parameters, opening a case, issuing and resolving a supervision order from the page."""
from __future__ import annotations

from datetime import date, datetime, time

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
    assert at.text_area(key="order_note_c06").value in ("", None)  # written: the form starts afresh
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


def _orders_of(url: str, case_no: str) -> list[tuple]:
    from data_access.core.db import make_engine
    from data_access.core.schema import supervisions

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(supervisions.c.grade, supervisions.c.deadline)
                                .where(supervisions.c.case_no == case_no)).all()
    finally:
        engine.dispose()


@pytest.mark.parametrize("day, message", [
    (date(2026, 3, 10), "办结期限 2026-03-10 18:00 已过"),  # issue 20, defect 1: was saved as the default
    (date(2026, 3, 20), "办结期限 2026-03-20 18:00"),  # today, but later than now: accepted (see below)
    (date(2028, 3, 20), "办结期限 2028-03-20 18:00 超过一年"),  # a mistyped year
])
def test_a_typed_deadline_is_kept_or_refused_never_replaced(url, day, message):
    """The form's date goes to the write as typed: a past or far-off day is refused with the app's own message
    (not Streamlit's English range error) and nothing is written; it is never swapped for the default."""
    at = workbench({"case": "c06"}, role="staff")
    at.date_input(key="order_day_c06").set_value(day)
    at.text_area(key="order_note_c06").input("请办理")
    next(b for b in at.button if b.label == "发出督办").click().run()
    assert not at.exception
    if day == date(2026, 3, 20):  # GOV_NOW is 12:00 that day; 18:00 is still ahead
        assert not at.error, [e.value for e in at.error]
        assert _orders_of(url, "c06") == [("normal", datetime(2026, 3, 20, 18, 0))]
        return
    assert any(message in e.value and "未写入任何数据" in e.value for e in at.error), [e.value for e in at.error]
    assert _orders_of(url, "c06") == []
    assert not at.toast
    # what was typed stays, to be corrected (the form is cleared only once an order is written)
    assert (at.date_input(key="order_day_c06").value, at.text_area(key="order_note_c06").value) == (day, "请办理")


def test_the_default_deadline_is_a_working_hour_not_the_clock(url):
    """Default: 18:00 of the second working day after today (GOV_NOW is Friday 2026-03-20 12:00 → Tuesday 03-24),
    not now + 48 h at whatever minute the form was opened."""
    at = workbench({"case": "c06"}, role="staff")
    assert at.date_input(key="order_day_c06").value == date(2026, 3, 24)
    assert at.time_input(key="order_time_c06").value == time(18, 0)
    at.text_area(key="order_note_c06").input("请办理")
    next(b for b in at.button if b.label == "发出督办").click().run()
    assert _orders_of(url, "c06") == [("normal", datetime(2026, 3, 24, 18, 0))]


def _log_entry(url: str, seq: int, note: str) -> None:
    """A supervise entry on c06 as an earlier version of the app (``[red] …``) or the source (``红牌督办：…``) wrote it."""
    from data_access.core.contract import APP_SEQ_BASE
    from data_access.core.db import make_engine
    from data_access.core.schema import case_events

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(case_events.insert().values(case_no="c06", seq=APP_SEQ_BASE + seq, at=datetime(2026, 3, 2 + seq),
                                                 action="supervise", actor="旧版", note=note))
    engine.dispose()


@pytest.mark.parametrize("lang, expected", [
    ("zh", ["红牌督办：限期办结", "黄牌督办：请主要负责人过问", "普通督办：请两日内办结", "普通督办：新下的督办"]),
    ("en", ["Red card: 限期办结", "Yellow card: 请主要负责人过问", "Normal: 请两日内办结", "Normal: 新下的督办"]),
])
def test_the_case_log_shows_an_orders_grade_in_the_sessions_language(url, lang, expected):
    """Issue 20, defect 2: the app's entries read "[red] …" where the source's read "红牌督办：…". Both, and the
    rows already in a database, show the grade in the session's language; a new order is written as the source's."""
    _log_entry(url, 0, "[red] 限期办结")
    _log_entry(url, 1, "黄牌督办：请主要负责人过问")
    _log_entry(url, 2, "[normal] 请两日内办结")
    at = workbench({"case": "c06"}, role="staff")
    at.text_area(key="order_note_c06").input("新下的督办")
    next(b for b in at.button if b.label == "发出督办").click().run()
    if lang == "en":
        at.session_state["lang"] = "en"
        at.run()
    log = next(df.value for df in at.dataframe if "hours_since_previous" in df.value.columns)
    notes = list(log.loc[log["seq"] >= 1_000_000, "note"])  # the entries added above
    assert notes == expected
    assert not any("[red]" in str(n) or "[normal]" in str(n) for n in log["note"])


@pytest.mark.parametrize("lang, expected", [("zh", "督办已办结：DB1"), ("en", "Supervision order resolved: DB1")])
def test_the_case_log_shows_a_resolved_order_in_the_sessions_language(url, lang, expected):
    """The entry the app writes when an order is resolved ("督办已办结 / supervision resolved: DB1", both languages
    at once) reads in the session's language."""
    from data_access.core.contract import APP_SEQ_BASE
    from data_access.core.db import make_engine
    from data_access.core.schema import case_events

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(case_events.insert().values(case_no="c06", seq=APP_SEQ_BASE, at=datetime(2026, 3, 3),
                                                 action="note", actor="王五", note="督办已办结 / supervision resolved: DB1"))
    engine.dispose()
    at = workbench({"case": "c06"}, role="staff")
    if lang == "en":
        at.session_state["lang"] = "en"
        at.run()
    log = next(df.value for df in at.dataframe if "hours_since_previous" in df.value.columns)
    assert list(log.loc[log["seq"] == APP_SEQ_BASE, "note"]) == [expected]


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


def test_the_export_is_the_list_in_its_sort_with_overdue_in_days(url):
    """Issue 20, defect 5: the screen sorted by most overdue, the file newest first and in hours."""
    import csv

    at = workbench({"sort": "overdue_desc"})
    on_screen = listed(at)
    assert on_screen[:3] == ["c06", "c08", "c02"]
    next(b for b in at.button if b.label == "导出 CSV").click().run()
    with open(at.session_state["wb_export_file"]["path"], encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["案件编号"] for r in rows] == on_screen
    shown = at.dataframe[0].value.set_index("case_no")["overdue_days"]
    assert [r["超期（天）"] for r in rows[:3]] == [f"{shown[c]:.1f}" for c in on_screen[:3]] == ["18.2", "9.1", "0.1"]
    # another sort: the prepared file no longer matches the list, so it is dropped and made again
    at.segmented_control(key="wb_sort").set_value("due_asc").run()
    assert "wb_export_file" not in at.session_state
    next(b for b in at.button if b.label == "导出 CSV").click().run()
    with open(at.session_state["wb_export_file"]["path"], encoding="utf-8-sig", newline="") as fh:
        assert [r["案件编号"] for r in csv.DictReader(fh)] == listed(at)


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
