"""Exact numbers of every Overview measure on the hand-computable fixture (tests/fixtures/metrics/README.md),
on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from data_access.queries import overview
from data_access.core import counting
from data_access.core.filters import CaseFilter, split_period
from data_access.core.metrics import hour_bucket, median_from_histogram

NOW = datetime(2026, 3, 20, 12, 0)
Q1 = CaseFilter(region_code="100", date_from=date(2026, 1, 1), date_to=date(2026, 3, 31))


def test_q1_city_kpis(metrics_engine):
    k = counting.case_kpis(metrics_engine, Q1, NOW)
    assert (k.cases, k.closed, k.on_time, k.closed_late) == (9, 6, 5, 1)
    assert (k.open, k.open_overdue, k.on_the_spot) == (3, 2, 2)
    assert k.closure_rate == pytest.approx(6 / 9)
    assert k.on_time_rate == pytest.approx(5 / 6)
    assert k.on_the_spot_share == pytest.approx(2 / 6)
    assert k.overdue == 3  # c02 closed late + c06, c08 open past due
    assert k.median_hours_to_close == pytest.approx(30.0)
    assert k.satisfaction_avg == pytest.approx(4.0)


def test_previous_period_is_the_equal_length_before(metrics_engine):
    f = CaseFilter(region_code="100", date_from=date(2026, 1, 1), date_to=date(2026, 1, 31))
    cur, prev = overview.case_kpis_with_previous(metrics_engine, f, NOW)
    assert cur.cases == 3  # c01, c02, c03
    assert prev is not None and prev.cases == 1  # c10 on 2025-12-31 (Dec 1..Dec 31)
    assert prev.closed == 1 and prev.closure_rate == 1.0


def test_open_overdue_moves_with_now(metrics_engine):
    early = counting.case_kpis(metrics_engine, Q1, datetime(2026, 3, 2, 7, 0))
    assert early.open_overdue == 0  # c06 due 03-02 08:00, c08 due 03-11
    late = counting.case_kpis(metrics_engine, Q1, datetime(2026, 3, 23, 0, 0))
    assert late.open_overdue == 3  # c07 due 03-22 12:00 too


def test_partial_months_mix_summary_and_raw_rows(metrics_engine):
    # Jan 5 .. Mar 5: whole February from the summary, the edge days from cases.
    f = CaseFilter(region_code="100", date_from=date(2026, 1, 5), date_to=date(2026, 3, 5))
    k = counting.case_kpis(metrics_engine, f, NOW)
    assert k.cases == 7  # c01 c02 c03 | c04 c05 | c06 c09
    assert k.closed == 6 and k.open == 1
    # The same numbers when the summary cannot be used (a filter on every source forces the raw path).
    raw = counting.case_kpis(metrics_engine, f.with_(sources=("patrol", "hotline", "walk_in", "online", "meeting",
                                                              "petition", "other")), NOW)
    assert raw == k


def test_monthly_trend_by_status(metrics_engine):
    df = overview.monthly_cases_by_status(metrics_engine, Q1, NOW)
    got = {(r.month, r.status): r.cases for r in df.itertuples()}
    assert got == {
        ("2026-01", "closed"): 3,
        ("2026-02", "closed"): 2,
        ("2026-03", "closed"): 1,
        ("2026-03", "handling"): 1,
        ("2026-03", "reported"): 1,
        ("2026-03", "accepted"): 1,
    }


def test_resolution_levels(metrics_engine):
    df = overview.closed_cases_by_resolution_level(metrics_engine, Q1, NOW)
    assert list(df["resolution_level"]) == ["grid", "village", "township", "county", "city"]
    assert list(df["cases"]) == [2, 1, 1, 1, 1]
    assert df["share"].sum() == pytest.approx(1.0)


def test_child_ranking_of_the_city(metrics_engine):
    df = overview.child_region_ranking(metrics_engine, Q1, NOW).set_index("code")
    assert list(df.index) == ["110", "120"]  # by cases, descending
    east, west = df.loc["110"], df.loc["120"]
    assert (east.cases, east.closed, east.open_overdue, east.population) == (6, 4, 1, 3000)
    assert east.closure_rate == pytest.approx(4 / 6)
    assert east.on_time_rate == pytest.approx(3 / 4)
    assert east.cases_per_1000 == pytest.approx(2.0)
    assert (west.cases, west.closed, west.open_overdue, west.population) == (3, 2, 1, 3000)
    assert west.cases_per_1000 == pytest.approx(1.0)


def test_drill_down_to_village_and_grid(metrics_engine):
    village = overview.child_region_ranking(metrics_engine, Q1.with_(region_code="1211"), NOW)
    assert list(village["code"]) == ["G3"] and int(village["cases"].iloc[0]) == 3  # micro-grid case counts in G3
    grid = overview.child_region_ranking(metrics_engine, Q1.with_(region_code="G3"), NOW)
    assert list(grid["code"]) == ["G3-01"] and int(grid["cases"].iloc[0]) == 1
    k = counting.case_kpis(metrics_engine, Q1.with_(region_code="1112"), NOW)
    assert (k.cases, k.closed, k.open_overdue) == (3, 2, 1)


def test_filters_narrow_the_selection(metrics_engine):
    assert counting.case_kpis(metrics_engine, Q1.with_(categories=("B",)), NOW).cases == 4
    assert counting.case_kpis(metrics_engine, Q1.with_(supervised_only=True), NOW).cases == 1
    assert counting.case_kpis(metrics_engine, Q1.with_(overdue="any"), NOW).cases == 3
    assert counting.case_kpis(metrics_engine, Q1.with_(overdue="open"), NOW).cases == 2
    assert counting.case_kpis(metrics_engine, Q1.with_(text="纠纷"), NOW).cases == 3  # c02, c05, c08 titles
    assert counting.case_kpis(metrics_engine, Q1.with_(text="C0"), NOW).cases == 9  # case numbers, any case
    assert counting.case_kpis(metrics_engine, Q1.with_(text="100%_"), NOW).cases == 0  # wildcards are literal
    assert counting.case_kpis(metrics_engine, Q1.with_(departments=("D1",)), NOW).cases == 3


def test_empty_selection_has_no_rates(metrics_engine):
    f = CaseFilter(region_code="100", date_from=date(2020, 1, 1), date_to=date(2020, 1, 31))
    k = counting.case_kpis(metrics_engine, f, NOW)
    assert k.cases == 0 and k.closure_rate is None and k.on_time_rate is None and k.median_hours_to_close is None
    assert overview.closed_cases_by_resolution_level(metrics_engine, f, NOW)["cases"].sum() == 0
    ranking = overview.child_region_ranking(metrics_engine, f, NOW)
    assert list(ranking["cases"]) == [0, 0] and ranking["closure_rate"].isna().all()


def test_unknown_region_falls_back_to_whole_tree(metrics_engine):
    assert counting.case_kpis(metrics_engine, Q1.with_(region_code="nope"), NOW).cases == 9


def test_split_period():
    assert split_period(date(2026, 1, 5), date(2026, 3, 5)) == (
        ("2026-02", "2026-02"), [(date(2026, 1, 5), date(2026, 1, 31)), (date(2026, 3, 1), date(2026, 3, 5))])
    assert split_period(date(2026, 1, 1), date(2026, 3, 31)) == (("2026-01", "2026-03"), [])
    assert split_period(date(2026, 1, 10), date(2026, 2, 1)) == (None, [(date(2026, 1, 10), date(2026, 2, 1))])
    assert split_period(None, None) == (("0000-00", "9999-99"), [])


def test_histogram_median():
    assert median_from_histogram([0] * 24) is None
    counts = [0] * 24
    for h in (1, 2, 26, 28, 36, 48):
        counts[hour_bucket(h)] += 1
    assert median_from_histogram(counts) == pytest.approx(30.0)
    assert hour_bucket(0) == 0 and hour_bucket(0.49) == 0 and hour_bucket(5000) == 23
