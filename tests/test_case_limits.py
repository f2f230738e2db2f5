"""Issue 20, defect 7: the case panel stated the category's calendar limit ("时限 72 小时") and cut it into the step
limits, though the case's due time follows a working-day rule or a platform's extension; a step then turned red
on a case that was on time.  The stated limit and each step's limit follow the case's own allowed time
(due_at − reported_at, derived.allowed_hours), as the supervision centre's step table already did.  On
tests/fixtures/time_limits (README.md there: B is 72 h, t4's platform extended it to 240 h, 3 working days
from 09-30 10:00 end 10-11 23:59:59)."""
from __future__ import annotations

from datetime import datetime

import pytest

from data_access.core import time_limits as tl
from data_access.queries import cases as C
from tests.conftest import load_fixture, open_app_page, serve_fixture

NOW = datetime(2025, 10, 8, 12, 0)


@pytest.fixture(params=["sqlite", "pg"])
def engine(request, tmp_path):
    eng = load_fixture(request.param, tmp_path, "time_limits")
    yield eng
    eng.dispose()


def test_step_limits_are_shares_of_the_case_allowed_time(engine):
    # t4 (B, 72 h) was extended by its platform to 240 h and closed 168 h early: no step is over its share
    t4 = C.case_detail(engine, "t4", None, now=NOW)
    assert (t4.allowed_hours, t4.category_hours, t4.working_days) == (240.0, 72.0, None)
    steps = t4.steps.set_index("step")
    assert list(steps["limit_hours"]) == pytest.approx([24, 24, 120, 48, 24])  # 10/10/50/20/10 % of 240
    assert list(steps["hours"]) == [1, 1, 46, 10, 14]
    assert not steps["over"].any()  # 46 h of handling was "over" against 50 % of 72 h

    tl.set_rule(engine, "B", working_days=3)
    t1 = C.case_detail(engine, "t1", None, now=NOW)
    allowed = (datetime(2025, 10, 11, 23, 59, 59) - datetime(2025, 9, 30, 10)).total_seconds() / 3600
    assert t1.working_days == 3 and t1.allowed_hours == pytest.approx(allowed)  # 277.9997 h, not 72
    assert t1.steps["limit_hours"].sum() == pytest.approx(allowed)
    assert t1.steps.set_index("step").loc["handle", "limit_hours"] == pytest.approx(allowed / 2)
    a = C.case_detail(engine, "t3", None, now=NOW)  # category A, no rule, the dataset's due time: 24 h
    assert (a.allowed_hours, a.category_hours, a.working_days) == (24.0, 24.0, None)


@pytest.mark.parametrize("case_no, rule, stated", [
    ("t1", 3, "3 个工作日（本案 278 小时）"),
    ("t4", None, "240 小时（类别时限 72 小时，已延期）"),
    ("t3", None, "24 小时"),
])
def test_the_panel_states_the_case_limit(tmp_path, monkeypatch, case_no, rule, stated):
    url = serve_fixture("sqlite", tmp_path, monkeypatch, "time_limits", NOW)
    if rule:
        from data_access.core.db import get_engine

        tl.set_rule(get_engine(url), "B", working_days=rule)
    at = open_app_page(url, "cases", {"case": case_no, "period": "all"}, role="staff")
    facts = next(d.value for d in at.dataframe if "field" in d.value.columns)
    assert facts.set_index("field").loc["允许用时", "value"] == stated  # a row of its own, below 办理时限
