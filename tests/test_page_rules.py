"""Rules the staffing, volunteers, assets, clean-units pages and the Overview used to work out themselves, now in
data_access (pure functions, no database), and the pieces of ui/tables.py those pages' tables need: each on a
value small enough to check by hand."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from data_access.core.regions import Node, RegionTree, map_city
from ui import tables

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
