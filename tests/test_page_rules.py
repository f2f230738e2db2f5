"""Rules the staffing, volunteers, assets, clean-units pages and the Overview used to work out themselves, now in
data_access (pure functions, no database), and the pieces of ui/tables.py those pages' tables need: each on a
value small enough to check by hand."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from data_access.core.regions import Node, RegionTree, map_city
from data_access.queries import assets, clean_units, staffing, volunteers
from ui import clean_review, fmt, tables

# --- the county map's city -------------------------------------------------------------------------------------

#   P (province) ── C (city) ── K1 (county) ── T (township)
#                            └─ K2 (county)
#               └─ D (city)
_NODES = [("P", "province", None), ("C", "city", "P"), ("K1", "county", "C"), ("T", "township", "K1"),
          ("K2", "county", "C"), ("D", "city", "P")]
TREE = RegionTree(nodes={c: Node(c, c, lv, p) for c, lv, p in _NODES},
                  children_of={None: ["P"], "P": ["C", "D"], "C": ["K1", "K2"], "K1": ["T"]})


@pytest.mark.parametrize("code, scope, city", [
    ("T", None, "C"),  # a township of C, no jurisdiction: C's counties
    ("K2", "P", "C"),  # a province's user: still the city the selection lies in
    ("C", "C", "C"),  # the city itself, a city's user
    ("T", "K1", None),  # a county's user: the map would show K2, outside the jurisdiction
    ("T", "T", None),  # a township's user
    ("P", None, None),  # the province: no city
    (None, None, None),  # nothing selected
])
def test_the_county_map_shows_the_city_of_the_selection_only_to_a_user_who_sees_the_whole_city(code, scope, city):
    assert map_city(TREE, code, scope) == city


# --- staffing ----------------------------------------------------------------------------------------------------

def test_a_row_per_grid_drops_the_count_of_grids_and_the_chief_grid_leader():
    assert staffing.columns_without_meaning("grid") == {"grids", "chief_grid_leader"}
    assert staffing.columns_without_meaning("micro_grid") == {"grids", "chief_grid_leader"}
    assert staffing.columns_without_meaning("township") == set()


def _gaps(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=staffing.GAP_LIST_COLUMNS)


def test_gap_counts_and_the_places_worth_showing():
    grids = _gaps([("G1", "网格一", "grid", None, "东村", "东镇", "东县"),
                   ("G2", "网格二", "grid", None, "西村", None, "东县")])
    towns = _gaps([("T1", "东镇", "township", None, None, None, "东县")])
    assert staffing.gap_counts({"grid_no_leader": grids, "township_no_chief": towns, "village_no_team": _gaps([])}) \
        == {"grid_no_leader": 2, "township_no_chief": 1, "village_no_team": 0}
    # a grid's own level is left out, and so is a level no node names (here none lies in a grid)
    assert staffing.gap_place_columns(grids, "grid") == ["village", "township", "county"]
    assert staffing.gap_place_columns(towns, "township") == ["county"]


def test_the_workload_thresholds_offered_hold_the_defaults():
    assert staffing.OVERLOAD_MULTIPLES == (1.5, 2.0, 3.0) and staffing.QUIET_FRACTIONS == (0.1, 0.25, 0.5)
    assert staffing.DEFAULT_OVERLOAD_MULTIPLE in staffing.OVERLOAD_MULTIPLES
    assert staffing.DEFAULT_QUIET_FRACTION in staffing.QUIET_FRACTIONS


def _workload(cases: list[int]) -> staffing.Workload:
    grids = pd.DataFrame({"code": [f"G{i}" for i in range(len(cases))], "cases": cases})
    return staffing.Workload(grids=grids, months=3.0, median=1.0, overload_multiple=2.0, quiet_fraction=0.25,
                             significance=0.01)


def test_the_workload_adds_up_the_grids_cases():
    assert _workload([3, 0, 2]).total_cases == 5
    assert _workload([0, 0]).total_cases == 0
    assert _workload([]).total_cases == 0


def test_a_grid_card_counts_its_micro_grids_and_teams():
    none = pd.DataFrame()
    card = staffing.GridCard(
        code="G1", name="网格一", level="grid", grid=None, village="东村", township="东镇", county="东县",
        households=120, population=400, staff=none,
        micro_grids=pd.DataFrame({"code": ["G1-1", "G1-2"], "name": ["一", "二"]}),
        teams=pd.DataFrame({"team_code": ["T1", "T2", "T3"]}), recent_cases=none, case_count=0)
    assert (card.micro_grid_count, card.team_count) == (2, 3)


def test_a_label_and_its_text():
    assert fmt.labelled("地点", "东镇", "zh") == "地点：东镇" and fmt.labelled("Place", "East", "en") == "Place: East"


# --- volunteers ----------------------------------------------------------------------------------------------

def test_a_team_card_counts_its_activities_and_the_choices_offered():
    card = volunteers.TeamCard(
        team_code="T1", name="娄底红一队", members=12, leader=None, founded_on=None, focus=[], place_code="G1",
        grid=None, village=None, township=None, county=None, last_activity=None,
        activities=pd.DataFrame({"date": ["2026-03-01", "2026-02-01"], "kind": ["patrol", "care"]}),
        area_cases=pd.DataFrame(), area_case_count=0)
    assert card.activity_count == 2
    assert volunteers.INACTIVE_DAYS_CHOICES == (90, 180, 365)
    assert volunteers.ACTIVITY_MEASURES == ("activities", "participants", "person_hours")


# --- assets ----------------------------------------------------------------------------------------------------

def _card(minimum: list, per_day: list) -> assets.ProjectCard:
    n = len(minimum)
    months = pd.DataFrame({"month": [f"2026-0{i + 1}" for i in range(n)], "revenue_wan": [1.0] * n,
                           "visitors": per_day, "visitors_per_day": pd.Series(per_day, dtype="float64"),
                           "minimum_wan": pd.Series(minimum, dtype="float64"),
                           "shortfall_wan": pd.Series(minimum, dtype="float64")})
    return assets.ProjectCard(fields={}, months=months, revenue_to_date_wan=float(n))


def test_a_project_card_shows_the_minimum_and_the_visitors_only_when_it_has_them():
    assert _card([None, None], [None, None]).month_columns == ["month", "revenue_wan"]
    assert _card([10.0, 10.0], [None, None]).month_columns == ["month", "revenue_wan", "minimum_wan",
                                                               "shortfall_wan"]
    assert _card([None, None], [None, 310.0]).month_columns == ["month", "revenue_wan", "visitors",
                                                                "visitors_per_day"]


def test_months_recorded_over_the_guarantee_check():
    check = pd.DataFrame({"project_code": ["A1", "A2", "A3"], "months": [3, 0, 2]})
    assert assets.months_recorded(check) == 5
    assert assets.months_recorded(check.assign(months=0)) == 0


def test_amounts_in_wan_as_shown():
    assert [fmt.wan(x) for x in (54350, 999.94, 12.5, None)] == ["54,350", "999.9", "12.5", "—"]


# --- clean units -----------------------------------------------------------------------------------------------

def test_the_by_region_table_is_about_the_childrens_level():
    own_first = pd.DataFrame({"code": ["110", "111", "112"], "level": ["county", "township", "township"],
                              "own": [True, False, False]})
    assert clean_units.table_level(own_first) == "township"
    assert clean_units.table_level(own_first.iloc[:1]) == "county"  # only the region's own row


def test_a_units_history_counts_the_months_it_was_named():
    months = pd.DataFrame({"month": ["2026-01", "2026-02", "2026-03"], "notified": [True, False, True]})
    h = clean_units.UnitHistory(unit_code="DX-Q1", name="东县某局", kind="organ", region_code="110", place="东县",
                                applied_on=None, months=months)
    assert h.named_times == 2
    assert clean_units.UnitHistory(unit_code="DX-Q2", name="x", kind="organ", region_code="110", place="东县",
                                   applied_on=None, months=months.iloc[:0]).named_times == 0


def test_a_score_as_shown():
    assert [clean_review.score(x) for x in (86.79, None, float("nan"), pd.NA)] == ["86.8", "—", "—", "—"]


# --- ui/tables.py: what these pages' tables need --------------------------------------------------------------

@pytest.fixture
def english(monkeypatch):
    from ui import i18n

    monkeypatch.setattr(tables, "t", lambda key, **kw: i18n.translate(key, "en", **kw))


def test_number_kinds_a_format_option_and_help_with_arguments(english):
    cfg = tables.column_config([
        ("a", "vol.col.members", "number"),
        ("b", "cln.col.rank_change", "change"),
        ("c", "ast.col.share_pct", "num0", {"format": "%.0f%%"}),
        ("d", "vol.col.inactive", "number", {"help": "help.vol.inactive", "help_args": {"days": 180}}),
        ("e", "stf.col.cases", "int"),
    ])
    assert cfg["a"]["type_config"]["format"] is None  # as st.column_config.NumberColumn(label) without one
    assert cfg["b"]["type_config"]["format"] == "%+d"
    assert cfg["c"]["type_config"]["format"] == "%.0f%%"
    assert "180" in cfg["d"]["help"] and "{days}" not in cfg["d"]["help"]
    assert cfg["e"]["type_config"]["format"] == "localized"  # unchanged


def test_pick_takes_the_columns_in_the_order_asked():
    columns = [("a", "k.a", "text"), ("b", "k.b", "int"), ("c", "k.c", "date", {"width": "small"})]
    assert tables.pick(columns, ["c", "a"]) == [("c", "k.c", "date", {"width": "small"}), ("a", "k.a", "text")]
    with pytest.raises(KeyError):
        tables.pick(columns, ["z"])


def test_prepare_is_unchanged_by_the_new_kinds():
    df = pd.DataFrame({"n": [1, 2], "d": [-1, 2], "share": [0.5, None], "at": [datetime(2026, 1, 1)] * 2})
    out = tables.prepare(df, [("n", "k", "number"), ("d", "k", "change"), ("share", "k", "pct")])
    assert list(out["n"]) == [1, 2] and list(out["d"]) == [-1, 2]
    assert out["share"].iloc[0] == 50.0 and pd.isna(out["share"].iloc[1])
