"""Time limits in calendar hours or working days (data_access/core/time_limits.py): the Chinese working-day calendar,
and one definition of the due time that every view reads (SQLite and PostgreSQL).

The database tests use tests/fixtures/time_limits (README.md there has every number)."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from conftest import FIXTURES, fresh_engine
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from data_access.queries import overview
from data_access.core import counting
from data_access.core import time_limits as tl
from data_access.cli import main as cli
from data_access.core.filters import CaseFilter
from data_access.ingest.loader import load_dataset
from data_access.core.schema import (
    audit_log,
    case_summary,
    case_summary_county,
    cases,
    categories,
    process_summary,
    time_limit_rules,
)
from data_access.core.rollups import rebuild_all_summaries

NOW = datetime(2025, 10, 8, 12, 0)  # during the National Day holiday 2025
SEP_OCT = CaseFilter(region_code="100", date_from=date(2025, 9, 1), date_to=date(2025, 10, 31))  # summary path
RAW = CaseFilter(region_code="100", date_from=date(2025, 9, 15), date_to=date(2025, 10, 5))  # no whole month
WD_DUE = datetime(2025, 10, 11, 23, 59, 59)


# --- the calendar -----------------------------------------------------------------------------------------

def test_national_day_2025_counts_make_up_saturday_and_skips_the_holiday():
    assert [tl.is_workday(date(2025, 10, d)) for d in range(1, 9)] == [False] * 8
    assert tl.is_workday(date(2025, 9, 28))  # Sunday, 调休 make-up working day
    assert tl.is_workday(date(2025, 10, 11))  # Saturday, 调休 make-up working day
    assert not tl.is_workday(date(2025, 10, 12))  # an ordinary Sunday
    assert tl.add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert tl.add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)
    assert tl.add_working_days(date(2025, 9, 30), 4) == date(2025, 10, 13)
    assert tl.working_deadline(datetime(2025, 9, 30, 10, 0), 3) == WD_DUE
    # a report on a holiday: its day is not counted either
    assert tl.working_deadline(datetime(2025, 10, 3, 8, 0), 1) == datetime(2025, 10, 9, 23, 59, 59)


def test_an_ordinary_week_skips_the_weekend():
    # 2025-11-14 is a Friday; November 2025 has no holiday
    assert tl.add_working_days(date(2025, 11, 14), 1) == date(2025, 11, 17)
    assert tl.add_working_days(date(2025, 11, 12), 5) == date(2025, 11, 19)
    assert tl.add_working_days(date(2025, 11, 15), 1) == date(2025, 11, 17)  # reported on a Saturday
    assert tl.add_working_days(date(2025, 11, 14), 0) == date(2025, 11, 14)
    with pytest.raises(ValueError, match="working_days"):
        tl.add_working_days(date(2025, 11, 14), -1)


def test_spring_festival_2026_from_the_library():
    # 春节 2026: Feb 15–23 off; Feb 14 (Sat) and Feb 28 (Sat) are make-up working days
    assert tl.is_workday(date(2026, 2, 14)) and tl.is_workday(date(2026, 2, 28))
    assert not any(tl.is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert tl.add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)


@pytest.fixture
def overrides(tmp_path, monkeypatch):
    """Point the calendar at a temporary overrides file; returns a function that writes it."""
    path = tmp_path / "holiday_overrides.csv"

    def write(body: str) -> None:
        path.write_text(body, encoding="utf-8")
        tl.reload_calendar()

    monkeypatch.setattr(tl, "OVERRIDES_PATH", path)
    tl.reload_calendar()
    yield write
    monkeypatch.undo()
    tl.reload_calendar()


def test_an_uncovered_year_counts_weekdays_until_the_overrides_file_lists_it(overrides):
    assert 2027 not in tl.LIBRARY_YEARS
    overrides("# nothing yet\ndate,kind\n")
    assert tl.is_workday(date(2027, 1, 1))  # a Friday: New Year's Day is unknown, so it counts
    assert not tl.is_workday(date(2027, 1, 2))  # Saturday
    assert tl.add_working_days(date(2026, 12, 30), 3) == date(2027, 1, 4)
    assert tl.calendar_gaps([2025, 2026, 2027, 2028]) == [2027, 2028]
    overrides("# test\ndate,kind\n2027-01-01,holiday\n2027-01-02,workday\n")
    assert not tl.is_workday(date(2027, 1, 1))
    assert tl.is_workday(date(2027, 1, 2))
    assert tl.add_working_days(date(2026, 12, 30), 3) == date(2027, 1, 4)  # Dec 31, Jan 2, Jan 4
    assert tl.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 2)
    assert tl.calendar_gaps([2026, 2027, 2028]) == [2028]


def test_the_overrides_file_wins_over_the_library(overrides):
    overrides("date,kind\n2025-10-11,holiday\n")
    assert not tl.is_workday(date(2025, 10, 11))
    assert tl.add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 13)


@pytest.mark.parametrize("body, message", [
    ("day,kind\n", "header"),
    ("date,kind\n2027-02-30,holiday\n", r":2 date"),
    ("# note\ndate,kind\n2027-01-01,off\n", r":3 kind"),
    ("date,kind\n2027-01-01,holiday\n2027-01-01,workday\n", "twice"),
])
def test_a_broken_overrides_file_is_refused_with_its_line(overrides, body, message):
    overrides(body)
    with pytest.raises(ValueError, match=message):
        tl.is_workday(date(2027, 1, 4))


def test_the_shipped_overrides_file_is_valid_and_leaves_no_gap_the_library_covers():
    tl.reload_calendar()
    assert tl.OVERRIDES_PATH.exists()
    tl.is_workday(date(2027, 3, 1))  # parses the file
    assert tl.calendar_gaps(range(2004, 2027)) == []
    assert tl.calendar_gaps([2003]) == [2003]


# --- on the database --------------------------------------------------------------------------------------

@pytest.fixture
def engine(db_kind, tmp_path):
    eng = fresh_engine(db_kind, tmp_path)
    load_dataset(FIXTURES / "time_limits", eng)
    yield eng
    eng.dispose()


def _case(engine, case_no: str):
    c = cases.c
    with engine.connect() as conn:
        return conn.execute(select(c.due_at, c.source_due_at, c.closed_late, c.late_hours)
                            .where(c.case_no == case_no)).one()


def _kpis(engine, f=SEP_OCT):
    k = counting.case_kpis(engine, f, NOW)
    return k.cases, k.closed, k.on_time, k.closed_late, k.open, k.open_overdue


def _summaries(engine):
    with engine.connect() as conn:
        return [sorted(tuple(r) for r in conn.execute(select(t)).all()) for t in (case_summary, case_summary_county, process_summary)]


def test_a_case_due_across_national_day_is_late_in_hours_and_on_time_in_working_days(engine):
    # calendar hours (no rule): due 72 h after the report, closed 143 h late
    t1 = _case(engine, "t1")
    assert (t1.due_at, t1.source_due_at) == (datetime(2025, 10, 3, 10), datetime(2025, 10, 3, 10))
    assert t1.closed_late is True and t1.late_hours == 143.0
    hours = (4, 3, 1, 2, 1, 1)  # cases, closed, on time, closed late, open, open overdue
    assert _kpis(engine) == hours and _kpis(engine, RAW) == hours

    assert tl.set_rule(engine, "B", working_days=3, actor="wang.fang") == 4  # t1, t2, t4, t5
    t1 = _case(engine, "t1")
    assert t1.due_at == WD_DUE and t1.source_due_at == datetime(2025, 10, 3, 10)
    assert t1.closed_late is False
    assert t1.late_hours == -(62 * 3600 + 59 * 60 + 59) / 3600  # exactly, as the loader computes it
    t4 = _case(engine, "t4")  # its platform-extended due time gives way to the working-day deadline
    assert t4.due_at == datetime(2025, 9, 18, 23, 59, 59) and t4.late_hours == -(13 * 3600 + 59 * 60 + 59) / 3600
    t3 = _case(engine, "t3")  # category A has no rule: untouched
    assert (t3.due_at, t3.closed_late, t3.late_hours) == (datetime(2025, 9, 30, 10), True, 2.0)
    # every view reads the one due time: the summary path, the raw path and the open cases
    working = (4, 3, 2, 1, 1, 0)
    assert _kpis(engine) == working and _kpis(engine, RAW) == working
    assert _kpis(engine, SEP_OCT.with_(categories=("B",))) == (3, 2, 2, 0, 1, 0)
    # the roll-ups equal a rebuild from scratch
    kept = _summaries(engine)
    with engine.begin() as conn:
        rebuild_all_summaries(conn)
    assert _summaries(engine) == kept

    assert tl.set_rule(engine, "B", working_days=3) == 0  # nothing to change
    assert tl.set_rule(engine, "B", working_days=None) == 4
    t1 = _case(engine, "t1")
    assert (t1.due_at, t1.closed_late, t1.late_hours) == (datetime(2025, 10, 3, 10), True, 143.0)
    t4 = _case(engine, "t4")  # back to the dataset's (extended) due time, not report + 72 h
    assert (t4.due_at, t4.closed_late, t4.late_hours) == (datetime(2025, 9, 25, 10), False, -168.0)
    assert _kpis(engine) == hours and _kpis(engine, RAW) == hours


def test_an_open_case_moves_past_now(engine):
    open_ = CaseFilter(region_code="100", statuses=("handling",))
    assert counting.case_kpis(engine, open_, NOW).open_overdue == 1  # t2 was due 10-03 09:00
    tl.set_rule(engine, "B", working_days=3)
    t2 = _case(engine, "t2")
    assert (t2.due_at, t2.closed_late, t2.late_hours) == (WD_DUE, None, None)
    assert counting.case_kpis(engine, open_, NOW).open_overdue == 0
    assert counting.case_kpis(engine, open_, datetime(2025, 10, 12, 0, 0)).open_overdue == 1
    assert counting.case_kpis(engine, open_, datetime(2025, 10, 11, 23, 59, 59)).open_overdue == 0


def test_rules_due_times_of_new_cases_and_calendar_gaps(engine):
    assert tl.rules(engine) == {}
    assert tl.calendar_gaps_in_data(engine) == []
    reported = datetime(2025, 9, 30, 10, 0)
    with engine.connect() as conn:
        assert tl.due_at_for(conn, "B", reported, 72) == datetime(2025, 10, 3, 10)
    tl.set_rule(engine, "B", working_days=3, actor="wang.fang")
    assert tl.rules(engine) == {"B": tl.Rule("B", "working_days", 3)}
    with engine.connect() as conn:
        assert tl.rules(conn) == {"B": tl.Rule("B", "working_days", 3)}
        assert tl.due_at_for(conn, "B", reported, 72) == WD_DUE
        assert tl.due_at_for(conn, "A", reported, 24) == datetime(2025, 10, 1, 10)
        row = conn.execute(select(time_limit_rules)).one()
        audit = conn.execute(select(audit_log.c.event, audit_log.c.username, audit_log.c.target, audit_log.c.rows)
                             ).all()
    assert (row.mode, row.working_days, row.updated_by) == ("working_days", 3, "wang.fang")
    assert audit == [("write", "wang.fang", "time_limit:B", 4)]
    assert tl.calendar_gaps_in_data(engine) == [2027]  # t5 is due in 2027, whose holidays are not known
    assert _case(engine, "t5").due_at == datetime(2027, 1, 4, 23, 59, 59)
    limits = tl.category_time_limits(engine)
    assert limits[["code", "mode"]].values.tolist() == [["A", "hours"], ["B", "working_days"]]
    assert limits["working_days"].tolist()[1] == 3


@pytest.mark.parametrize("category, days, field", [
    ("Z", 3, "category"),
    ("B", 0, "working_days"),
    ("B", 366, "working_days"),
    ("B", True, "working_days"),
    ("B", 2.5, "working_days"),
])
def test_bad_input_is_refused_and_changes_nothing(engine, category, days, field):
    before = (_case(engine, "t1"), _kpis(engine))
    with pytest.raises(ValueError, match=f"^{field}:"):
        tl.set_rule(engine, category, working_days=days)
    assert tl.rules(engine) == {}
    assert (_case(engine, "t1"), _kpis(engine)) == before


def test_a_failure_half_way_leaves_nothing_written(engine, monkeypatch):
    tl.set_rule(engine, "B", working_days=5)
    before = (tl.rules(engine), _case(engine, "t1"), _summaries(engine))

    def broken(conn, category):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tl, "_rebuild_summaries", broken)
    with pytest.raises(RuntimeError):
        tl.set_rule(engine, "B", working_days=3)
    assert (tl.rules(engine), _case(engine, "t1"), _summaries(engine)) == before
    monkeypatch.undo()
    assert tl.set_rule(engine, "B", working_days=3) == 4  # the connection is fine afterwards
    assert _case(engine, "t1").due_at == WD_DUE


def test_a_new_case_waits_for_a_rule_being_changed(engine):
    """set_rule locks the category row; due_at_for (the write path) waits for it, so a case reported while
    the category's cases are recomputed cannot keep the old rule.  SQLite serialises writers itself."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has one writer at a time")
    with engine.connect() as holder, engine.connect() as writer:
        holder.begin()
        holder.execute(select(categories.c.code).where(categories.c.code == "B").with_for_update())
        writer.begin()
        writer.execute(text("SET LOCAL lock_timeout = '300ms'"))
        with pytest.raises(OperationalError, match="lock"):
            tl.due_at_for(writer, "B", datetime(2025, 9, 30, 10), 72)
        writer.rollback()
        holder.rollback()
        with writer.begin():
            assert tl.due_at_for(writer, "B", datetime(2025, 9, 30, 10), 72) == datetime(2025, 10, 3, 10)


def test_a_reload_keeps_the_rules_and_applies_them(engine):
    tl.set_rule(engine, "B", working_days=3)
    load_dataset(FIXTURES / "time_limits", engine, replace=True)
    assert tl.rules(engine) == {"B": tl.Rule("B", "working_days", 3)}
    t1 = _case(engine, "t1")
    assert (t1.due_at, t1.source_due_at, t1.closed_late) == (WD_DUE, datetime(2025, 10, 3, 10), False)
    assert _kpis(engine) == (4, 3, 2, 1, 1, 0)


def test_command_line(engine, capsys):
    url = engine.url.render_as_string(hide_password=False)
    assert cli(["--db", url, "time-limits", "list"]) == 0
    out = capsys.readouterr().out
    assert "A " in out and "24 h" in out and "72 h" in out
    assert cli(["--db", url, "time-limits", "set", "B", "--working-days", "3"]) == 0
    out = capsys.readouterr().out
    assert "3 working days" in out and "4 cases" in out and "2027" in out  # t5 is due in an unknown year
    assert _case(engine, "t1").due_at == WD_DUE
    assert cli(["--db", url, "time-limits", "list"]) == 0
    assert "working_days  3 working days" in capsys.readouterr().out
    for bad, message in [(["Z", "--working-days", "3"], "category: unknown"),
                         (["B", "--working-days", "three"], "working_days: not a whole number"),
                         (["B", "--working-days", "0"], "working_days: must be between 1 and 365"),
                         (["B"], "exactly one of"),
                         (["B", "--hours", "--working-days", "2"], "exactly one of")]:
        assert cli(["--db", url, "time-limits", "set", *bad]) == 1
        assert message in capsys.readouterr().err
    assert _case(engine, "t1").due_at == WD_DUE
    assert cli(["--db", url, "time-limits", "set", "B", "--hours"]) == 0
    assert _case(engine, "t1").due_at == datetime(2025, 10, 3, 10)
