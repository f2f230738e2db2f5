"""Monthly ranking and bulletin on the hand-computable fixture tests/fixtures/ranking (see its README.md),
on SQLite and PostgreSQL: counts, overdue backlog at month end, Wilson bounds, score, ranks, rank change,
the minimum-cases cut, the jurisdiction, red-card orders, and the Excel / HTML renderings."""
from __future__ import annotations

import html
import io
import math
from datetime import date, datetime

import pytest

from data_access.queries.supervision import ranking
from data_access.core.filters import OutOfScope, Scope
from data_access.queries.supervision.ranking import (
    ScoreWeights,
    bulletin_data,
    monthly_ranking,
    wilson_interval,
)
from tests.conftest import FIXTURES, fresh_engine

NOW = datetime(2026, 3, 20, 12, 0)
Z = 1.96
EAST = Scope(scope_code="110")  # a 东县 user


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def eng(request, tmp_path_factory):
    from data_access.ingest.loader import load_dataset

    e = fresh_engine(request.param, tmp_path_factory.mktemp("ranking"))
    load_dataset(FIXTURES / "ranking", e)
    yield e
    e.dispose()


def wilson_oracle(k: int, n: int) -> tuple[float, float]:
    """The Wilson bounds as the roots of (k/n − p)² = z²·p(1−p)/n (independent of the module's closed form)."""
    ph, z2 = k / n, Z * Z
    a, b, c = 1 + z2 / n, -(2 * ph + z2 / n), ph * ph
    disc = math.sqrt(b * b - 4 * a * c)
    return (-b - disc) / (2 * a), (-b + disc) / (2 * a)


def score_oracle(cases, closed, on_time, backlog, sat, w=(0.4, 0.3, 0.2, 0.1)) -> float:
    comps = [wilson_oracle(closed, cases)[0], wilson_oracle(on_time, closed)[0], 1 - backlog / (backlog + cases),
             (sat - 1) / 4]
    return sum(wi * ci for wi, ci in zip(w, comps)) / sum(w)


def by_name(df):
    return {r["name"]: r for r in df.to_dict("records")}


# --- pure functions -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("k,n", [(0, 1), (1, 1), (3, 3), (10, 11), (8, 10), (3, 6), (0, 50), (95, 100)])
def test_wilson_interval_matches_the_quadratic(k, n):
    lo, hi = wilson_interval(k, n)
    o_lo, o_hi = wilson_oracle(k, n)
    assert lo == pytest.approx(max(0.0, o_lo), abs=1e-9) and hi == pytest.approx(min(1.0, o_hi), abs=1e-9)
    assert lo <= k / n <= hi


def test_wilson_interval_edges():
    assert wilson_interval(0, 0) is None
    assert wilson_interval(3, 3)[0] == pytest.approx(0.438494, abs=1e-6)  # README: 3 of 3 → 0.4385
    assert wilson_interval(95, 100)[0] > wilson_interval(3, 3)[0]
    with pytest.raises(ValueError):
        wilson_interval(4, 3)


def test_score_weights_are_validated_and_normalised():
    off = {"response": 0.0, "resolution": 0.0, "satisfaction_rate": 0.0}   # the 三率: weight 0 unless chosen
    assert ScoreWeights().normalised() == pytest.approx(
        {"closure": 0.4, "on_time": 0.3, "backlog": 0.2, "satisfaction": 0.1, **off})
    assert ScoreWeights(2, 0, 0, 2).normalised() == {"closure": 0.5, "on_time": 0.0, "backlog": 0.0,
                                                     "satisfaction": 0.5, **off}
    assert ScoreWeights(0, 0, 0, 0, 1, 2, 1).normalised() == {"closure": 0.0, "on_time": 0.0, "backlog": 0.0,
                                                              "satisfaction": 0.0, "response": 0.25,
                                                              "resolution": 0.5, "satisfaction_rate": 0.25}
    for bad in [{"closure": -0.1}, {"closure": 0, "on_time": 0, "backlog": 0, "satisfaction": 0},
                {"backlog": float("nan")}, {"on_time": "0.3"}]:
        with pytest.raises(ValueError):
            ScoreWeights(**bad)


def test_month_bounds_and_previous():
    assert ranking.month_bounds("2024-02")[2] == datetime(2024, 2, 29, 23, 59, 59)
    assert ranking.previous_month("2026-01") == "2025-12"
    for bad in ["2026-13", "2026-2", "", "2026-02-01"]:
        with pytest.raises(ValueError):
            ranking.month_bounds(bad)


# --- ranking on both databases -------------------------------------------------------------------------------

def test_township_ranking_counts_backlog_wilson_score_and_ranks(eng):
    df = monthly_ranking(eng, EAST, "2026-02", "township", "110", min_cases=3, now=NOW)
    assert list(df["name"]) == ["乙镇", "甲镇", "丙镇"]  # sorted by rank
    rows = by_name(df)
    expect = {  # cases, closed, on time, backlog at 02-28 23:59:59, n scored, mean satisfaction
        "甲镇": (3, 3, 3, 0, 3, 5.0),
        "乙镇": (11, 10, 8, 2, 9, 34 / 9),
        "丙镇": (6, 3, 3, 3, 3, 5.0),
    }
    for name, (n, closed, on_time, backlog, n_sat, sat) in expect.items():
        r = rows[name]
        assert (r["cases"], r["closed"], r["on_time"], r["overdue_backlog"], r["n_satisfaction"]) == (
            n, closed, on_time, backlog, n_sat), name
        assert r["satisfaction_avg"] == pytest.approx(sat, abs=1e-12)
        assert r["closure_rate"] == pytest.approx(closed / n) and r["on_time_rate"] == pytest.approx(on_time / closed)
        assert (r["closure_lo"], r["closure_hi"]) == pytest.approx(wilson_oracle(closed, n), abs=1e-9)
        assert r["on_time_lo"] == pytest.approx(wilson_oracle(on_time, closed)[0], abs=1e-9)
        assert r["on_time_hi"] == pytest.approx(min(1.0, wilson_oracle(on_time, closed)[1]), abs=1e-9)
        assert r["backlog_component"] == pytest.approx(1 - backlog / (backlog + n), abs=1e-12)
        assert r["score"] == pytest.approx(score_oracle(n, closed, on_time, backlog, sat), abs=1e-9)
        assert r["ranked"] and r["reason"] is None
    # 甲镇: 3 of 3 closed on time, the best point estimates, yet not first (Wilson lower bound 0.4385)
    assert rows["甲镇"]["closure_rate"] == 1.0 and rows["甲镇"]["rank"] == 2
    assert rows["乙镇"]["score"] == pytest.approx(0.634776, abs=1e-6)
    assert rows["甲镇"]["score"] == pytest.approx(0.606946, abs=1e-6)
    assert rows["丙镇"]["score"] == pytest.approx(0.439927, abs=1e-6)
    # January: 丙镇 1st, 乙镇 2nd, 甲镇 had no case
    assert [rows[n]["rank"] for n in ("乙镇", "甲镇", "丙镇")] == [1, 2, 3]
    assert rows["乙镇"]["prev_rank"] == 2 and rows["乙镇"]["rank_change"] == 1
    assert rows["丙镇"]["prev_rank"] == 1 and rows["丙镇"]["rank_change"] == -2  # dropped two places
    assert missing(rows["甲镇"]["prev_rank"]) and missing(rows["甲镇"]["rank_change"])
    assert list(df.columns[:20]) == ranking.RANKING_COLUMNS[:20]


def missing(v) -> bool:
    import pandas as pd

    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def test_previous_month_ranking_is_the_same_computation(eng):
    jan = by_name(monthly_ranking(eng, EAST, "2026-01", "township", "110", min_cases=3, now=NOW))
    assert (jan["乙镇"]["cases"], jan["乙镇"]["closed"], jan["乙镇"]["overdue_backlog"]) == (4, 3, 1)
    assert jan["乙镇"]["score"] == pytest.approx(score_oracle(4, 3, 3, 1, 3.0), abs=1e-9)
    assert jan["丙镇"]["score"] == pytest.approx(score_oracle(6, 6, 6, 0, 5.0), abs=1e-9)
    assert (jan["丙镇"]["rank"], jan["乙镇"]["rank"]) == (1, 2)
    assert not jan["甲镇"]["ranked"] and jan["甲镇"]["cases"] == 0


def test_backlog_counts_cases_open_at_month_end_whatever_their_report_month(eng):
    feb = by_name(monthly_ranking(eng, EAST, "2026-02", "township", "110", min_cases=3, now=NOW))
    # 乙镇: b00 (reported in January, still open) + b10 (due 02-21, closed 03-05); b09 closed late on 02-15: no
    assert feb["乙镇"]["overdue_backlog"] == 2 and feb["乙镇"]["prev_overdue_backlog"] == 1
    # The running month: as of now = 02-14 12:00, b09 (due 02-11, closed 02-15) is still open and overdue
    mid = by_name(monthly_ranking(eng, EAST, "2026-02", "township", "110", min_cases=3,
                                  now=datetime(2026, 2, 14, 12, 0)))
    assert mid["乙镇"]["overdue_backlog"] == 2  # b00, b09
    assert mid["丙镇"]["overdue_backlog"] == 1  # c10 (due 02-14 09:00); c11 is due 02-15


def test_min_cases_lists_but_does_not_rank(eng):
    df = monthly_ranking(eng, EAST, "2026-02", "township", "110", min_cases=4, now=NOW)
    rows = by_name(df)
    assert not rows["甲镇"]["ranked"] and missing(rows["甲镇"]["rank"])
    assert rows["甲镇"]["reason"] == "too_few_cases" and rows["甲镇"]["cases"] == 3
    assert (rows["乙镇"]["rank"], rows["丙镇"]["rank"]) == (1, 2)
    assert list(df["name"]) == ["乙镇", "丙镇", "甲镇"]  # unranked last
    fixed = monthly_ranking(eng, EAST, "2026-02", "township", "110", min_cases=30, now=NOW)
    assert not fixed["ranked"].any() and fixed["rank"].isna().all() and len(fixed) == 3
    assert fixed.attrs["min_cases"] == 30 and not fixed.attrs["min_cases_auto"]


def test_default_minimum_is_the_lower_quartile_within_5_and_30(eng):
    # February: 3, 11, 6 cases → lower quartile 3 → floor 5: 甲镇 (3) listed, 乙镇 and 丙镇 ranked
    default = by_name(monthly_ranking(eng, EAST, "2026-02", "township", "110", now=NOW))
    assert (default["乙镇"]["rank"], default["丙镇"]["rank"]) == (1, 2)
    assert not default["甲镇"]["ranked"] and default["甲镇"]["reason"] == "too_few_cases"
    # January: 乙镇 4, 丙镇 6 (甲镇 none) → 5: only 丙镇 ranked, so 乙镇 has no previous rank
    assert missing(default["乙镇"]["prev_rank"]) and default["丙镇"]["prev_rank"] == 1
    b = bulletin_data(eng, EAST, "2026-02", "township", "110", now=NOW)
    assert (b.min_cases, b.min_cases_auto, b.n_units, b.n_ranked, b.n_no_cases, b.n_too_few) == (5, True, 3, 2, 0, 1)
    jan = bulletin_data(eng, EAST, "2026-01", "township", "110", now=NOW)  # 甲镇 none, 乙镇 4 < 5
    assert (jan.n_ranked, jan.n_no_cases, jan.n_too_few) == (1, 1, 1)
    df = monthly_ranking(eng, EAST, "2026-02", "township", "110", now=NOW)
    assert (df.attrs["min_cases"], df.attrs["prev_min_cases"], df.attrs["min_cases_auto"]) == (5, 5, True)


@pytest.mark.parametrize("counts,expect", [
    ([], 5), ([0, 0], 5), ([3, 11, 6], 5), ([0, 12, 40, 50, 60], 12), ([100, 200, 300], 30),
    # 新化县's 30 townships in the demo's November: 29 with cases, the 8th smallest (index 7) is 9
    ([0, 2, 3, 3, 4, 6, 6, 9, 9, 10, 10, 11, 11, 12, 13, 13, 13, 13, 15, 15, 16, 17, 20, 21, 25, 25, 26, 26, 26,
      31], 9),
])
def test_auto_min_cases(counts, expect):
    assert ranking.auto_min_cases(counts) == expect


def test_a_months_figures_are_fixed_at_the_cut_off(eng, monkeypatch):
    assert ranking.cutoff_at("2026-11", 5) == datetime(2026, 12, 6, 0, 0)
    assert ranking.cutoff_at("2026-12", 5) == datetime(2027, 1, 6, 0, 0)
    monkeypatch.setenv("GOV_BULLETIN_CUTOFF_DAY", "3")
    assert ranking.cutoff_day() == 3 and ranking.cutoff_at("2026-02") == datetime(2026, 3, 4)
    for bad in ["0", "29", "x", "-1"]:
        monkeypatch.setenv("GOV_BULLETIN_CUTOFF_DAY", bad)
        with pytest.raises(ValueError, match="GOV_BULLETIN_CUTOFF_DAY"):
            ranking.cutoff_day()
    monkeypatch.delenv("GOV_BULLETIN_CUTOFF_DAY")
    assert ranking.cutoff_day() == 5
    # cut-off 5 (03-06 00:00): b10, closed 03-05, counts as closed in February (as before)
    five = by_name(monthly_ranking(eng, EAST, "2026-02", "township", "110", min_cases=3, now=NOW, cutoff=5))
    assert (five["乙镇"]["closed"], five["乙镇"]["on_time"]) == (10, 8)
    # cut-off 3 (03-04 00:00): b10 was still open then; the backlog at month end is the same
    three = by_name(monthly_ranking(eng, EAST, "2026-02", "township", "110", min_cases=3, now=NOW, cutoff=3))
    r = three["乙镇"]
    assert (r["cases"], r["closed"], r["on_time"], r["n_satisfaction"], r["overdue_backlog"]) == (11, 9, 8, 9, 2)
    assert r["score"] == pytest.approx(score_oracle(11, 9, 8, 2, 34 / 9), abs=1e-9)
    # printed on 03-03 (before the cut-off): the status of now, and provisional
    early = bulletin_data(eng, EAST, "2026-02", "township", "110", min_cases=3, now=datetime(2026, 3, 3, 12), cutoff=3)
    assert not early.final and early.cutoff == datetime(2026, 3, 4)
    b3 = bulletin_data(eng, EAST, "2026-02", "township", "110", min_cases=3, now=NOW, cutoff=3)
    assert b3.final and (b3.kpis.cases, b3.kpis.closed, b3.kpis.on_time, b3.kpis.closed_late) == (20, 15, 14, 1)
    b5 = bulletin_data(eng, EAST, "2026-02", "township", "110", min_cases=3, now=NOW, cutoff=5)
    assert (b5.kpis.closed, b5.kpis.on_time, b5.kpis.closed_late) == (16, 14, 2)
    # and the same bulletin a year later: nothing moves
    later = bulletin_data(eng, EAST, "2026-02", "township", "110", min_cases=3, now=datetime(2027, 3, 1), cutoff=3)
    assert (later.kpis.closed, later.kpis.on_time) == (15, 14)
    assert later.ranking[["name", "closed", "score"]].equals(b3.ranking[["name", "closed", "score"]])


def test_weights_change_the_order(eng):
    only_closure = ScoreWeights(closure=1, on_time=0, backlog=0, satisfaction=0)
    rows = by_name(monthly_ranking(eng, EAST, "2026-02", "township", "110", only_closure, 3, NOW))
    assert rows["乙镇"]["score"] == pytest.approx(wilson_oracle(10, 11)[0], abs=1e-9)
    assert rows["甲镇"]["score"] == pytest.approx(wilson_oracle(3, 3)[0], abs=1e-9)


def test_county_level_reads_the_summary_and_matches_the_townships(eng):
    city = Scope(scope_code="100")
    rows = by_name(monthly_ranking(eng, city, "2026-02", "county", "100", min_cases=1, now=NOW))
    assert (rows["东县"]["cases"], rows["东县"]["closed"], rows["东县"]["on_time"]) == (20, 16, 14)
    assert rows["东县"]["overdue_backlog"] == 5 and rows["东县"]["n_satisfaction"] == 15
    assert rows["东县"]["satisfaction_avg"] == pytest.approx(64 / 15, abs=1e-12)
    assert (rows["西县"]["cases"], rows["西县"]["closed"], rows["西县"]["overdue_backlog"]) == (2, 1, 1)
    assert (rows["东县"]["rank"], rows["西县"]["rank"]) == (1, 2)
    # townships of the whole city: every township, 丁镇 of 西县 included
    towns = monthly_ranking(eng, city, "2026-02", "township", None, min_cases=1, now=NOW)
    assert sorted(towns["name"]) == ["丁镇", "丙镇", "乙镇", "甲镇"]


def test_village_level_counts_from_cases_and_lists_empty_units(eng):
    df = monthly_ranking(eng, EAST, "2026-02", "village", "111", min_cases=1, now=NOW)
    rows = {r["code"]: r for r in df.to_dict("records")}
    assert set(rows) == {"1111", "1112", "1113"}
    assert (rows["1111"]["cases"], rows["1112"]["cases"], rows["1113"]["cases"]) == (2, 1, 0)
    assert (rows["1111"]["rank"], rows["1112"]["rank"]) == (1, 2)
    assert missing(rows["1113"]["rank"]) and rows["1113"]["reason"] == "too_few_cases"
    assert math.isnan(rows["1113"]["closure_rate"]) and math.isnan(rows["1113"]["score"])


def test_jurisdiction_is_enforced(eng):
    for parent in ("120", "100", "1211", "121"):
        with pytest.raises(OutOfScope):
            monthly_ranking(eng, EAST, "2026-02", "village", parent, now=NOW)
    with pytest.raises(OutOfScope):
        bulletin_data(eng, EAST, "2026-02", "township", "120", now=NOW)
    # no parent: the jurisdiction itself
    assert sorted(monthly_ranking(eng, EAST, "2026-02", "township", None, now=NOW)["code"]) == ["111", "112", "113"]
    with pytest.raises(ValueError):
        monthly_ranking(eng, EAST, "2026-02", "county", "110", now=NOW)  # counties do not lie below a county
    with pytest.raises(ValueError):
        monthly_ranking(eng, EAST, "2026-02", "grid", "110", now=NOW)
    with pytest.raises(ValueError):
        monthly_ranking(eng, EAST, "2026/02", "township", "110", now=NOW)


def test_bulletin_data(eng):
    b = bulletin_data(eng, EAST, "2026-02", "township", "110", min_cases=3, now=NOW)
    assert (b.parent_code, b.parent_name, b.prev_month) == ("110", "东县", "2026-01")
    assert b.as_of == datetime(2026, 2, 28, 23, 59, 59)
    assert (b.kpis.cases, b.kpis.closed, b.kpis.on_time) == (20, 16, 14)
    assert b.kpis.satisfaction_avg == pytest.approx(64 / 15)
    assert (b.prev_kpis.cases, b.prev_kpis.closed, b.prev_kpis.on_time) == (10, 9, 9)
    assert (b.overdue_backlog, b.prev_overdue_backlog) == (5, 1)
    assert (b.n_units, b.n_ranked) == (3, 3)
    assert list(b.named_for_backlog["name"]) == ["丙镇", "乙镇"]  # 甲镇 has none: not named
    assert list(b.named_for_backlog["overdue_backlog"]) == [3, 2]
    one = bulletin_data(eng, EAST, "2026-02", "township", "110", min_cases=3, now=NOW, named_top_n=1)
    assert list(one.named_for_backlog["name"]) == ["丙镇"]
    # R1 open, R5 resolved after the month end; R2 resolved inside it, R3 yellow, R4 issued in March, R6 西县
    red = b.red_orders
    assert list(red["supervision_id"]) == ["R1", "R5"]
    assert list(red["unit_name"]) == ["乙镇", "乙镇"] and list(red["case_no"]) == ["b00", "b10"]
    assert red["days_past_deadline"].tolist() == pytest.approx([13 + 53999 / 86400, 1 + 53999 / 86400], abs=1e-9)
    city = bulletin_data(eng, Scope(), "2026-02", "county", "100", min_cases=1, now=NOW)
    assert list(city.red_orders["supervision_id"]) == ["R1", "R6", "R5"]  # nearest deadline first
    assert list(city.red_orders["unit_name"]) == ["东县", "西县", "东县"]


# --- renderings ----------------------------------------------------------------------------------------------

def test_workbook_holds_the_ranking_shown_on_screen(eng):
    import openpyxl

    from ui.bulletin import bulletin_workbook, ranking_table

    b = bulletin_data(eng, EAST, "2026-02", "township", "110", min_cases=4, now=NOW)
    screen = ranking_table(b.ranking, b.min_cases, "zh")
    wb = openpyxl.load_workbook(io.BytesIO(bulletin_workbook(b, "zh")))
    assert wb.sheetnames == ["概况", "排名", "超期积压点名", "红牌督办"]
    ws = wb["排名"]
    sheet = [list(r) for r in ws.iter_rows(values_only=True)]
    assert sheet[0] == list(screen.columns)
    assert len(sheet) - 1 == len(screen) == 3
    for got, (_, want) in zip(sheet[1:], screen.iterrows()):
        for g, w in zip(got, want.tolist()):
            if missing(w) or w == "":
                assert g is None
            elif isinstance(w, str):
                assert g == w
            else:
                assert g == pytest.approx(float(w), abs=1e-12)
    assert [r[1] for r in sheet[1:]] == ["乙镇", "丙镇", "甲镇"] and [r[0] for r in sheet[1:]] == [1, 2, None]
    # the score and its move first, the confidence bounds last
    assert sheet[0][:4] == ["排名", "单位", "综合得分", "名次变化"]
    assert sheet[0].index("备注") < min(i for i, h in enumerate(sheet[0]) if "95%" in h)
    assert sheet[3][sheet[0].index("备注")] == "案件少于4件，不参与排名"
    assert ws["H2"].number_format == "0.0%" and ws["H2"].value == pytest.approx(10 / 11)  # closure rate
    assert ws.freeze_panes == "A2"
    assert [r[0] for r in wb["超期积压点名"].iter_rows(min_row=2, values_only=True)] == ["丙镇", "乙镇"]
    assert [r[0] for r in wb["红牌督办"].iter_rows(min_row=2, values_only=True)] == ["R1", "R5"]
    summary = [r for r in wb["概况"].iter_rows(values_only=True) if r[0] == "上报案件"]
    assert summary and summary[0][1:4] == (20, 10, 10)


def test_html_is_printable_escaped_and_holds_the_ranking(eng):
    from ui.bulletin import CJK_FONT_STACK, bulletin_html

    b = bulletin_data(eng, EAST, "2026-02", "village", "111", min_cases=1, now=NOW)
    doc = bulletin_html(b, "zh")
    hostile = "<script>alert('x')</script>&三村"
    assert hostile not in doc and "<script>" not in doc
    assert html.escape(hostile) in doc
    assert doc.startswith("<!DOCTYPE html>") and "size: A4" in doc and CJK_FONT_STACK in doc
    assert "甲镇2026年2月网格化服务管理工作通报" in doc
    for name in ("甲一村", "甲二村"):
        assert f'<td class="t">{name}</td>' in doc
    assert doc.index("甲一村</td>") < doc.index("甲二村</td>")  # in rank order
    en = bulletin_html(bulletin_data(eng, EAST, "2026-02", "township", "110", min_cases=3, now=NOW), "en")
    assert "东县: grid governance bulletin, February 2026" in en and "<td class=\"n\">63.5</td>" in en


def test_recent_months_newest_first_across_the_new_year():
    assert ranking.recent_months(date(2026, 2, 15), 4) == ["2026-02", "2026-01", "2025-12", "2025-11"]
    months = ranking.recent_months(date(2026, 3, 20))
    assert len(months) == 13 and months[0] == "2026-03" and months[-1] == "2025-03"


@pytest.mark.parametrize("region_level, levels", [
    (None, ["county", "township", "village"]),  # the whole tree
    ("city", ["county", "township", "village"]),
    ("county", ["township", "village"]),
    ("township", ["village"]),
    ("village", []),
    ("grid", []),
])
def test_unit_levels_are_the_levels_below_the_region(region_level, levels):
    assert ranking.unit_levels(region_level) == levels


def test_bulletin_states_its_cut_off_or_that_it_is_provisional(eng):
    from ui.bulletin import bulletin_html, bulletin_workbook

    final = bulletin_data(eng, EAST, "2026-02", "township", "110", min_cases=3, now=NOW, cutoff=5)
    doc = bulletin_html(final, "zh")
    assert "数据截至 3月5日24时" in doc and "初步数据" not in doc
    assert "24:00 on 5 March" in bulletin_html(final, "en")
    early = bulletin_data(eng, EAST, "2026-02", "township", "110", min_cases=3, now=datetime(2026, 3, 2, 9),
                          cutoff=5)
    assert "初步数据" in bulletin_html(early, "zh") and "Provisional" in bulletin_html(early, "en")
    wb = openpyxl_rows(bulletin_workbook(early, "zh"), "概况")
    assert any(isinstance(c, str) and c.startswith("【初步数据】") for row in wb for c in row)


def openpyxl_rows(xlsx: bytes, sheet: str) -> list[tuple]:
    import openpyxl

    return list(openpyxl.load_workbook(io.BytesIO(xlsx))[sheet].iter_rows(values_only=True))


def test_bulletin_file_name_uses_the_region_names(eng):
    from data_access.core.regions import region_tree
    from data_access.queries.case_export import download_name
    from ui.bulletin import file_stem

    tree = region_tree(eng)
    b = bulletin_data(eng, EAST, "2026-02", "township", "110", min_cases=3, now=NOW)
    assert download_name(file_stem(b, "zh", tree), "xlsx") == "测试市_东县_排名通报_2026-02_乡镇街道.xlsx"
    assert download_name(file_stem(b, "en", tree), "html") == "测试市_东县_ranking-bulletin_2026-02_Township.html"
    city = bulletin_data(eng, Scope(), "2026-02", "county", None, min_cases=1, now=NOW)
    assert download_name(file_stem(city, "zh", tree), "xlsx").startswith("全域_排名通报_2026-02_")


# --- issue 20, defect 4: the bulletin contradicting itself ----------------------------------------------------

@pytest.mark.parametrize("n, top, bottom", [
    (0, [], []),
    (1, ["u1"], []),
    (2, ["u1"], ["u2"]),
    (3, ["u1"], ["u3"]),
    (4, ["u1", "u2"], ["u4", "u3"]),
    (5, ["u1", "u2"], ["u5", "u4"]),  # the five counties: top 3 and bottom 3 both named the 3rd
    (6, ["u1", "u2", "u3"], ["u6", "u5", "u4"]),
    (30, ["u1", "u2", "u3"], ["u30", "u29", "u28"]),
])
def test_the_top_and_the_bottom_of_a_ranking_never_name_the_same_unit(n, top, bottom):
    names = [f"u{i}" for i in range(1, n + 1)]
    assert ranking.top_and_bottom(names) == (top, bottom)


def _five_ranked(b):
    """``b`` with five ranked units 甲县 … 戊县 (ranks 1 … 5), as the city's five counties in the demo."""
    import dataclasses

    import pandas as pd

    row = b.ranking[b.ranking["ranked"]].iloc[:1]
    five = pd.concat([row] * 5, ignore_index=True)
    five["name"], five["rank"] = ["甲县", "乙县", "丙县", "丁县", "戊县"], [1, 2, 3, 4, 5]
    return dataclasses.replace(b, ranking=five)


def test_the_bulletins_top_and_bottom_do_not_overlap(eng):
    from ui.bulletin import bulletin_html

    b = _five_ranked(bulletin_data(eng, EAST, "2026-02", "township", "110", min_cases=1, now=NOW))
    doc = bulletin_html(b, "zh")
    assert "综合得分前列：甲县、乙县。" in doc and "综合得分靠后：戊县、丁县。" in doc
    assert "丙县。" not in doc


def test_a_red_order_not_yet_due_has_no_days_past_its_deadline(eng):
    """On 02-26 12:00 R1 (deadline 02-15 09:00) is 11.1 days past it; R5 (issued 02-25, deadline 02-27 09:00) is not
    yet due: no negative "days past" (it was −0.9), but 未到期 in the bulletin and the workbook."""
    import openpyxl

    from ui.bulletin import bulletin_html, bulletin_workbook

    at = datetime(2026, 2, 26, 12, 0)
    b = bulletin_data(eng, EAST, "2026-02", "township", "110", min_cases=1, now=at)
    red = b.red_orders.set_index("supervision_id")["days_past_deadline"]
    assert list(red.index) == ["R1", "R5"]
    assert red["R1"] == pytest.approx(11 + 3 / 24) and math.isnan(red["R5"])
    doc = bulletin_html(b, "zh")
    r5 = doc[doc.index("<td class=\"t\">R5</td>"):]
    assert r5[:r5.index("</tr>")].endswith('<td class="n">未到期</td>')
    assert '<td class="n">-' not in doc[doc.index("<td class=\"t\">R1</td>"):]  # the red-card table
    assert '<td class="n">Not yet due</td>' in bulletin_html(b, "en")
    sheet = openpyxl.load_workbook(io.BytesIO(bulletin_workbook(b, "zh")))["红牌督办"]
    rows = {r[0]: r[-1] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["R1"] == pytest.approx(11 + 3 / 24) and rows["R5"] == "未到期"


FULL_SCALE_STATS = [("ix_supervisions_case_no", "23635 1"), ("sqlite_autoindex_supervisions_1", "24634 1"),
                    ("ix_cases_county_cat_reported", "662340 2001 2001 1"),
                    ("ix_cases_county_reported", "840960 2001 1 1 1"), ("sqlite_autoindex_cases_1", "1170560 1")]


def test_the_red_orders_are_read_before_their_cases_on_sqlite(tmp_path):
    """red_orders_open_at walks the orders and finds each case by its number.  With a county's cases first
    (SQLite's choice on the full statistics) it read every case of the county to probe its orders: ~0.4 s CPU at
    1.07 M cases for 24,000 orders (docs/PERFORMANCE.md, filter change)."""
    from sqlalchemy import event

    from data_access.core.filters import resolve
    from tests.conftest import metrics_db

    e = metrics_db("sqlite", tmp_path)
    with e.begin() as conn:   # the statistics of the 1.07 M benchmark database (the loader's sampled ANALYZE)
        conn.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl IN ('cases', 'supervisions')")
        for idx, stat in FULL_SCALE_STATS:
            conn.exec_driver_sql("INSERT INTO sqlite_stat1 VALUES (?, ?, ?)",
                                 ("supervisions" if "supervisions" in idx else "cases", idx, stat))
    e.dispose()   # (statistics are read when a connection opens)
    try:
        seen = []
        event.listen(e, "before_cursor_execute", lambda conn, cur, sql, params, *a: seen.append((sql, params)))
        ranking.red_orders_open_at(e, resolve(e, Scope(None, "110")), "village", datetime(2026, 3, 31, 23, 59))
        sql, params = next((s, p) for s, p in seen if "FROM supervisions" in s)
        with e.connect() as conn:
            plan = [r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
        assert plan[0].startswith("SCAN supervisions"), plan
        assert "SEARCH cases USING INDEX sqlite_autoindex_cases_1 (case_no=?)" in plan, plan
        assert not any(step.startswith("SCAN cases") or "county" in step for step in plan), plan
    finally:
        e.dispose()
