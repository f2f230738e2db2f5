"""The case workbench's questions on the hand-computable fixture (tests/fixtures/metrics/README.md):
exact filter counts, the four sorts, keyset paging, one case in full, and supervision orders —
on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from data_access.queries import cases as C
from data_access.writes import orders as S
from data_access.core.access import User, mask_name, mask_phone
from data_access.core.contract import APP_SEQ_BASE
from data_access.core.filters import CaseFilter
from data_access.core.schema import case_events, supervisions
from data_access.writes.workflow import WriteRefused
from tests.conftest import FIXTURES

NOW = datetime(2026, 3, 20, 12, 0)
ALL = CaseFilter()
STAFF = User("王督办", role="staff", scope_code="100")


def ids(engine, f: CaseFilter, sort: str = "reported_desc") -> list[str]:
    return list(C.case_page(engine, f, sort=sort, now=NOW, page_size=100).rows["case_no"])


@pytest.mark.parametrize("f, expected", [
    (ALL, 10),
    (CaseFilter(region_code="110"), 7),
    (CaseFilter(region_code="G3"), 3),  # a grid includes its micro-grid (c05, c06, c09)
    (CaseFilter(region_code="G3-01"), 1),
    (CaseFilter(categories=("A",)), 6),
    (CaseFilter(region_code="120", statuses=("closed",)), 2),
    (CaseFilter(overdue="any"), 3),  # open overdue c06, c08; closed late c02
    (CaseFilter(overdue="open"), 2),  # c06, c08 (c07 is open but due in 48 h)
    (CaseFilter(overdue="late"), 1),  # c02, closed 2 h after its due time
    (CaseFilter(supervised_only=True), 1),
    (CaseFilter(satisfaction=(5,)), 1),
    (CaseFilter(satisfaction=(3, 4)), 2),
    (CaseFilter(sources=("hotline",)), 2),
    (CaseFilter(departments=("D1",)), 3),
    (CaseFilter(resolution_levels=("grid",)), 3),
    (CaseFilter(text="纠纷"), 4),
    (CaseFilter(text="现场"), 1),  # description of c01
    (CaseFilter(text="C0"), 9),  # case numbers, case-insensitive; c10 does not contain "c0"
    (CaseFilter(text="纠\x00纷"), 4),  # a NUL (never in stored text) is dropped, not sent to the database
    (CaseFilter(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31)), 4),
    (CaseFilter(region_code="110", categories=("A",), date_from=date(2026, 1, 1), date_to=date(2026, 1, 31)), 2),
    (CaseFilter(region_code="110", overdue="any", sources=("hotline",)), 2),  # c02, c08
    (CaseFilter(region_code="120", supervised_only=True), 0),
])
def test_filter_counts(metrics_engine, f, expected):
    page = C.case_page(metrics_engine, f, now=NOW)
    assert page.total == expected
    assert len(page.rows) == expected


def test_sorts(metrics_engine):
    assert ids(metrics_engine, ALL) == ["c07", "c08", "c09", "c06", "c05", "c04", "c03", "c02", "c01", "c10"]
    assert ids(metrics_engine, ALL, "reported_asc") == ["c10", "c01", "c02", "c03", "c04", "c05", "c06", "c09",
                                                         "c08", "c07"]
    assert ids(metrics_engine, ALL, "due_asc") == ["c10", "c01", "c02", "c03", "c04", "c05", "c06", "c09", "c08",
                                                    "c07"]
    # overdue by: c06 +436 h, c08 +219 h (open); c02 +2 h; then the early ones; c07 is due in 48 h
    assert ids(metrics_engine, ALL, "overdue_desc") == ["c06", "c08", "c02", "c10", "c05", "c01", "c04", "c09",
                                                         "c03", "c07"]
    # each overdue choice keeps only its own arms of the merged sort
    assert ids(metrics_engine, CaseFilter(overdue="open"), "overdue_desc") == ["c06", "c08"]
    assert ids(metrics_engine, CaseFilter(overdue="late"), "overdue_desc") == ["c02"]
    assert ids(metrics_engine, CaseFilter(overdue="any"), "overdue_desc") == ["c06", "c08", "c02"]
    # the period's start bounds the due-time walk without changing the answer
    march = CaseFilter(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
    assert ids(metrics_engine, march, "due_asc") == ["c06", "c09", "c08", "c07"]


def test_list_columns(metrics_engine):
    rows = C.case_page(metrics_engine, ALL, sort="overdue_desc", now=NOW).rows.set_index("case_no")
    assert list(rows.columns[: len(C.LIST_COLUMNS) - 1]) == C.LIST_COLUMNS[1:]
    assert rows.loc["c06", "overdue_hours"] == pytest.approx(436.0)
    assert rows.loc["c02", "overdue_hours"] == pytest.approx(2.0)
    assert rows.loc["c07", "overdue_hours"] == pytest.approx(-48.0)
    assert rows.loc["c06", "grid_name"] == "丙村第1网格 / 丙村1栋1单元"
    assert (rows.loc["c06", "village_name"], rows.loc["c06", "township_name"]) == ("丙村", "西镇")
    assert rows.loc["c08", "supervision_grade"] == "yellow"
    assert rows.loc["c03", "department_name"] == "东县司法局"


@pytest.mark.parametrize("walk_above", [20_000, 0])  # 0: read in the sort key's own index (large selections)
@pytest.mark.parametrize("sort", C.SORTS)
def test_keyset_paging_walks_the_same_order(metrics_engine, sort, walk_above, monkeypatch):
    full = ids(metrics_engine, ALL, sort)
    monkeypatch.setattr(C, "WALK_SORT_INDEX_ABOVE", walk_above)
    assert ids(metrics_engine, CaseFilter(date_from=date(2026, 1, 1)), sort) == [c for c in full if c != "c10"]
    page = C.case_page(metrics_engine, ALL, sort=sort, page_size=3, now=NOW)
    assert page.pages == 4 and page.prev is None
    walked = list(page.rows["case_no"])
    pages = [page]
    while page.next is not None:
        page = C.case_page(metrics_engine, ALL, sort=sort, page=page.next.page, cursor=page.next, page_size=3,
                           now=NOW)
        walked += list(page.rows["case_no"])
        pages.append(page)
    assert walked == full
    # back again, page by page, and each page also reached directly (offset from the nearer end)
    while page.prev is not None:
        back = C.case_page(metrics_engine, ALL, sort=sort, page=page.prev.page, cursor=page.prev, page_size=3,
                           now=NOW)
        assert list(back.rows["case_no"]) == list(pages[back.page - 1].rows["case_no"])
        page = back
    for p in pages:
        direct = C.case_page(metrics_engine, ALL, sort=sort, page=p.page, page_size=3, now=NOW)
        assert list(direct.rows["case_no"]) == list(p.rows["case_no"])
    assert C.case_page(metrics_engine, ALL, sort=sort, page=99, page_size=3, now=NOW).page == 4


def test_case_detail_steps_events_and_masking(metrics_engine):
    viewer = User("访客", role="viewer")
    d = C.case_detail(metrics_engine, "c02", viewer, now=NOW)
    assert d.fields["reporter_name"] == "李*"
    assert (d.allowed_hours, d.category_hours, d.working_days) == (24, 24, None)
    steps = d.steps.set_index("step")
    assert list(steps["hours"]) == [1, 1, 22, 1, 1]
    assert list(steps["limit_hours"]) == pytest.approx([2.4, 2.4, 12.0, 4.8, 2.4])
    assert list(steps["over"]) == [False, False, True, False, False]
    assert list(d.events["action"]) == ["report", "accept", "dispatch", "handle", "feedback", "close"]
    assert list(d.events["hours_since_previous"].fillna(-1)) == [-1, 1, 1, 22, 1, 1]
    assert d.fields["overdue_hours"] == pytest.approx(2.0)

    staff = C.case_detail(metrics_engine, "c01", STAFF, now=NOW)
    assert (staff.fields["reporter_name"], staff.fields["reporter_phone"]) == ("张三", "13900001234")
    leader = C.case_detail(metrics_engine, "c01", User("市领导", role="leader"), now=NOW)
    assert (leader.fields["reporter_name"], leader.fields["reporter_phone"]) == ("张*", "139****1234")
    # settled on the spot: reported → closed, the middle steps skipped
    assert list(staff.steps["state"]) == ["skipped", "skipped", "skipped", "skipped", "done"]

    waiting = C.case_detail(metrics_engine, "c08", STAFF, now=NOW).steps.set_index("step")
    assert waiting.loc["dispatch", "state"] == "waiting"
    assert waiting.loc["dispatch", "hours"] == pytest.approx(242.0)  # accepted 03-10 10:00 → now
    assert C.case_detail(metrics_engine, "c08", STAFF, now=NOW).supervisions["past_deadline"].tolist() == [True]


def test_case_detail_outside_scope_is_none(metrics_engine):
    assert C.case_detail(metrics_engine, "c08", STAFF, scope_code="120", now=NOW) is None
    assert C.case_detail(metrics_engine, "nope", STAFF, now=NOW) is None
    assert C.case_detail(metrics_engine, "c09", STAFF, scope_code="120", now=NOW) is not None


def test_masking_rules():
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("0738-8312345") == "073****2345"
    assert mask_phone("12345") == "*****"
    assert mask_name(None) is None and mask_phone("") == ""


def test_open_supervisions(metrics_engine):
    df = C.open_supervisions(metrics_engine, ALL, now=NOW)
    assert df["supervision_id"].tolist() == ["SV1"]
    assert df["hours_left"].iloc[0] == pytest.approx(-123.0)
    assert C.open_supervision_counts(metrics_engine, ALL, now=NOW) == {
        "normal": 0, "yellow": 1, "red": 0, "total": 1, "past_deadline": 1}
    assert C.open_supervision_counts(metrics_engine, CaseFilter(region_code="120"), now=NOW)["total"] == 0


def test_order_state():
    assert C.order_state(datetime(2026, 3, 18, 9, 0), True) == "resolved"  # a resolution time decides
    assert C.order_state(None, True) == "past"
    assert C.order_state(pd.NaT, False) == "open"


def test_case_detail_gives_each_order_its_state(metrics_engine):
    # SV1 on c08: yellow, deadline 03-15 09:00, not resolved by now (03-20 12:00)
    assert C.case_detail(metrics_engine, "c08", STAFF, now=NOW).supervisions["state"].tolist() == ["past"]


@pytest.mark.parametrize("user, status, reason", [
    (STAFF, "handling", None),
    (STAFF, "closed", "case_closed"),
    (User("访客", role="viewer"), "handling", "role"),
    (None, "reported", "role"),
    (User("访客", role="viewer"), "closed", "case_closed"),  # said first, to everyone
])
def test_issue_refusal_mirrors_the_write(user, status, reason):
    assert S.issue_refusal(user, status) == reason


# --- writes (each test on a fresh database) --------------------------------------------------------------------

@pytest.fixture
def loaded(empty_engine):
    from data_access.ingest.loader import load_dataset

    load_dataset(FIXTURES / "metrics", empty_engine)
    return empty_engine


def _counts(engine, case_no):
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(supervisions)).scalar_one(),
                conn.execute(select(func.count()).where(case_events.c.case_no == case_no)).scalar_one())


def test_issue_and_resolve_a_supervision_order(loaded):
    order = S.SupervisionOrder("c06", "red", datetime(2026, 3, 22, 18, 0), "  两日内办结并反馈  ")
    sid = S.issue_supervision(loaded, STAFF, order, now=NOW)
    assert _counts(loaded, "c06") == (2, 5)  # SV1 + the new one; 4 events + supervise
    d = C.case_detail(loaded, "c06", STAFF, now=NOW)
    last = d.events.iloc[-1]
    assert (last["action"], last["actor"], last["grade"], last["note"]) == ("supervise", "王督办", "red", "两日内办结并反馈")
    with loaded.connect() as conn:  # stored as the source heads its own entries (issue 20, defect 2)
        assert conn.execute(select(case_events.c.note).where(case_events.c.case_no == "c06", case_events.c.seq
                                                              >= APP_SEQ_BASE)).scalar_one() == "红牌督办：两日内办结并反馈"
    new = d.supervisions.set_index("supervision_id").loc[sid]
    assert (new["grade"], new["issued_by_name"], new["note"]) == ("red", "王督办", "两日内办结并反馈")
    assert C.case_page(loaded, CaseFilter(region_code="G3-01"), now=NOW).rows["supervision_grade"].tolist() == ["red"]
    assert C.open_supervision_counts(loaded, ALL, now=NOW)["red"] == 1

    S.resolve_supervision(loaded, STAFF, sid, now=NOW)
    assert C.open_supervision_counts(loaded, ALL, now=NOW)["red"] == 0
    assert C.case_detail(loaded, "c06", STAFF, now=NOW).events.iloc[-1]["action"] == "note"
    with pytest.raises(WriteRefused, match="already resolved"):
        S.resolve_supervision(loaded, STAFF, sid, now=NOW)


def test_open_supervisions_nearest_deadline_first_up_to_the_limit(loaded):
    """(The orders tab shows them through ui/capped.py, which says when the list is cut: tests/test_capped_lists.py.)"""
    S.issue_supervision(loaded, STAFF, S.SupervisionOrder("c06", "red", datetime(2026, 3, 22, 18, 0), "x"), now=NOW)
    assert len(C.open_supervisions(loaded, ALL, now=NOW)) == 2  # SV1 (deadline 03-15 09:00) and the new one
    assert C.open_supervisions(loaded, ALL, now=NOW, limit=1)["supervision_id"].tolist() == ["SV1"]  # the nearest
    assert len(C.open_supervisions(loaded, ALL, now=NOW, limit=None)) == 2  # None: every open order


def test_open_supervision_counts_follow_every_filter(loaded):
    """The 督办 card above the list counts the orders on the cases the filter selects (issue 20: it showed the
    region's 17 red / 41 yellow with 0 matching cases).  Open orders: SV1 yellow on c08 (accepted, hotline,
    东县 G2, 03-10) and a new red one on c06 (handling, meeting, 西县 G3-01, 03-01)."""
    S.issue_supervision(loaded, STAFF, S.SupervisionOrder("c06", "red", datetime(2026, 3, 22, 18, 0), "x"), now=NOW)

    def counts(f):
        c = C.open_supervision_counts(loaded, f, now=NOW)
        return c["red"], c["yellow"], c["total"], c["past_deadline"]

    assert counts(ALL) == (1, 1, 2, 1)  # SV1's deadline (03-15) has passed, the red one's (03-22) not
    assert counts(CaseFilter(statuses=("handling",))) == (1, 0, 1, 0)
    assert counts(CaseFilter(statuses=("closed",))) == (0, 0, 0, 0)  # no case matches: no order either
    assert counts(CaseFilter(sources=("hotline",))) == (0, 1, 1, 1)
    assert counts(CaseFilter(text="漏水")) == (0, 1, 1, 1)
    assert counts(CaseFilter(date_from=date(2026, 1, 1), date_to=date(2026, 2, 28))) == (0, 0, 0, 0)
    assert counts(CaseFilter(region_code="120")) == (1, 0, 1, 0)
    # a county's period starts from its cases, all time or a city from the open orders (issue 24): same counts
    assert counts(CaseFilter(region_code="120", date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))) == (1, 0, 1, 0)
    assert counts(CaseFilter(region_code="120", date_from=date(2026, 3, 2), date_to=date(2026, 3, 31))) == (0, 0, 0, 0)
    assert counts(CaseFilter(region_code="110", date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))) == (0, 1, 1, 1)
    # the orders tab's own count is the whole region's: the caller passes the place's filter (Scope.cases)
    assert counts(CaseFilter(statuses=("closed",), region_code="110").scope.cases()) == (0, 1, 1, 1)


@pytest.mark.parametrize("user, order, message", [
    (STAFF, S.SupervisionOrder("c06", "red", datetime(2026, 3, 20, 11, 0), "x"), "deadline"),
    (STAFF, S.SupervisionOrder("c06", "red", datetime(2027, 3, 20, 12, 1), "x"), "more than 365 days ahead"),
    (STAFF, S.SupervisionOrder("c06", "red", None, "x"), "deadline: required"),
    (STAFF, S.SupervisionOrder("c06", "red", datetime(2026, 3, 25), "   "), "note: required"),
    (STAFF, S.SupervisionOrder("c06", "red", datetime(2026, 3, 25), "长" * 501), "note: 501 characters"),
    (STAFF, S.SupervisionOrder("c01", "red", datetime(2026, 3, 25), "x"), "already closed"),
    (STAFF, S.SupervisionOrder("c06", "purple", datetime(2026, 3, 25), "x"), "grade"),
    (STAFF, S.SupervisionOrder("nope", "red", datetime(2026, 3, 25), "x"), "no case"),
    (User("西县", role="staff", scope_code="120"), S.SupervisionOrder("c08", "red", datetime(2026, 3, 25), "x"),
     "no case 'c08' in your jurisdiction"),
    (User("访客", role="viewer"), S.SupervisionOrder("c06", "red", datetime(2026, 3, 25), "x"), "role"),
    (None, S.SupervisionOrder("c06", "red", datetime(2026, 3, 25), "x"), "role"),
])
def test_bad_orders_write_nothing(loaded, user, order, message):
    before = _counts(loaded, order.case_no)
    with pytest.raises(WriteRefused, match=message):
        S.issue_supervision(loaded, user, order, now=NOW)
    assert _counts(loaded, order.case_no) == before


def test_order_and_event_are_one_transaction(loaded, monkeypatch):
    def fail(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(S.audit, "record_many", fail)  # after the order's and the log entry's inserts
    with pytest.raises(RuntimeError):
        S.issue_supervision(loaded, STAFF, S.SupervisionOrder("c06", "yellow", datetime(2026, 3, 25), "x"), now=NOW)
    assert _counts(loaded, "c06") == (1, 4)  # neither the order nor the event


def test_a_reporter_named_in_the_log_is_masked_there_too(loaded):
    from data_access.writes.workflow import NewCase, report_case

    report_case(loaded, NewCase("n1", "G1", "A", "walk_in", "来访反映噪音", datetime(2026, 3, 20, 9, 0),
                                reporter_name="王小五", reporter_phone="13700001111", actor="王小五"))
    viewer = C.case_detail(loaded, "n1", User("访客", role="viewer"), now=NOW)
    assert viewer.events["actor"].tolist() == ["王**"]
    assert (viewer.fields["reporter_name"], viewer.fields["reporter_phone"]) == ("王**", "137****1111")
    assert C.case_detail(loaded, "n1", STAFF, now=NOW).events["actor"].tolist() == ["王小五"]


def test_event_number_clash_is_refused_cleanly(loaded, monkeypatch):
    monkeypatch.setattr(S, "_next_seqs", lambda conn, case_nos: dict.fromkeys(case_nos, 1))  # as if taken
    with pytest.raises(WriteRefused, match="try again"):
        S.issue_supervision(loaded, STAFF, S.SupervisionOrder("c06", "yellow", datetime(2026, 3, 25), "x"), now=NOW)
    assert _counts(loaded, "c06") == (1, 4)


@pytest.mark.parametrize("now, expected", [
    (datetime(2026, 3, 20, 12, 0), datetime(2026, 3, 24, 18, 0)),  # Friday noon → Tuesday, past the weekend
    (datetime(2026, 3, 23, 23, 59), datetime(2026, 3, 25, 18, 0)),  # late Monday → Wednesday
    (datetime(2026, 9, 30, 9, 0), datetime(2026, 10, 9, 18, 0)),  # before the National Day week (10-01 … 10-07 off)
])
def test_the_default_deadline_is_18_00_of_the_second_working_day(now, expected):
    assert S.default_deadline(now) == expected


def test_a_deadline_a_year_ahead_is_the_last_one_accepted(loaded):
    S.issue_supervision(loaded, STAFF, S.SupervisionOrder("c06", "red", NOW + timedelta(days=365), "x"), now=NOW)
    assert _counts(loaded, "c06") == (2, 5)


@pytest.mark.parametrize("note, expected", [
    ("红牌督办：限期办结", ("red", "限期办结")),  # the source's
    ("黄牌督办: 请过问", ("yellow", "请过问")),
    ("[normal] 请加快", ("normal", "请加快")),  # an earlier version of the app
    ("[red] 红牌督办：严重超期", ("red", "严重超期")),  # that version writing the live feed's notes
    ("[red] 黄牌督办：矛盾", ("red", "黄牌督办：矛盾")),  # a prefix naming another grade is the official's text
    ("超期未办结，请加快办理", (None, "超期未办结，请加快办理")),  # the source's normal orders name no grade
    ("督办红牌督办：", (None, "督办红牌督办：")),
    (None, (None, None)),
])
def test_a_supervise_entry_names_its_grade_apart_from_its_note(note, expected):
    assert C.split_grade_note(note) == expected


def test_a_new_entry_names_its_grade_once():
    assert C.grade_note("red", "红牌督办：严重超期") == "红牌督办：严重超期"
    assert C.grade_note("yellow", "限期办结") == "黄牌督办：限期办结"
    assert C.grade_note("normal", "红牌督办：严重超期") == "普通督办：红牌督办：严重超期"
