"""Issue 20, defect 6: the sidebar's period hid a case searched by its number, and the list sorted by "most
overdue first" showed 56 days while the backlog's oldest open case was 963 days overdue (the period hid it,
silently).  A search by case number finds the case whatever the period; the list says how many open cases the
period hides and widens the period on request.  On the hand-computed fixture (tests/fixtures/metrics/README.md,
now = 2026-03-20 12:00)."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from data_access.core.filters import CaseFilter
from data_access.core.search import looks_like_case_no
from data_access.queries import cases
from tests.test_url_changes import open_session, warm_server  # noqa: F401  (app.py's frame on every run)
from tests.test_workbench_app import found, listed, url, workbench  # noqa: F401  (url: the app's fixture)

NOW = datetime(2026, 3, 20, 12)


@pytest.mark.parametrize("text, expected", [
    ("LD20240105000001", True), ("ld2024010500", True), (" LD20240105 ", True), ("20240105", True),
    ("LD2024", False), ("纠纷", False), ("c01", False), ("LD20240105 纠纷", False), ("", False),
])
def test_what_looks_like_a_case_number(text, expected):
    assert looks_like_case_no(text) is expected


def test_case_number_search_and_the_hidden_open_cases(metrics_engine):
    e = metrics_engine
    march = CaseFilter(date_from=date(2026, 3, 15), date_to=date(2026, 3, 20))
    assert cases.case_no_search(e, march.with_(text="c01"))  # an exact number, reported on 01-05
    assert cases.case_no_search(e, march.with_(text="LD2024010500"))  # the shape of one
    assert not cases.case_no_search(e, march.with_(text="纠纷"))
    assert not cases.case_no_search(e, march.with_(text="c0"))  # part of a number is text
    # c06 lies in 西县 (120): not a case number for a user of 东县 (110), nothing said about it
    assert not cases.case_no_search(e, march.with_(scope_code="110", text="c06"))
    assert cases.case_no_search(e, march.with_(scope_code="120", text="c06"))

    # open cases reported before 03-15: c06 (03-01 08:00) and c08 (03-10); c07 (03-19) is inside
    older = cases.older_open_cases(e, march, NOW)
    assert (older.count, older.oldest) == (2, datetime(2026, 3, 1, 8))
    assert cases.older_open_cases(e, march.with_(categories=("B",)), NOW).count == 0  # c06, c08 are A
    assert cases.older_open_cases(e, march.with_(text="漏水"), NOW).count == 1  # c08 only
    assert cases.older_open_cases(e, march.with_(region_code="110"), NOW).count == 1  # c08 (G2)
    assert cases.older_open_cases(e, march.with_(date_from=None), NOW).count == 0  # all time hides nothing


def test_a_case_number_is_found_outside_the_period(url):  # noqa: F811
    at = workbench({"period": "last30", "q": "c01"})  # c01 was reported on 01-05, the period starts 02-19
    assert found(at) == "1" and listed(at) == ["c01"]
    assert any("按案件编号查找" in c.value for c in at.caption)
    text = workbench({"period": "last30", "q": "纠纷"})  # text is searched in the period: c05 (02-15) is out
    assert found(text) == "1" and listed(text) == ["c08"]


def test_the_list_says_what_the_period_hides_and_widens_it(url, warm_server):  # noqa: F811
    at = open_session(url, "cases", {"period": "custom", "from": "2026-03-15", "to": "2026-03-20", "sort": "overdue_desc"})
    assert found(at) == "1" and listed(at) == ["c07"]
    note = [w.value for w in at.warning if "未办结" in w.value]
    assert note and "还有 2 件" in note[0] and "2026-03-01" in note[0], note
    next(b for b in at.button if b.label == "时段改为全部").click().run()
    assert not at.exception
    assert at.selectbox(key="period").value == "all" and at.query_params["period"] == "all"
    assert found(at) == "10" and listed(at)[:2] == ["c06", "c08"]  # the oldest overdue first now
    assert not [w for w in at.warning if "未办结" in w.value]
