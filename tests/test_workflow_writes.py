"""Workflow writes (data_access/writes/workflow.py): each transition's columns and event row, refusals that write
nothing, the derived columns (event counts, re-report flag, closed-case columns) and the roll-ups equal to a
full rebuild afterwards — on SQLite and PostgreSQL, on the hand-computable fixture (tests/fixtures/metrics)."""
from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import insert, select

from data_access.core import time_limits
from data_access.core.schema import (
    case_events,
    case_summary,
    case_summary_county,
    cases,
    data_meta,
    departments,
    case_day_counts,
    grid_summary,
    process_summary,
)
from data_access.core.rollups import rebuild_all_summaries
from data_access.writes.workflow import (
    NewCase,
    WriteRefused,
    accept_case,
    close_case,
    dispatch_case,
    feedback_case,
    handle_case,
    reassign_case,
    reopen_case,
    report_case,
    return_case,
)

ROLLUPS = (case_summary, case_summary_county, process_summary, grid_summary, case_day_counts)


def _rows(conn, table):
    return sorted((tuple(r) for r in conn.execute(select(table)).all()), key=_exact_key)


def _exact_key(row):
    return repr(_exact(row))


def assert_rollups_exact(engine):
    """The incrementally maintained roll-ups equal a rebuild from scratch (rebuilt in a rolled-back transaction)."""
    with engine.connect() as conn:
        trans = conn.begin()
        incremental = [_rows(conn, t) for t in ROLLUPS]
        rebuild_all_summaries(conn)
        rebuilt = [_rows(conn, t) for t in ROLLUPS]
        trans.rollback()
    for table, a, b in zip(ROLLUPS, incremental, rebuilt):
        # counts exactly; float sums (hours) to the last bits, since their order of addition follows the scan
        assert [_exact(r) for r in a] == [_exact(r) for r in b], table.name
        assert [v for r in a for v in _floats(r)] == \
            pytest.approx([v for r in b for v in _floats(r)], rel=1e-12, abs=1e-9), table.name


def _exact(row):
    return tuple(v for v in row if not isinstance(v, float))


def _floats(row):
    return [v for v in row if isinstance(v, float)]


def case(engine, case_no):
    with engine.connect() as conn:
        return conn.execute(select(cases).where(cases.c.case_no == case_no)).mappings().one()


def events(engine, case_no):
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(case_events.c.seq, case_events.c.at, case_events.c.action, case_events.c.actor,
                   case_events.c.org_code, case_events.c.note)
            .where(case_events.c.case_no == case_no).order_by(case_events.c.seq)).all()]


def snapshot(engine):
    with engine.connect() as conn:
        return [_rows(conn, t) for t in (cases, case_events, data_meta, *ROLLUPS)]


def T(day, hour, minute=0):
    return datetime(2026, 3, day, hour, minute)


@pytest.fixture
def engine(loaded_engine):
    return loaded_engine


def test_a_case_through_the_whole_workflow(engine):
    accept_case(engine, "c07", T(20, 9), actor="网格长")
    c = case(engine, "c07")
    assert (c["status"], c["accepted_at"]) == ("accepted", T(20, 9))
    dispatch_case(engine, "c07", "D1", T(20, 10))
    handle_case(engine, "c07", T(20, 12))
    feedback_case(engine, "c07", T(21, 8))
    assert case(engine, "c07")["status"] == "feedback"
    assert_rollups_exact(engine)
    close_case(engine, "c07", T(21, 12), "township", satisfaction=4, actor="东镇")
    c = case(engine, "c07")
    assert (c["status"], c["accepted_at"], c["dispatched_at"], c["handled_at"], c["feedback_at"], c["closed_at"]) == \
        ("closed", T(20, 9), T(20, 10), T(20, 12), T(21, 8), T(21, 12))
    assert (c["department_code"], c["resolution_level"], c["on_the_spot"], c["satisfaction"]) == \
        ("D1", "township", False, 4)
    # reported 03-19 12:00, due 03-22 12:00 (B: 72 h): 48 h to close, 24 h early
    assert (c["hours_to_close"], c["closed_late"], c["late_hours"]) == (48.0, False, -24.0)
    assert (c["n_returns"], c["n_reassigns"], c["n_reopens"], c["rereported"]) == (0, 0, 0, False)
    assert events(engine, "c07") == [
        (1, datetime(2026, 3, 19, 12), "report", None, "G1", None),
        (2, T(20, 9), "accept", "网格长", "1111", None),
        (3, T(20, 10), "dispatch", None, "D1", None),
        (4, T(20, 12), "handle", None, "D1", None),
        (5, T(21, 8), "feedback", None, "G1", None),
        (6, T(21, 12), "close", "东镇", "111", None),
    ]
    assert_rollups_exact(engine)


def test_closing_late_sets_the_late_columns_like_the_loader(engine):
    # c06: handling, reported 03-01 08:00, due 03-02 08:00 (A: 24 h)
    feedback_case(engine, "c06", T(20, 8))
    close_case(engine, "c06", T(20, 8, 30), "grid")
    c = case(engine, "c06")
    assert (c["hours_to_close"], c["closed_late"], c["late_hours"]) == (19 * 24 + 0.5, True, 18 * 24 + 0.5)
    assert c["satisfaction"] is None
    assert_rollups_exact(engine)


@pytest.mark.parametrize("write, reason, message", [
    (lambda e: accept_case(e, "c08", T(20, 9)), "status", "status: case c08 is 'accepted'; accept needs 'reported'"),
    (lambda e: close_case(e, "c07", T(20, 9), "grid"), "status", "status: case c07 is 'reported'"),
    (lambda e: handle_case(e, "c07", T(20, 9)), "status", "needs 'dispatched'"),
    (lambda e: return_case(e, "c07", T(20, 9)), "status", "return needs 'dispatched' or 'handling'"),
    (lambda e: reopen_case(e, "c06", T(20, 9)), "status", "reopen needs 'closed'"),
    (lambda e: accept_case(e, "nope", T(20, 9)), "case_unknown", "case_no: no case 'nope'"),
    (lambda e: accept_case(e, "c07", T(19, 11)), "at_before_last", "at: 2026-03-19 11:00:00 is earlier"),
    (lambda e: dispatch_case(e, "c08", "D9", T(20, 9)), "department_unknown", "department_code: unknown"),
    (lambda e: reassign_case(e, "c06", None, T(20, 9)), "department_required", "department_code: required"),
    (lambda e: close_case(e, "c06", T(20, 9), "planet"), "resolution_level_unknown", "resolution_level:"),
    (lambda e: close_case(e, "c06", T(20, 9), "grid", satisfaction=6), "satisfaction_range", "satisfaction:"),
    (lambda e: report_case(e, NewCase("c01", "G1", "A", "patrol", "t", T(20, 9))), "case_exists", "case_no:"),
    (lambda e: return_case(e, "c06", T(20, 9), note="退" * 2001), "too_long", "note: 2001 characters, at most 2000"),
    (lambda e: reopen_case(e, "c01", T(20, 9), note="x" * 10_000_000), "too_long", "note: 10000000 characters"),
])
def test_refused_transitions_write_nothing(engine, write, reason, message):
    before = snapshot(engine)
    with pytest.raises(WriteRefused) as exc:
        write(engine)
    assert exc.value.reason == reason
    field = {"status": "status", "at_before_last": "at", "too_long": "note"}.get(reason, reason.split("_")[0])
    field = {"case": "case_no", "department": "department_code", "resolution": "resolution_level"}.get(field, field)
    assert str(exc.value).startswith(f"{field}: ") and message in str(exc.value)
    assert snapshot(engine) == before


def test_return_clears_the_dispatch_and_counts_bounces(engine):
    # c06: handling since 03-02 08:00, no department
    return_case(engine, "c06", T(20, 9), note="不属于本部门职责")
    c = case(engine, "c06")
    assert (c["status"], c["accepted_at"], c["dispatched_at"], c["handled_at"], c["department_code"]) == \
        ("accepted", datetime(2026, 3, 1, 9), None, None, None)
    assert c["n_returns"] == 1
    assert events(engine, "c06")[-1] == (5, T(20, 9), "return", None, "121", "不属于本部门职责")
    dispatch_case(engine, "c06", "D1", T(20, 10))
    return_case(engine, "c06", T(20, 11))
    dispatch_case(engine, "c06", "D1", T(20, 12))
    c = case(engine, "c06")
    assert (c["status"], c["dispatched_at"], c["department_code"], c["n_returns"]) == \
        ("dispatched", T(20, 12), "D1", 2)
    with engine.connect() as conn:
        ps = conn.execute(select(process_summary.c.n_returned, process_summary.c.n_bounced,
                                 process_summary.c.sum_returns)
                          .where(process_summary.c.month == "2026-03", process_summary.c.township_code == "121"))
        assert tuple(map(sum, zip(*ps.all()))) == (1, 1, 2)
        cs = conn.execute(select(case_summary.c.n_bounced).where(case_summary.c.township_code == "121",
                                                                 case_summary.c.month == "2026-03")).scalars()
        assert sum(cs) == 1
    assert_rollups_exact(engine)


def test_reassign_changes_the_department_and_is_counted(engine):
    with engine.begin() as conn:
        conn.execute(insert(departments).values(code="D2", name="东县住建局", region_code="110"))
    dispatch_case(engine, "c08", "D1", T(20, 9))
    reassign_case(engine, "c08", "D2", T(20, 10), actor="东镇")
    c = case(engine, "c08")
    assert (c["status"], c["department_code"], c["dispatched_at"], c["n_reassigns"]) == \
        ("dispatched", "D2", T(20, 9), 1)
    assert events(engine, "c08")[-1][2:5] == ("reassign", "东镇", "D2")
    with pytest.raises(WriteRefused) as exc:
        reassign_case(engine, "c08", "D2", T(20, 11))
    assert exc.value.reason == "department_same"
    assert_rollups_exact(engine)


def test_reopen_goes_back_to_handling_and_flags_the_case(engine):
    # c09: closed 03-06 22:00 at city level, satisfaction none; handled 03-06 10:00
    reopen_case(engine, "c09", T(20, 9), note="群众反映问题未解决")
    c = case(engine, "c09")
    assert (c["status"], c["handled_at"], c["feedback_at"], c["closed_at"], c["resolution_level"]) == \
        ("handling", datetime(2026, 3, 6, 10), None, None, None)
    assert (c["hours_to_close"], c["closed_late"], c["late_hours"], c["n_reopens"]) == (None, None, None, 1)
    assert_rollups_exact(engine)
    feedback_case(engine, "c09", T(20, 10))
    close_case(engine, "c09", T(20, 11), "county", satisfaction=2)
    c = case(engine, "c09")
    assert (c["status"], c["feedback_at"], c["closed_at"], c["n_reopens"], c["closed_late"]) == \
        ("closed", T(20, 10), T(20, 11), 1, True)
    assert [e[2] for e in events(engine, "c09")][-4:] == ["close", "reopen", "feedback", "close"]
    with engine.connect() as conn:
        n = conn.execute(select(case_summary.c.n_reopened, case_summary.c.n_flagged)
                         .where(case_summary.c.township_code == "121", case_summary.c.month == "2026-03",
                                case_summary.c.status == "closed")).all()
    assert tuple(map(sum, zip(*n))) == (1, 1)
    assert_rollups_exact(engine)


def test_reopening_a_case_settled_on_the_spot_goes_back_to_reported(engine):
    reopen_case(engine, "c05", T(20, 9))
    c = case(engine, "c05")
    assert (c["status"], c["on_the_spot"], c["closed_at"], c["resolution_level"], c["n_reopens"]) == \
        ("reported", False, None, None, 1)
    accept_case(engine, "c05", T(20, 10))
    assert_rollups_exact(engine)


def test_a_report_flags_the_closed_case_it_re_reports(engine):
    # c01: G1, category A, phone 13900001234, closed 2026-01-05 10:00 (a January slice)
    report_case(engine, NewCase("n-patrol", "G1", "A", "patrol", "又吵起来了", datetime(2026, 2, 1, 9),
                                reporter_phone="13900001234"))
    assert case(engine, "c01")["rereported"] is False  # a patrol report is not a re-report
    report_case(engine, NewCase("n-late", "G1", "A", "hotline", "又吵起来了", datetime(2026, 2, 10, 9),
                                reporter_phone="13900001234"))
    assert case(engine, "c01")["rereported"] is False  # 36 days after closing: too late
    report_case(engine, NewCase("n1", "G1", "A", "hotline", "又吵起来了", datetime(2026, 2, 1, 9),
                                reporter_name="张三", reporter_phone="13900001234"))
    assert case(engine, "c01")["rereported"] is True
    n = case(engine, "n1")
    assert (n["status"], n["due_at"], n["source_due_at"], n["report_month"], n["township_code"]) == \
        ("reported", datetime(2026, 2, 2, 9), datetime(2026, 2, 2, 9), "2026-02", "111")
    with engine.connect() as conn:
        flagged = conn.execute(select(case_summary.c.n_rereported).where(case_summary.c.month == "2026-01",
                                                                         case_summary.c.township_code == "111"))
        assert sum(flagged.scalars()) == 1
    assert_rollups_exact(engine)


def test_a_new_case_is_due_by_the_category_s_working_day_rule(engine):
    time_limits.set_rule(engine, "A", working_days=3)
    # Tuesday 30 September 2025 + 3 working days (National Day 1–8 October) = Saturday 11 October 23:59:59
    report_case(engine, NewCase("n2", "G2", "A", "online", "漏水", datetime(2025, 9, 30, 15)))
    n = case(engine, "n2")
    assert (n["due_at"], n["source_due_at"]) == (datetime(2025, 10, 11, 23, 59, 59), datetime(2025, 10, 1, 15))
    assert_rollups_exact(engine)


def test_two_writers_cannot_both_move_a_case(engine):
    results: list[str] = []
    barrier = threading.Barrier(4)

    def accept():
        barrier.wait()
        try:
            accept_case(engine, "c07", T(20, 9))
            results.append("ok")
        except WriteRefused as exc:
            results.append(exc.reason)

    threads = [threading.Thread(target=accept) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1
    assert set(results) <= {"ok", "status", "conflict"}
    assert [e[2] for e in events(engine, "c07")] == ["report", "accept"]
    assert_rollups_exact(engine)
