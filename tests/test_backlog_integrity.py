"""The supervision centre's open backlog and closure-rate integrity checks on the hand-computed fixture
tests/fixtures/centre (its README.md lists every case and the expected numbers), on SQLite and PostgreSQL."""
from __future__ import annotations

import math
from datetime import date, datetime

import pytest
from conftest import FIXTURES, fresh_engine

from data_access.queries.supervision import backlog, integrity
from data_access.core.filters import CaseFilter, OutOfScope
from data_access.core.metrics import FAST_CLOSE_HOURS, REREPORT_DAYS, SOURCES
from ui.i18n import CATALOG

NOW = datetime(2026, 3, 20, 12, 0)
CITY = CaseFilter(region_code="100")
EAST = CaseFilter(scope_code="110")  # a user whose jurisdiction is 东县: 西县 (120) is outside it
Q1 = {"date_from": date(2026, 1, 1), "date_to": date(2026, 3, 31)}
EDGES = {"date_from": date(2026, 1, 6), "date_to": date(2026, 3, 15)}  # Jan and Mar partly, Feb whole


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def eng(request, tmp_path_factory):
    from data_access.ingest.loader import load_dataset

    e = fresh_engine(request.param, tmp_path_factory.mktemp("centre"))
    load_dataset(FIXTURES / "centre", e)  # k3 is "closed without feedback": no feedback_at, loaded as it is
    yield e
    e.dispose()


def records(df, cols):
    return [tuple(r) for r in df[cols].itertuples(index=False)]


# --- open backlog --------------------------------------------------------------------------------

def test_backlog_by_age(eng):
    df = backlog.open_backlog_by_age(eng, CITY, NOW)
    assert records(df, ["bucket", "cases", "overdue"]) == [
        ("d0_3", 2, 0), ("d4_7", 3, 3), ("d8_15", 1, 1), ("d16_30", 1, 1), ("d31_60", 1, 1), ("d61_90", 1, 1),
        ("d91p", 1, 1)]
    # o7, reported exactly 4 days before now, is in d4_7; outside the scope (西县) o3, o4, o9, o10 drop out
    df = backlog.open_backlog_by_age(eng, EAST, NOW)
    assert records(df, ["bucket", "cases", "overdue"]) == [
        ("d0_3", 1, 0), ("d4_7", 2, 2), ("d8_15", 0, 0), ("d16_30", 0, 0), ("d31_60", 1, 1), ("d61_90", 1, 1),
        ("d91p", 1, 1)]


def test_backlog_by_overdue(eng):
    df = backlog.open_backlog_by_overdue(eng, CITY, NOW)
    # o1 is due exactly now (not overdue); o7 exactly 1 day overdue (le1); o3 exactly 7 days (d3_7)
    assert records(df, ["bucket", "cases"]) == [
        ("not_overdue", 2), ("le1", 1), ("d1_3", 2), ("d3_7", 1), ("d7_15", 0), ("d15_30", 1), ("gt30", 3)]
    assert records(backlog.open_backlog_by_overdue(eng, EAST, NOW), ["bucket", "cases"]) == [
        ("not_overdue", 1), ("le1", 1), ("d1_3", 1), ("d3_7", 0), ("d7_15", 0), ("d15_30", 0), ("gt30", 3)]
    # one hour later o1 is overdue too (by ≤ 1 day) and o7 by more than a day
    later = backlog.open_backlog_by_overdue(eng, CITY, datetime(2026, 3, 20, 13, 0))
    assert later["cases"].tolist()[:3] == [1, 1, 3]


def test_backlog_by_child_region(eng):
    df = backlog.open_backlog_by_child_region(eng, CITY, NOW)
    assert records(df, ["code", "open", "open_overdue", "oldest_days"]) == [("110", 6, 5, 139.0), ("120", 4, 3, 23.0)]
    assert df["share_overdue"].tolist() == pytest.approx([5 / 6, 3 / 4])
    # every child is listed, also one with nothing open (东二镇)
    df = backlog.open_backlog_by_child_region(eng, EAST, NOW)
    assert records(df, ["code", "name", "open", "open_overdue"]) == [("111", "东镇", 6, 5), ("112", "东二镇", 0, 0)]
    assert math.isnan(df["share_overdue"].iloc[1]) and math.isnan(df["oldest_days"].iloc[1])


def test_backlog_by_category(eng):
    df = backlog.open_backlog_by_category(eng, CITY, NOW)
    assert records(df, ["category", "open", "open_overdue", "oldest_days"]) == [("B", 6, 5, 139.0), ("A", 4, 3, 43.0)]
    df = backlog.open_backlog_by_category(eng, EAST, NOW)
    assert records(df, ["category", "open", "open_overdue"]) == [("A", 3, 2), ("B", 3, 3)]  # a tie: by code


def test_backlog_is_open_now_whatever_the_period_but_honours_other_filters(eng):
    whole = backlog.open_backlog_by_age(eng, CITY, NOW)
    # a period holding none of the open cases changes nothing: the backlog is what is open now
    old = backlog.open_backlog_by_age(eng, CITY.with_(date_from=date(2025, 1, 1), date_to=date(2025, 1, 31)), NOW)
    assert old.equals(whole)
    assert backlog.open_backlog_by_age(eng, CITY.with_(categories=("A",)), NOW)["cases"].sum() == 4
    assert backlog.open_backlog_by_age(eng, CITY.with_(sources=("patrol",)), NOW)["cases"].tolist() == [
        0, 1, 0, 0, 0, 0, 0]  # o9
    assert backlog.open_backlog_by_age(eng, CITY.with_(departments=("D1",)), NOW)["cases"].sum() == 2  # o3, o5
    # a grid holds its micro-grids: o3, o9, o10 and o4 (G3-01)
    assert backlog.open_backlog_by_age(eng, CaseFilter(region_code="G3"), NOW)["cases"].sum() == 4
    assert backlog.open_backlog_by_age(eng, CaseFilter(region_code="G3-01"), NOW)["cases"].sum() == 1
    with pytest.raises(OutOfScope):
        backlog.open_backlog_by_age(eng, EAST.with_(region_code="120"), NOW)


def test_overdue_backlog_trend(eng):
    df = backlog.overdue_backlog_trend(eng, CITY, months=3, now=NOW)
    assert df["month"].tolist() == ["2026-01", "2026-02", "2026-03"]
    assert df["month_end"].tolist() == [datetime(2026, 1, 31, 23, 59, 59), datetime(2026, 2, 28, 23, 59, 59), NOW]
    # Jan: o5, o6 and L1 (closed late on 02-10); Feb: o4, o5, o6, o8; now: the 8 open overdue
    assert df["open_overdue"].tolist() == [3, 4, 8]
    df = backlog.overdue_backlog_trend(eng, CITY, now=NOW)
    assert len(df) == 12 and df["month"].iloc[0] == "2025-04"
    # Nov: o6; Dec: o6 and L2 (closed late on 2026-01-03)
    assert df["open_overdue"].tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 8]
    assert backlog.overdue_backlog_trend(eng, EAST, months=3, now=NOW)["open_overdue"].tolist() == [3, 3, 5]
    assert backlog.overdue_backlog_trend(eng, CITY.with_(categories=("B",)), months=3, now=NOW
                                         )["open_overdue"].tolist() == [2, 2, 5]
    # the last point agrees with the backlog's own overdue count
    assert backlog.open_backlog_by_age(eng, CITY, NOW)["overdue"].sum() == 8


# --- integrity of the closure rate ------------------------------------------------------------------

Q1_REPORT = integrity.IntegrityReport(cases=20, closed=11, n_fast_close=1, n_no_feedback=1, n_reopened=1,
                                      n_rereported=2, n_flagged=4)


def test_integrity_summary(eng):
    rep = integrity.integrity_summary(eng, CITY.with_(**Q1), NOW)
    assert rep == Q1_REPORT
    assert rep.closure_rate == pytest.approx(11 / 20)
    assert rep.verified_closure_rate == pytest.approx(7 / 20)
    assert rep.gap == pytest.approx(4 / 20)
    assert rep.share("rereported") == pytest.approx(2 / 11)
    assert rep.share("flagged") == pytest.approx(4 / 11)
    # 东县 only: k4 (reopened, 西县) is outside the jurisdiction
    assert integrity.integrity_summary(eng, EAST.with_(**Q1), NOW) == integrity.IntegrityReport(
        cases=13, closed=8, n_fast_close=1, n_no_feedback=1, n_reopened=0, n_rereported=2, n_flagged=3)
    assert integrity.integrity_summary(eng, CITY.with_(date_from=date(2024, 1, 1), date_to=date(2024, 12, 31)),
                                       NOW) == integrity.IntegrityReport()


def test_integrity_summary_and_raw_paths_agree(eng, monkeypatch):
    calls = []
    raw = integrity._raw_part
    monkeypatch.setattr(integrity, "_raw_part", lambda *a, **k: calls.append(a[3]) or raw(*a, **k))
    # whole months: the roll-up alone
    assert integrity.integrity_summary(eng, CITY.with_(**Q1), NOW) == Q1_REPORT
    assert calls == []
    # a filter the roll-up cannot answer (every source = every case): the raw path alone, same numbers
    assert integrity.integrity_summary(eng, CITY.with_(**Q1, sources=SOURCES), NOW) == Q1_REPORT
    assert calls == [None]
    # edge days from cases + February from the roll-up, and the same period all raw
    calls.clear()
    expected = integrity.IntegrityReport(cases=15, closed=10, n_fast_close=0, n_no_feedback=1, n_reopened=1,
                                         n_rereported=1, n_flagged=3)
    assert integrity.integrity_summary(eng, CITY.with_(**EDGES), NOW) == expected
    assert calls == [(date(2026, 1, 6), date(2026, 1, 31)), (date(2026, 3, 1), date(2026, 3, 15))]
    assert integrity.integrity_summary(eng, CITY.with_(**EDGES, sources=SOURCES), NOW) == expected
    # the county roll-up (city view) and the township roll-up (a township view) agree with the raw path too
    t = CaseFilter(region_code="111", **Q1)
    assert integrity.integrity_summary(eng, t, NOW) == integrity.integrity_summary(eng, t.with_(sources=SOURCES),
                                                                                   NOW)


def test_integrity_by_child_region(eng):
    df = integrity.integrity_by_child_region(eng, CITY.with_(**Q1), NOW)
    assert records(df, ["code", "cases", "closed", "n_fast_close", "n_no_feedback", "n_reopened", "n_rereported",
                        "n_flagged"]) == [("110", 13, 8, 1, 1, 0, 2, 3), ("120", 7, 3, 0, 0, 1, 0, 1)]
    assert df["closure_rate"].tolist() == pytest.approx([8 / 13, 3 / 7])
    assert df["verified_rate"].tolist() == pytest.approx([5 / 13, 2 / 7])
    assert df["gap"].tolist() == pytest.approx([3 / 13, 1 / 7])
    # villages (below the roll-ups: raw path), largest gap first
    df = integrity.integrity_by_child_region(eng, CaseFilter(region_code="111", **Q1), NOW)
    assert records(df, ["code", "cases", "closed", "n_flagged"]) == [("1112", 5, 3, 2), ("1111", 8, 5, 1)]
    assert df["gap"].tolist() == pytest.approx([2 / 5, 1 / 8])
    # every child listed; one without cases last
    df = integrity.integrity_by_child_region(eng, EAST.with_(**Q1), NOW)
    assert records(df, ["code", "cases", "closed", "n_flagged"]) == [("111", 13, 8, 3), ("112", 0, 0, 0)]
    assert math.isnan(df["gap"].iloc[1])


def test_flagged_cases(eng, monkeypatch):
    q1 = CITY.with_(**Q1)
    lists = {c: integrity.flagged_cases(eng, q1, c, now=NOW) for c in integrity.CHECKS}
    assert {c: df["case_no"].tolist() for c, df in lists.items()} == {
        "fast_close": ["k1"], "no_feedback": ["k3"], "reopened": ["k4"], "rereported": ["k5", "k1"]}
    df = lists["rereported"]
    assert list(df.columns) == integrity.FLAGGED_COLUMNS
    assert not {"reporter_name", "reporter_phone", "description"} & set(df.columns)
    assert df["reason"].tolist() == ["rereported", "fast_close;rereported"]
    assert df["hours_to_close"].tolist() == pytest.approx([22.0, 0.5])
    assert df["reported_at"].iloc[0] == datetime(2026, 2, 10, 10, 0)
    # the lists agree with the counts
    rep = integrity.integrity_summary(eng, q1, NOW)
    assert all(len(lists[c]) == rep.count(c) for c in integrity.CHECKS)
    # the jurisdiction applies, the period applies, the limit applies
    assert integrity.flagged_cases(eng, EAST.with_(**Q1), "reopened", now=NOW).empty
    assert integrity.flagged_cases(eng, q1.with_(date_from=date(2026, 2, 1)), "rereported",
                                   now=NOW)["case_no"].tolist() == ["k5"]
    assert integrity.flagged_cases(eng, q1, "rereported", limit=1, now=NOW)["case_no"].tolist() == ["k5"]
    # the whole list (limit None): what the capped list asks for when a check flags more than it shows; at full
    # scale this raised TypeError (int(None)) and the view failed
    assert integrity.flagged_cases(eng, q1, "rereported", limit=None, now=NOW)["case_no"].tolist() == ["k5", "k1"]
    # the lists read straight from cases (a filter the roll-up cannot answer; a village), and with the roll-up
    # naming the townships to read or not, are the same
    for check, df in lists.items():
        assert integrity.flagged_cases(eng, q1.with_(sources=SOURCES), check, now=NOW).equals(df), check
    for share in (0.0, 1.0):
        monkeypatch.setattr(integrity, "NARROW_SHARE", share)
        for check, df in lists.items():
            assert integrity.flagged_cases(eng, q1, check, now=NOW).equals(df), (check, share)
            assert integrity.flagged_cases(eng, q1, check, limit=1, now=NOW).equals(df.head(1)), (check, share)
    assert integrity.flagged_cases(eng, CaseFilter(region_code="1112", **Q1), "rereported",
                                   now=NOW)["case_no"].tolist() == ["k5"]
    assert integrity.flagged_cases(eng, q1, "rereported", limit=0, now=NOW).empty
    with pytest.raises(ValueError):
        integrity.flagged_cases(eng, q1, "closed", now=NOW)


# --- the UI texts -----------------------------------------------------------------------------------

def test_texts_for_buckets_and_checks():
    keys = ([f"backlog.age.{k}" for k in backlog.AGE_KEYS] + [f"backlog.overdue.{k}" for k in backlog.OVERDUE_KEYS]
            + [f"integrity.check.{c}.help" for c in integrity.CHECKS] + ["integrity.verified_rate.help"])
    for key in keys:
        assert CATALOG.get(key, {}).get("zh") and CATALOG[key].get("en"), key
    # the explanations quote the thresholds of metrics.py
    hours = f"{FAST_CLOSE_HOURS:g}"
    assert f"{hours} 小时" in CATALOG["integrity.check.fast_close.help"]["zh"]
    assert f"{hours} h" in CATALOG["integrity.check.fast_close.help"]["en"]
    assert f"{REREPORT_DAYS} 天" in CATALOG["integrity.check.rereported.help"]["zh"]
    assert f"{REREPORT_DAYS} days" in CATALOG["integrity.check.rereported.help"]["en"]
