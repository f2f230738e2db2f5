"""Clean-governance units (清廉单元) on the hand-computable fixture (tests/fixtures/clean/README.md), on SQLite
and PostgreSQL: units by kind and region against the eligible villages and townships, the month's headline
numbers, the ranking with shared ranks and rank change (乙社区 Q04 drops from 1st to 4th to 6th), the units rated
good and those named, a unit without reviews (Q10), a unit that applied in February (Q11), a unit's history, the
Excel workbook (strings never formulas), the figures test_article_figures.py reads; and AppTest runs of the page,
including a dataset without the optional files (the "no data of this kind" state)."""
from __future__ import annotations

import io
from datetime import date, datetime

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data_access.queries import clean_units as clean
from data_access.core.access import User
from data_access.core.filters import OutOfScope, Scope
from tests.conftest import load_fixture, open_app_page, serve_fixture

NOW = datetime(2026, 4, 10, 12, 0)
STAFF = User(name="工作人员", role="staff")


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def engine(request, tmp_path_factory):
    eng = load_fixture(request.param, tmp_path_factory.mktemp("clean"), "clean")
    yield eng
    eng.dispose()


def at(region: str | None = "100") -> Scope:
    return Scope(region_code=region)


def ranks(df) -> dict[str, tuple]:
    """unit → (rank, previous rank, change) with None for a missing value."""
    def v(x):
        return None if pd.isna(x) else int(x)

    return {u: (v(a), v(b), v(c)) for u, a, b, c in zip(df["unit_code"], df["rank"], df["prev_rank"],
                                                         df["rank_change"])}


# --- units ---------------------------------------------------------------------------------------------------

def test_what_is_loaded_and_the_review_months(engine):
    assert clean.clean_data_loaded(engine) == (True, True)
    assert clean.review_months(engine, at()) == ["2026-01", "2026-02", "2026-03"]
    assert clean.review_months(engine, at("1212")) == []  # 戊村 has no unit
    assert clean.review_months(engine, at("G1")) == []  # units never sit at a grid


def test_units_by_kind_against_the_eligible(engine):
    df = clean.units_by_kind(engine, at()).set_index("kind")
    assert list(df.index) == ["organ", "village", "enterprise", "school", "hospital", "other"]
    assert dict(df["units"]) == {"organ": 2, "village": 4, "enterprise": 1, "school": 1, "hospital": 2, "other": 1}
    # villages: 5 in the city, 4 with a village unit (戊村 has none); townships: 3, only 东镇 has one
    assert (df.loc["village", "eligible"], df.loc["village", "covered"], df.loc["village", "coverage"]) == (5, 4, 0.8)
    assert (df.loc["other", "eligible"], df.loc["other", "covered"]) == (3, 1)
    assert df.loc["other", "coverage"] == pytest.approx(1 / 3)
    for kind in ("organ", "enterprise", "school", "hospital"):  # no known count: "—"
        assert pd.isna(df.loc[kind, "eligible"]) and pd.isna(df.loc[kind, "coverage"])
    east = clean.units_by_kind(engine, at("110")).set_index("kind")
    assert tuple(east.loc["village", ["eligible", "covered", "coverage"]]) == (3, 3, 1.0)
    assert (east.loc["other", "eligible"], east.loc["other", "covered"], east.loc["other", "coverage"]) == (2, 1, 0.5)
    west = clean.units_by_kind(engine, at("120")).set_index("kind")
    assert (west.loc["village", "eligible"], west.loc["village", "covered"]) == (2, 1)
    assert (west.loc["other", "eligible"], west.loc["other", "covered"], west.loc["other", "coverage"]) == (1, 0, 0.0)
    assert dict(west["units"])["hospital"] == 2 and west["units"].sum() == 3


def test_units_by_child_region_with_the_month(engine):
    city = clean.units_by_child_region(engine, at(), "2026-03").set_index("code")
    assert list(city.index) == ["110", "120"]  # nothing sits at the city itself: no own-level row
    assert tuple(city.loc["110", ["units", "reviewed", "good", "fair", "poor", "named"]]) == (8, 7, 4, 2, 1, 1)
    assert city.loc["110", "avg_score"] == pytest.approx(607.5 / 7)  # 86.8
    assert tuple(city.loc["120", ["units", "reviewed", "good", "fair", "poor", "named"]]) == (3, 3, 0, 2, 1, 1)
    assert city.loc["120", "avg_score"] == 77.5
    east = clean.units_by_child_region(engine, at("110"), "2026-03")
    assert list(east["code"]) == ["110", "111", "112"] and list(east["own"]) == [True, False, False]
    e = east.set_index("code")
    # own level: Q01 94, Q02 83 and Q10 (no review); 东镇: Q03 92.5, Q04 87, Q07 91, Q09 90; 北镇: Q05 70
    assert tuple(e.loc["110", ["units", "reviewed", "good"]]) == (3, 2, 1) and e.loc["110", "avg_score"] == 88.5
    assert tuple(e.loc["111", ["units", "reviewed", "good"]]) == (4, 4, 3) and e.loc["111", "avg_score"] == 90.125
    assert tuple(e.loc["112", ["units", "avg_score", "poor", "named"]]) == (1, 70.0, 1, 1)
    villages = clean.units_by_child_region(engine, at(), "2026-03", "village").set_index("code")
    assert dict(villages["units"]) == {"110": 3, "120": 1}
    assert clean.units_by_child_region(engine, at("1111"), "2026-03").empty  # a village's children are grids


# --- the month's headline numbers --------------------------------------------------------------------------

def test_summary_of_the_latest_month(engine):
    s = clean.clean_summary(engine, at(), "2026-03")
    assert (s.units, s.reviewed, s.good, s.fair, s.poor, s.named, s.named_ytd) == (11, 10, 4, 4, 2, 2, 2)
    assert s.avg_score == pytest.approx(84.0)  # 840 / 10
    assert s.good_share == 0.4


def test_summary_of_earlier_months_and_the_year_to_date(engine):
    jan = clean.clean_summary(engine, at(), "2026-01")
    assert (jan.reviewed, jan.good, jan.fair, jan.poor, jan.named, jan.named_ytd) == (9, 3, 5, 1, 1, 1)
    assert jan.avg_score == pytest.approx(753 / 9)
    feb = clean.clean_summary(engine, at(), "2026-02")
    # nobody named in February; 丁村 (Q05) named in January counts this year
    assert (feb.reviewed, feb.good, feb.named, feb.named_ytd) == (9, 3, 0, 1)
    assert feb.avg_score == pytest.approx(772 / 9)
    none = clean.clean_summary(engine, at(), "2025-12")
    assert (none.units, none.reviewed, none.avg_score, none.named) == (11, 0, None, 0)
    assert clean.clean_summary(engine, at(), None) == clean.CleanSummary(month=None, units=11)


def test_summary_by_region_and_kind(engine):
    east = clean.clean_summary(engine, at("110"), "2026-03")
    assert (east.units, east.reviewed, east.good, east.named, east.named_ytd) == (8, 7, 4, 1, 1)
    assert east.avg_score == pytest.approx(607.5 / 7)
    west = clean.clean_summary(engine, at("120"), "2026-03")
    assert (west.units, west.reviewed, west.avg_score, west.named) == (3, 3, 77.5, 1)
    v = clean.clean_summary(engine, at(), "2026-03", "village")
    assert (v.units, v.reviewed, v.good, v.poor, v.named, v.named_ytd) == (4, 4, 1, 2, 2, 2)
    assert v.avg_score == pytest.approx((92.5 + 87 + 70 + 58) / 4)
    assert clean.clean_summary(engine, at("G1"), "2026-03").units == 0


# --- the ranking -------------------------------------------------------------------------------------------

def test_ranking_of_march_with_rank_change(engine):
    df = clean.monthly_ranking(engine, at(), "2026-03")
    assert list(df["unit_code"]) == ["Q01", "Q03", "Q07", "Q09", "Q08", "Q04", "Q11", "Q02", "Q05", "Q06"]
    assert ranks(df) == {
        "Q01": (1, 1, 0), "Q03": (2, 2, 0), "Q07": (3, 3, 0), "Q09": (4, 5, 1), "Q08": (5, 8, 3),
        "Q04": (6, 4, -2),  # 乙社区 drops again
        "Q11": (7, None, None),  # first reviewed in March: no previous rank
        "Q02": (8, 5, -3), "Q05": (9, 9, 0), "Q06": (10, 7, -3)}
    row = df.set_index("unit_code").loc["Q03"]
    assert (row["name"], row["kind"], row["place"], row["score"], row["rating"]) == \
        ("甲村", "village", "东县 · 东镇 · 甲村", 92.5, "good")
    assert list(df[df["notified"]]["unit_code"]) == ["Q05", "Q06"]
    assert list(df[df["rating"] == "good"]["unit_code"]) == ["Q01", "Q03", "Q07", "Q09"]
    assert "Q10" not in set(df["unit_code"])  # never reviewed: not ranked


def test_ranking_ties_share_a_rank_and_the_drop_from_first(engine):
    feb = clean.monthly_ranking(engine, at(), "2026-02")
    # Q02 and Q09 both 86.0: rank 5 each, listed by code, the next is 7th (1, 2, 2, 4 rule)
    assert list(feb["rank"]) == [1, 2, 3, 4, 5, 5, 7, 8, 9]
    assert ranks(feb)["Q04"] == (4, 1, -3)  # 95 → 89: from 1st to 4th
    assert ranks(feb)["Q03"] == (2, 4, 2) and ranks(feb)["Q02"] == (5, 5, 0) and ranks(feb)["Q09"] == (5, 5, 0)
    jan = clean.monthly_ranking(engine, at(), "2026-01")
    assert jan["prev_rank"].isna().all() and jan["rank_change"].isna().all()  # no December review
    assert list(jan["unit_code"][:2]) == ["Q04", "Q01"] and list(jan["rank"][4:6]) == [5, 5]


def test_ranking_within_a_region_and_a_kind(engine):
    east = clean.monthly_ranking(engine, at("110"), "2026-03")
    assert ranks(east) == {"Q01": (1, 1, 0), "Q03": (2, 2, 0), "Q07": (3, 3, 0), "Q09": (4, 5, 1), "Q04": (5, 4, -1),
                           "Q02": (6, 5, -1), "Q05": (7, 7, 0)}
    villages = clean.monthly_ranking(engine, at(), "2026-03", "village")
    assert ranks(villages) == {"Q03": (1, 1, 0), "Q04": (2, 2, 0), "Q05": (3, 4, 1), "Q06": (4, 3, -1)}
    assert clean.monthly_ranking(engine, at("1212"), "2026-03").empty


def test_units_not_reviewed_follow_the_application_date(engine):
    assert list(clean.unreviewed_units(engine, at(), "2026-01")["unit_code"]) == ["Q10"]  # Q11 applied 02-15
    assert list(clean.unreviewed_units(engine, at(), "2026-02")["unit_code"]) == ["Q10", "Q11"]
    march = clean.unreviewed_units(engine, at(), "2026-03")
    assert list(march["unit_code"]) == ["Q10"] and march["applied_on"].iloc[0] == date(2025, 12, 1)
    assert clean.unreviewed_units(engine, at("120"), "2026-03").empty


def test_month_review_bundles_the_month(engine):
    r = clean.month_review(engine, at(), "2026-03", now=NOW)
    assert (r.region_name, r.month, r.kind, r.generated_at) == ("测试市", "2026-03", None, NOW)
    assert r.summary.reviewed == 10 and r.prev_summary.reviewed == 9 and r.prev_summary.month == "2026-02"
    assert list(r.good["unit_code"]) == ["Q01", "Q03", "Q07", "Q09"] and list(r.named["unit_code"]) == ["Q05", "Q06"]
    assert list(r.unreviewed["unit_code"]) == ["Q10"]


# --- month by month and a unit's history --------------------------------------------------------------------

def test_monthly_trend_and_every_bulletin(engine):
    tr = clean.monthly_trend(engine, at())
    assert [tuple(x) for x in tr[["month", "reviewed", "good", "fair", "poor", "named"]].itertuples(index=False)] == [
        ("2026-01", 9, 3, 5, 1, 1), ("2026-02", 9, 3, 5, 1, 0), ("2026-03", 10, 4, 4, 2, 2)]
    assert list(tr["avg_score"]) == pytest.approx([753 / 9, 772 / 9, 84.0])
    named = clean.named_units(engine, at())
    assert [tuple(x) for x in named[["month", "unit_code"]].itertuples(index=False)] == [
        ("2026-03", "Q05"), ("2026-03", "Q06"), ("2026-01", "Q05")]
    assert list(clean.named_units(engine, at("120"))["unit_code"]) == ["Q06"]


def test_a_units_history(engine):
    h = clean.unit_history(engine, at(), "Q04")
    assert (h.name, h.kind, h.place, h.applied_on) == ("乙社区", "village", "东县 · 东镇 · 乙社区", date(2025, 9, 5))
    m = h.months
    assert list(m["month"]) == ["2026-01", "2026-02", "2026-03"] and list(m["score"]) == [95.0, 89.0, 87.0]
    assert list(m["rating"]) == ["good", "fair", "fair"]
    assert list(m["rank"]) == [1, 4, 6] and list(m["ranked"]) == [9, 9, 10]
    assert [None if pd.isna(x) else int(x) for x in m["rank_change"]] == [None, -3, -2]
    # the same unit ranked among the villages only: 1st, 2nd, 2nd
    assert list(clean.unit_history(engine, at(), "Q04", "village").months["rank"]) == [1, 2, 2]
    named = clean.unit_history(engine, at(), "Q05").months
    assert list(named["notified"]) == [True, False, True] and named["note"].iloc[1] == "限期整改"
    new = clean.unit_history(engine, at(), "Q11").months
    assert list(new["month"]) == ["2026-03"] and new["rank_change"].isna().all()


def test_a_unit_without_reviews_and_units_outside(engine):
    h = clean.unit_history(engine, at(), "Q10")
    assert h is not None and h.months.empty and h.latest is None
    assert clean.unit_history(engine, at("120"), "Q04") is None  # 乙社区 lies in 东县
    assert clean.unit_history(engine, Scope(scope_code="120", region_code="120"), "Q04", user=STAFF) is None
    assert clean.unit_history(engine, at(), "nope") is None
    with pytest.raises(OutOfScope):
        clean.unit_history(engine, Scope(scope_code="120", region_code="110"), "Q04")


def test_bad_arguments_are_refused(engine):
    with pytest.raises(ValueError):
        clean.monthly_ranking(engine, at(), "2026-3")
    with pytest.raises(ValueError):
        clean.monthly_ranking(engine, at(), "2026-03", "church")
    with pytest.raises(ValueError):
        clean.units_rated(engine, "2026-03", "excellent")


def test_the_article_functions_keep_their_meaning(engine):
    n = {(r.kind, r.region_level): r.units for r in clean.clean_units_by_kind(engine, "100").itertuples()}
    assert n == {("enterprise", "county"): 1, ("hospital", "county"): 1, ("hospital", "township"): 1,
                 ("organ", "county"): 2, ("other", "township"): 1, ("school", "township"): 1,
                 ("village", "village"): 4}
    assert clean.units_rated(engine, "2026-03", "good", "100") == 4
    assert clean.units_rated(engine, "2026-06", "good", "100") == 0
    named = clean.notified_units(engine, "100")
    assert [tuple(x) for x in named[["unit_code", "month"]].itertuples(index=False)] == [
        ("Q05", "2026-01"), ("Q05", "2026-03"), ("Q06", "2026-03")]


def test_a_dataset_without_the_optional_files(tmp_path):
    eng = load_fixture("sqlite", tmp_path, "staffing")  # no clean-unit files
    assert clean.clean_data_loaded(eng) == (False, False)
    assert clean.review_months(eng, Scope()) == []
    assert clean.units_by_kind(eng, Scope())["units"].sum() == 0
    assert clean.monthly_ranking(eng, Scope(), "2026-03").empty
    eng.dispose()


# --- the workbook ------------------------------------------------------------------------------------------

def test_review_workbook(engine):
    import openpyxl

    from ui import clean_review

    r = clean.month_review(engine, at(), "2026-03", now=NOW)
    wb = openpyxl.load_workbook(io.BytesIO(clean_review.review_workbook(r, "zh")))
    assert wb.sheetnames == ["概况", "排名", "通报", "未参评"]
    assert wb["概况"]["A1"].value == "测试市清廉单元2026年3月点评（全部类型）"
    summary = {row[0]: row[1:4] for row in wb["概况"].iter_rows(min_row=8, max_row=15, values_only=True)}
    assert summary["本月参评"] == (10, 9, 1) and summary["本月通报"] == (2, 0, 2)
    assert summary["平均得分"][0] == pytest.approx(84.0)
    rows = list(wb["排名"].iter_rows(values_only=True))
    assert rows[0][:4] == ("名次", "单元", "类型", "所在地") and len(rows) == 11
    q04 = next(x for x in rows if x[-1] == "Q04")
    assert q04[:8] == (6, "乙社区", "村（社区）", "东县 · 东镇 · 乙社区", 87, "一般", 4, -2)
    q02 = next(row for row in wb["排名"].iter_rows(min_row=2) if row[-1].value == "Q02")
    assert q02[9].value == "=整改到位后复评" and q02[9].data_type == "s"  # a string, never a formula
    assert [x[0] for x in wb["通报"].iter_rows(min_row=2, values_only=True)] == ["丁村", "丙村"]
    unrev = list(wb["未参评"].iter_rows(min_row=2, values_only=True))
    assert unrev[0][0] == "东县建材有限公司" and unrev[0][3] == datetime(2025, 12, 1)
    en = openpyxl.load_workbook(io.BytesIO(clean_review.review_workbook(
        clean.month_review(engine, at(), "2026-02", "village", now=NOW), "en")))
    assert en.sheetnames == ["Summary", "Ranking", "Named", "Not reviewed"]
    assert en["Summary"]["A1"].value == "Clean-governance units of 测试市: review of February 2026 (Villages)"
    assert [x[1] for x in en["Ranking"].iter_rows(min_row=2, values_only=True)] == ["甲村", "乙社区", "丙村", "丁村"]
    assert list(en["Named"].iter_rows(min_row=2, values_only=True)) == []


# --- the page -----------------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "pg"])
def page_url(request, tmp_path, monkeypatch) -> str:
    return serve_fixture(request.param, tmp_path, monkeypatch, "clean", NOW)


def open_page(url: str, query: dict | None = None, role: str = "leader", scope: str | None = None,
              lang: str | None = None) -> AppTest:
    return open_app_page(url, "clean_units", {"period": "all", **(query or {})}, role, scope, lang)


def ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_page_headline_numbers_and_ranking(page_url):
    at = open_page(page_url)
    assert "清廉单元" in at.title[0].value and "测试市" in at.title[0].value
    assert at.selectbox(key="cln_month").value == "2026-03"  # the latest review month
    assert [metric(at, x) for x in ("创建单元", "本月参评", "平均得分", "评定“好”", "本月通报", "今年累计通报")] == \
        ["11", "10", "84.0", "4", "2", "2"]
    table = at.dataframe[0].value
    assert list(table["unit_code"]) == ["Q01", "Q03", "Q07", "Q09", "Q08", "Q04", "Q11", "Q02", "Q05", "Q06"]
    q04 = table.set_index("unit_code").loc["Q04"]
    assert (q04["rank"], q04["prev_rank"], q04["rank_change"], q04["rating_label"]) == (6, 4, -2, "一般")
    assert list(at.dataframe[1].value["name"]) == ["东县纪委监委", "甲村", "东镇中学", "东镇"]  # rated good
    assert list(at.dataframe[2].value["name"]) == ["丁村", "丙村"]  # named this month


def test_page_earlier_month_kind_and_region_from_the_url(page_url):
    at = open_page(page_url, {"month": "2026-02"})
    assert metric(at, "本月通报") == "0" and metric(at, "今年累计通报") == "1"
    feb = at.dataframe[0].value.set_index("unit_code")
    assert (feb.loc["Q04", "rank"], feb.loc["Q04", "rank_change"]) == (4, -3)
    assert any("本月无通报单元" in s.value for s in at.success)
    at = open_page(page_url, {"kind": "village", "region": "110"})
    assert metric(at, "创建单元") == "3" and "东县" in at.title[0].value
    assert list(at.dataframe[0].value["unit_code"]) == ["Q03", "Q04", "Q05"]


def test_page_units_and_months_views(page_url):
    at = open_page(page_url, {"view": "units"})
    assert at.segmented_control(key="cln_view").value == "units"
    kinds = at.dataframe[0].value.set_index("kind")
    assert tuple(kinds.loc["village", ["units", "eligible", "covered"]]) == (4, 5, 4)
    assert kinds.loc["village", "coverage"] == pytest.approx(80.0)
    child = at.dataframe[1].value
    assert dict(zip(child["name"], child["units"])) == {"东县": 8, "西县": 3}
    at = open_page(page_url, {"view": "units", "region": "110"})
    assert at.dataframe[1].value["name"].iloc[0] == "（本级）东县"
    at = open_page(page_url, {"view": "months"})
    assert list(at.dataframe[0].value["reviewed"]) == [9, 9, 10]
    assert list(at.dataframe[1].value["unit_code"]) == ["Q05", "Q06", "Q05"]


def test_page_unit_card(page_url):
    at = open_page(page_url, {"unit": "Q04"})
    assert "乙社区" in at.subheader[0].value
    assert metric(at, "最近得分") == "87.0" and metric(at, "最近名次") == "6 / 10"
    history = at.dataframe[0].value
    assert list(history["rank"]) == [6, 4, 1]  # newest first
    at = open_page(page_url, {"unit": "Q10"})
    assert metric(at, "最近得分") == "—" and any("尚无点评" in i.value for i in at.info)
    at = open_page(page_url, {"unit": "Q04"}, role="staff", scope="120")  # outside the jurisdiction
    assert at.warning and "乙社区" not in " ".join(s.value for s in at.subheader)


def test_page_in_english(page_url):
    at = open_page(page_url, lang="en")
    assert metric(at, "Rated good") == "4" and metric(at, "Named this year") == "2"
    assert "Clean governance" in at.title[0].value
    assert at.dataframe[0].value.set_index("unit_code").loc["Q05", "named_label"] == "Named"


def test_page_bad_url_values_fall_back(page_url):
    at = open_page(page_url, {"month": "2019-01", "kind": "church", "view": "nope"})
    assert at.selectbox(key="cln_month").value == "2026-03" and at.selectbox(key="cln_kind").value == "all"
    assert at.segmented_control(key="cln_view").value == "ranking"


def test_page_without_clean_unit_files_says_so(tmp_path, monkeypatch):
    at = open_page(serve_fixture("sqlite", tmp_path, monkeypatch, "staffing", NOW))  # no clean-unit files
    assert any("未加载此类数据" in i.value for i in at.info)
    assert not at.metric and not at.dataframe


def test_review_file_name_uses_the_region_names():
    from types import SimpleNamespace

    from data_access.core.regions import Node, RegionTree
    from ui.clean_review import file_name

    tree = RegionTree(nodes={n.code: n for n in [Node("4313", "娄底市", "city", None),
                                                 Node("431302", "娄星区", "county", "4313")]})
    review = SimpleNamespace(region_code="431302", month="2026-11", kind=None)
    assert file_name(review, "zh", tree) == "娄底市_娄星区_清廉单元点评_2026-11_全部类型.xlsx"
    assert file_name(SimpleNamespace(region_code=None, month="2026-11", kind=None), "zh", tree).startswith("全域_")
