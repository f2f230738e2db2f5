"""Grid staffing and volunteer teams on the hand-computable fixture (tests/fixtures/staffing/README.md;
now = 2026-04-10 12:00), on SQLite and PostgreSQL: every measure with numbers computed by hand, including a
grid with nobody (G2), a micro-grid without a leader (G3-02), a township whose only chief left (112), an
inactive team (T3) and a new team that is not inactive yet (T5); the roll-up path of the workload equals the
raw path for any period; and AppTest runs of both pages with drill-down and the cards."""
from __future__ import annotations

import math
from datetime import date, datetime

import pytest
from streamlit.testing.v1 import AppTest

from data_access.queries import staffing, volunteers
from data_access.core.access import User
from data_access.core.filters import ALL_TIME, CaseFilter, Scope
from data_access.queries.staffing import period_months
from tests.conftest import FIXTURES, load_fixture, open_app_page, serve_fixture

NOW = datetime(2026, 4, 10, 12, 0)
Q1 = (date(2026, 1, 1), date(2026, 3, 31))  # the period: (date_from, date_to)
VIEWER = User(name="查看者", role="viewer")
STAFF = User(name="工作人员", role="staff")


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def engine(request, tmp_path_factory):
    eng = load_fixture(request.param, tmp_path_factory.mktemp("staffing"), "staffing")
    yield eng
    eng.dispose()


def at(region: str | None = "100") -> Scope:
    return Scope(region_code=region)


# --- staffing ------------------------------------------------------------------------------------------------

def test_city_staffing_counts_active_posts_only(engine):
    s = staffing.staffing_summary(engine, at())
    assert (s.grids, s.micro_grids, s.households, s.population) == (6, 2, 3200, 8500)
    # S03 (chief of 112), S24 and S25 (workers) are former holders: not counted
    assert (s.chief_grid_leader, s.grid_leader, s.grid_worker, s.grid_liaison, s.micro_grid_leader) == (2, 5, 5, 4, 1)
    assert (s.staff, s.party_members, s.grids_covered) == (17, 11, 4)
    assert s.residents_per_worker == 1700 and s.households_per_worker == 640
    assert s.coverage == pytest.approx(4 / 6) and s.party_share == pytest.approx(11 / 17)


def test_staffing_by_county(engine):
    df = staffing.staffing_by_child_region(engine, at()).set_index("code")
    east, west = df.loc["110"], df.loc["120"]
    assert (east.grids, east.micro_grids, east.population, east.grid_worker, east.grids_covered) == (4, 2, 5000, 4, 3)
    assert (east.chief_grid_leader, east.grid_leader, east.grid_liaison, east.micro_grid_leader) == (1, 3, 2, 1)
    assert (east.staff, east.party_members) == (11, 8)
    assert east.residents_per_worker == 1250 and east.households_per_worker == 475 and east.coverage == 0.75
    assert (west.grids, west.population, west.grid_worker, west.staff, west.party_members) == (2, 3500, 1, 6, 3)
    assert west.residents_per_worker == 3500 and west.coverage == 0.5


def test_a_region_without_workers_has_no_ratio_and_children_without_staff_are_listed(engine):
    df = staffing.staffing_by_child_region(engine, at("111")).set_index("code")  # 东镇: 甲村, 乙社区
    assert list(df.index) == ["1111", "1112"]
    assert (df.loc["1111"].grids, df.loc["1111"].grid_worker, df.loc["1111"].grids_covered) == (2, 2, 1)
    # a grid's children are its micro-grids; G2 (nobody) has none: an empty table, no error
    assert staffing.staffing_by_child_region(engine, at("G2")).empty
    g2 = staffing.staffing_summary(engine, at("G2"))
    assert (g2.grids, g2.staff, g2.residents_per_worker, g2.coverage) == (1, 0, None, 0)


def test_the_3_plus_1_plus_n_gaps(engine):
    gaps = {k: list(v["code"]) for k, v in staffing.structure_gaps(engine, at()).items()}
    assert gaps == {"township_no_chief": ["112"], "grid_no_leader": ["G2"], "grid_no_worker": ["G2", "G5"],
                    "grid_no_liaison": ["G2", "G4"], "micro_no_leader": ["G3-02"], "village_no_team": ["1212"]}
    east = {k: list(v["code"]) for k, v in staffing.structure_gaps(engine, at("110")).items()}
    assert east["grid_no_worker"] == ["G2"] and east["village_no_team"] == [] and east["township_no_chief"] == ["112"]
    row = staffing.structure_gaps(engine, at())["micro_no_leader"].iloc[0]
    assert (row["name"], row["grid"], row["village"], row["township"], row["county"]) == \
        ("乙社区2栋", "乙社区第1网格", "乙社区", "东镇", "东县")


def test_poisson_tails():
    """P(X ≥ k) and P(X ≤ k) under Poisson(λ), by hand: P(X ≤ 0 | 3) = e⁻³; P(X ≥ 9 | 3) = 1 − Σ₀⁸ e⁻³3ⁱ/i! =
    0.0038030; no case at all is certain under λ = 0; a count at its mean is about an even chance."""
    import numpy as np

    high, low = staffing.poisson_tails(np.array([0, 9, 0, 30_000]), np.array([3.0, 3.0, 0.0, 30_000.0]))
    assert low[0] == pytest.approx(math.exp(-3)) and high[0] == 1.0
    assert high[1] == pytest.approx(0.0038030, rel=1e-4)
    assert low[2] == 1.0 and high[2] == 1.0
    assert low[3] == pytest.approx(0.5, abs=0.01) and high[3] == pytest.approx(0.5, abs=0.01)


def test_period_months():
    assert period_months(date(2026, 1, 1), date(2026, 3, 31), date(2026, 4, 10), None) == 3.0
    assert period_months(date(2026, 1, 1), date(2026, 6, 30), date(2026, 3, 15), None) == pytest.approx(2 + 15 / 31)
    assert period_months(None, None, date(2026, 2, 14), date(2026, 1, 1)) == pytest.approx(1.5)
    assert period_months(date(2026, 5, 1), None, date(2026, 4, 1), None) == 0.0


def test_workload_median_and_flags(engine):
    w = staffing.grid_workload(engine, at(), Q1, NOW)
    g = w.grids.set_index("code")
    assert w.months == 3.0
    # Q1: G1 6 cases / 2 workers, G3 9 (2 of them in G3-01) / 1, G4 3 / 1, G6 0 / 1; G2 and G5 have no worker
    assert dict(g["cases"]) == {"G1": 6, "G2": 1, "G3": 9, "G4": 3, "G5": 2, "G6": 0}
    assert dict(g["patrol"]) == {"G1": 2, "G2": 0, "G3": 3, "G4": 1, "G5": 0, "G6": 0}
    assert g.loc["G1", "workload"] == 1.0 and g.loc["G3", "workload"] == 3.0 and g.loc["G6", "workload"] == 0.0
    assert w.median == 1.0  # of 0, 1, 1, 3
    # G3: 9 where the median gives 3; P(X >= 9 | Poisson(3)) = 0.0038 < 0.01: beyond chance
    assert dict(g["flag"]) == {"G3": "overloaded", "G1": "ok", "G4": "ok", "G6": "ok",
                               "G2": "no_worker", "G5": "no_worker"}
    assert list(g["expected"][["G1", "G3", "G6"]]) == [6.0, 3.0, 3.0]
    assert list(w.grids["code"][:2]) == ["G3", "G1"]  # heaviest first
    # G6 reported nothing where 3 were expected: P(X = 0 | 3) = 0.0498, quiet only at the 5 % level
    w2 = staffing.grid_workload(engine, at(), Q1, NOW, significance=0.05)
    assert w2.counts == {"overloaded": 1, "quiet": 1, "ok": 2, "no_worker": 2}
    assert staffing.grid_workload(engine, at(), Q1, NOW, overload_multiple=3).counts["overloaded"] == 0


@pytest.mark.parametrize("d_from, d_to", [
    (date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 1, 10), date(2026, 3, 20)), (date(2025, 12, 28), date(2026, 2, 3)),
    (date(2026, 3, 31), date(2026, 3, 31)), (None, None), (date(2026, 2, 1), None)])
def test_the_roll_up_path_equals_the_raw_path(engine, d_from, d_to):
    """Whole months from grid_summary plus edge days from cases give the same counts as a plain count of the
    fixture's cases (reported in the period, by top grid)."""
    import csv

    with open(FIXTURES / "staffing" / "cases.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    expected: dict[str, int] = {}
    for r in rows:
        day = date.fromisoformat(r["reported_at"][:10])
        if (d_from is None or day >= d_from) and (d_to is None or day <= d_to):
            top = r["grid_code"].split("-")[0]
            expected[top] = expected.get(top, 0) + 1
    w = staffing.grid_workload(engine, at(), (d_from, d_to), NOW)
    got = {c: n for c, n in zip(w.grids["code"], w.grids["cases"]) if n}
    assert got == expected


def test_workload_ignores_filters_the_roll_up_does_not_hold(engine):
    """Workload counts every case of the grid: a category or status filter of the caller changes neither
    the whole months (roll-up) nor the edge days (cases)."""
    partial = CaseFilter(region_code="100", date_from=date(2026, 1, 10), date_to=date(2026, 3, 20))
    filtered = partial.with_(categories=("X",), statuses=("closed",))
    assert (filtered.scope, filtered.period) == (partial.scope, partial.period)  # what the page passes
    plain = staffing.grid_workload(engine, partial.scope, partial.period, NOW).grids
    noisy = staffing.grid_workload(engine, filtered.scope, filtered.period, NOW).grids
    assert list(plain["cases"]) == list(noisy["cases"]) and plain["cases"].sum() == 16


def test_a_micro_grid_shows_its_grids_workload(engine):
    w = staffing.grid_workload(engine, at("G3-01"), Q1, NOW)
    assert list(w.grids["code"]) == ["G3"] and int(w.grids["cases"].iloc[0]) == 9


def test_grid_card_masks_phones_and_leaders(engine):
    card = staffing.grid_card(engine, at(), Q1, "G3", VIEWER)
    assert (card.name, card.village, card.township, card.county, card.households, card.population) == \
        ("乙社区第1网格", "乙社区", "东镇", "东县", 700, 2000)
    assert list(card.staff["role"]) == ["grid_leader", "grid_worker", "grid_liaison", "micro_grid_leader"]
    assert list(card.staff["phone"]) == ["139****0011", "138****3333", "137****0031", "136****0040"]
    assert list(card.micro_grids["code"]) == ["G3-01", "G3-02"]
    assert list(card.micro_grids["leader"].fillna("—")) == ["蒋楼长", "—"]
    assert list(card.teams["team_code"]) == ["T2"] and card.teams["leader"].iloc[0] == "赵*"
    assert list(card.recent_cases["case_no"][:3]) == ["w17", "w16", "w15"] and len(card.recent_cases) == 9
    full = staffing.grid_card(engine, at(), Q1, "G3", STAFF)
    assert full.staff["phone"].iloc[1] == "13800003333" and full.teams["leader"].iloc[0] == "赵敏"
    nobody = staffing.grid_card(engine, at(), Q1, "G2", VIEWER)
    assert nobody.staff.empty and nobody.teams.empty and list(nobody.recent_cases["case_no"]) == ["w23"]
    micro = staffing.grid_card(engine, at(), Q1, "G3-01", VIEWER)
    assert micro.grid == "乙社区第1网格" and list(micro.recent_cases["case_no"]) == ["w14", "w11"]
    # the card's cases follow the period, as the workbench it links to does: G1 has 6 in Q1, 8 in all
    assert staffing.grid_card(engine, at(), Q1, "G1", VIEWER).case_count == 6
    whole = staffing.grid_card(engine, at(), ALL_TIME, "G1", VIEWER)
    assert whole.case_count == 8 and list(whole.recent_cases["case_no"][-2:]) == ["w02", "w01"]


def test_grid_card_outside_the_jurisdiction_or_unknown_is_none(engine):
    scoped = Scope(scope_code="110", region_code="110")
    assert staffing.grid_card(engine, scoped, ALL_TIME, "G5", STAFF) is None  # 西县
    assert staffing.grid_card(engine, scoped, ALL_TIME, "1111", STAFF) is None  # a village, not a grid
    assert staffing.grid_card(engine, scoped, ALL_TIME, "nope", STAFF) is None
    assert staffing.grid_card(engine, scoped, ALL_TIME, "G1", STAFF) is not None


def test_find_grids(engine):
    found = staffing.find_grids(engine, at(), "陈")
    assert dict(zip(found["code"], found["matched"])) \
        == {"G3": "staff:陈静"}
    assert list(staffing.find_grids(engine, at(), "甲村")["code"]) == ["G1", "G2"]
    assert list(staffing.find_grids(engine, at(), "G3")["code"]) == ["G3", "G3-01", "G3-02"]
    assert staffing.find_grids(engine, at(), "%").empty and staffing.find_grids(engine, at(), "  ").empty
    assert staffing.find_grids(engine, Scope(scope_code="110", region_code="110"), "丙村").empty  # 西县


def test_article_totals_keep_their_meaning(engine):
    s = staffing.grid_staffing_totals(engine, "100")
    assert (s.grids, s.micro_grids, s.active_grid_workers, s.volunteer_teams, s.volunteer_members) == (6, 2, 5, 5, 61)


# --- volunteer teams --------------------------------------------------------------------------------------

def test_volunteer_summary(engine):
    v = volunteers.volunteer_summary(engine, at(), Q1, NOW, 90)
    # Q1: T1 ×3 (8+10+6 people; 16+30+15 person-hours), T4 (5; 7.5), T2's clean-up (15; 45)
    assert (v.teams, v.members, v.activities, v.participants, v.person_hours) == (5, 61, 5, 44, 113.5)
    assert v.inactive == 1  # T3 (last 2025-06-01); T5 never active but founded 59 days ago: not yet
    assert v.members_per_1000 == pytest.approx(61 * 1000 / 8500)
    # 45 days (cut-off 02-24): + T4 (last 02-20) and T5 (founded 02-10, never active); 30 days: every team
    assert volunteers.volunteer_summary(engine, at(), Q1, NOW, 45).inactive == 3
    assert volunteers.volunteer_summary(engine, at(), Q1, NOW, 30).inactive == 5


def test_volunteers_by_county(engine):
    df = volunteers.volunteers_by_child_region(engine, at(), Q1, NOW, 90).set_index("code")
    assert tuple(df.loc["110", ["teams", "members", "activities", "participants", "inactive"]]) == (4, 46, 4, 39, 1)
    assert df.loc["110", "person_hours"] == 106.0
    assert tuple(df.loc["120", ["teams", "members", "activities", "participants", "inactive"]]) == (1, 15, 1, 5, 0)
    assert df.loc["120", "members_per_1000"] == pytest.approx(15 * 1000 / 3500)


def test_growth_focus_and_activities(engine):
    g = volunteers.team_growth(engine, at())
    assert list(g["month"]) == ["2022-05", "2023-03", "2024-07", "2024-11", "2026-02"]
    assert list(g["teams"]) == [1, 2, 3, 4, 5] and list(g["members"]) == [12, 32, 47, 55, 61]
    tags = volunteers.focus_tags(engine, at())
    assert dict(zip(tags["tag"], tags["teams"])) == {"patrol": 2, "anti_fraud": 1, "care": 1, "cleanup": 1,
                                                     "epidemic": 1, "mediation": 1, "publicity": 1}
    a = volunteers.activities_by_month_kind(engine, at(), Q1)
    assert [tuple(x) for x in a[["month", "kind", "activities", "participants"]].itertuples(index=False)] == [
        ("2026-01", "patrol", 1, 8), ("2026-02", "anti_fraud", 1, 10), ("2026-02", "epidemic", 1, 5),
        ("2026-03", "cleanup", 1, 15), ("2026-03", "patrol", 1, 6)]
    assert a["person_hours"].sum() == 113.5


def test_inactive_and_most_active_teams(engine):
    ina = volunteers.inactive_teams(engine, at(), Q1, NOW, 90)
    assert list(ina["team_code"]) == ["T3"] and ina["days_since"].iloc[0] == (NOW.date() - date(2025, 6, 1)).days
    ina45 = volunteers.inactive_teams(engine, at(), Q1, NOW, 45)
    assert list(ina45["team_code"]) == ["T5", "T3", "T4"]  # never active first, then longest silent
    top = volunteers.most_active_teams(engine, at(), Q1, NOW)
    assert list(top["team_code"]) == ["T1", "T2", "T4"]  # T2 and T4 one each: T2 has more volunteer hours
    assert tuple(top.iloc[0][["activities", "participants", "person_hours"]]) == (3, 24, 61.0)


def test_team_card(engine):
    card = volunteers.team_card(engine, at(), Q1, "T1", VIEWER, NOW)
    assert (card.leader, card.members, card.place_code, card.grid, card.village) == ("李*", 12, "G1", "甲村第1网格", "甲村")
    assert card.focus == ["patrol", "anti_fraud"] and card.last_activity == date(2026, 3, 5)
    assert len(card.activities) == 3 and card.area_case_count == 6  # G1's Q1 cases
    assert volunteers.team_card(engine, at(), Q1, "T1", STAFF, NOW).leader == "李强"
    t3 = volunteers.team_card(engine, at(), Q1, "T3", VIEWER, NOW)  # no grid: its village's cases
    assert t3.place_code == "1121" and t3.area_case_count == 3
    scoped = Scope(scope_code="110", region_code="110")
    assert volunteers.team_card(engine, scoped, ALL_TIME, "T4", STAFF, NOW) is None  # 西县
    assert volunteers.team_card(engine, scoped, ALL_TIME, "nope", STAFF, NOW) is None
    assert list(volunteers.find_teams(engine, scoped, "娄底红")["team_code"]) == ["T1", "T2", "T3", "T5"]


# --- pages ---------------------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "pg"])
def page_url(request, tmp_path, monkeypatch) -> str:
    return serve_fixture(request.param, tmp_path, monkeypatch, "staffing", NOW)


def open_page(url: str, page: str, query: dict | None = None, role: str = "leader",
              scope: str | None = None) -> AppTest:
    return open_app_page(url, page, {"period": "all", **(query or {})}, role, scope)


def ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def rerun(at: AppTest) -> AppTest:
    at._finished_page_script_hash = ""  # see tests/test_app.py: rerun
    at.run()
    ok(at)
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_staffing_page_numbers_and_drill_down(page_url):
    at = open_page(page_url, "staffing")
    assert metric(at, "网格") == "6" and metric(at, "在岗网格员") == "5" and metric(at, "覆盖率") == "66.7%"
    assert metric(at, "人均居民") == "1,700"
    table = at.dataframe[0].value
    assert dict(zip(table["name"], table["grid_worker"])) == {"东县": 4, "西县": 1}
    # one level down (what a click in the table does: the region in the URL), then a grid: its card
    at = open_page(page_url, "staffing", {"region": "110"})
    assert metric(at, "网格") == "4" and "东县" in at.title[0].value
    assert dict(zip(at.dataframe[0].value["name"], at.dataframe[0].value["grids"])) == {"东镇": 3, "北镇": 1}
    at = open_page(page_url, "staffing", {"region": "G3"})
    assert "网格名片" in at.subheader[0].value and metric(at, "常住人口") == "2,000"


@pytest.mark.parametrize("view", ["structure", "workload", "find"])
def test_staffing_views_render_from_the_url(page_url, view):
    at = open_page(page_url, "staffing", {"view": view, "q": "陈"})
    assert at.segmented_control(key="stf_view").value == view
    if view == "structure":
        assert [m.value for m in at.metric][-6:] == ["1", "1", "2", "2", "1", "1"]
    if view == "find":
        assert list(at.dataframe[0].value["name"]) == ["乙社区第1网格"]


def test_staffing_page_grid_card_masks_for_a_viewer(page_url):
    at = open_page(page_url, "staffing", {"region": "G3"}, role="viewer")
    assert "网格名片" in at.subheader[0].value
    staff_table = at.dataframe[0].value
    assert list(staff_table["phone"]) == ["139****0011", "138****3333", "137****0031", "136****0040"]
    strings = " ".join(str(x) for df in at.dataframe for x in df.value.to_numpy().ravel())
    assert "13800003333" not in strings and "赵敏" not in strings


def test_volunteers_page_numbers_and_team_card(page_url):
    at = open_page(page_url, "volunteers", {"from": "2026-01-01", "to": "2026-03-31", "period": "custom"})
    assert metric(at, "志愿服务队") == "5" and metric(at, "队员") == "61"
    assert metric(at, "期内活动") == "5" and metric(at, "参与人次") == "44"
    assert metric(at, "沉寂队伍") == "1"  # 180 days by default: T3
    at = open_page(page_url, "volunteers", {"team": "T1"}, role="viewer")
    assert "甲村娄底红志愿服务队" in at.subheader[0].value
    assert metric(at, "队长").replace("\\", "") == "李*"  # shown escaped: plain text, not Markdown


@pytest.mark.parametrize("view", ["activities", "teams"])
def test_volunteer_views_render(page_url, view):
    at = open_page(page_url, "volunteers", {"view": view, "days": "90"})
    assert at.segmented_control(key="vol_view").value == view
    if view == "teams":
        assert "丁村娄底红志愿服务队" in list(at.dataframe[0].value["name"])


def test_a_foreign_team_link_opens_nothing(page_url):
    at = open_page(page_url, "volunteers", {"team": "T4"}, role="staff", scope="110")
    assert at.warning and "丙村" not in " ".join(s.value for s in at.subheader)


def test_the_workload_histogram_sends_bins_not_one_row_per_grid():
    import pandas as pd

    from ui.charts import workload_bins

    grids = pd.DataFrame({"workload": [0.1, 0.5, 2.4, 2.4, 2.5, 7.9, None],
                          "flag": ["quiet", "normal", "normal", "normal", "normal", "overloaded", "no_worker"]})
    bins = workload_bins(grids, {"quiet": "Q", "normal": "N", "overloaded": "O", "no_worker": "X"})
    # range 0.1–7.9 over at most 40 bins: width 0.2; 2.4 falls in [2.4, 2.6) with 2.5; the grid without a
    # worker has no workload and no bar
    assert [(round(r.bin_start, 1), r.flag_label, r.grids, round(r.bin_end, 1)) for r in bins.itertuples()] == [
        (0.0, "Q", 1, 0.2), (0.4, "N", 1, 0.6), (2.4, "N", 3, 2.6), (7.8, "O", 1, 8.0)]
