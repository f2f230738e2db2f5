"""Empty states: every page and view, opened for a selection without data, says so in a translated message
(st.info) instead of an empty chart, an empty table or "nan" / "None" in a headline number.

Two selections, both with the period 2010-01 (before any data) on the hand-computable fixture
(tests/fixtures/metrics, now = 2026-03-20 12:00), plus 丁村 `1113`, a village added here with nothing under it
(no grid, case, team, project or clean unit):
- NOWHERE — 丁村: every page and view (bench/visits.py's list) is empty;
- the whole city: the views that follow the period (the rest show the data as it is now, e.g. the staff).
SQLite only (the empty states are layout; the queries are tested on both backends elsewhere)."""
from __future__ import annotations

import re
import shutil
from datetime import datetime

import pytest

from tests.conftest import FIXTURES, open_app_page, serve_fixture
from ui.i18n import translate

NOW = datetime(2026, 3, 20, 12, 0)
EMPTY_PERIOD = {"period": "custom", "from": "2010-01-01", "to": "2010-01-31"}
NOWHERE = "1113"
NAN = re.compile(r"\bnan\b|\bNone\b|\bNaN\b|\bNaT\b|\binf\b")

# (page, query, the message keys that must be shown, charts allowed)
NOWHERE_VISITS = [
    ("overview", {}, ["ov.empty"]),
    ("cases", {}, ["wb.empty"]),
    ("cases", {"overdue": "open", "sort": "overdue_desc"}, ["wb.empty"]),
    ("supervision", {"view": "backlog"}, ["sc.backlog.none", "empty.sc.trend"]),
    ("supervision", {"view": "steps"}, ["ov.empty"]),
    ("supervision", {"view": "departments"}, ["dept.none"]),
    ("supervision", {"view": "bounces"}, ["bounce.none"]),
    ("supervision", {"view": "orders"}, ["sc.orders.none"]),
    ("supervision", {"view": "integrity"}, ["ov.empty"]),
    ("supervision", {"view": "ranking"}, ["sc.rank.too_low"]),  # a village has no units below it to rank
    ("warnings", {}, ["wn.never"]),  # the fixture's warnings were never computed
    *[("staffing", {"view": v}, ["empty.stf.no_grids"]) for v in ("regions", "structure", "workload", "find")],
    *[("volunteers", {"view": v}, ["empty.vol.no_teams"]) for v in ("overview", "activities", "teams")],
    *[("assets", {"view": v}, ["ast.none_here"]) for v in ("portfolio", "money", "visitors", "projects")],
    *[("clean_units", {"view": v}, ["cln.none_here"]) for v in ("ranking", "units", "months")],
]
CITY_VISITS = [
    ("overview", {}, ["ov.empty"]),
    ("cases", {}, ["wb.empty"]),
    *[("supervision", {"view": v}, [k]) for v, k in (
        ("steps", "ov.empty"), ("departments", "dept.none"), ("bounces", "bounce.none"),
        ("orders", "sc.orders.none"), ("integrity", "ov.empty"))],
    ("staffing", {"view": "workload"}, ["empty.stf.workload"]),
    ("staffing", {"region": "G2"}, ["stf.card.no_cases"]),  # a grid without cases in the period
    ("volunteers", {"view": "activities"}, ["vol.acts.none", "vol.active.none"]),
    ("assets", {"view": "money"}, ["ast.revenue.none", "empty.ast.guarantee"]),
    ("assets", {"view": "visitors"}, ["ast.visitors.none"]),
]


def _id(v) -> str:
    page, query, _ = v
    return "-".join([page, *(f"{k}={x}" for k, x in query.items())])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The metrics fixture plus 丁村 (a village under 东镇 with nothing in it)."""
    src = tmp_path_factory.mktemp("fixture") / "metrics_and_empty_village"
    shutil.copytree(FIXTURES / "metrics", src)
    with open(src / "regions.csv", "a", encoding="utf-8") as fh:
        fh.write(f"{NOWHERE},丁村,village,111\n")
    with pytest.MonkeyPatch.context() as mp:
        yield serve_fixture("sqlite", tmp_path_factory.mktemp("db"), mp, str(src), NOW)  # FIXTURES / abs = abs


def _check(at, expected: list[str], lang: str, where: str) -> None:
    infos = [i.value for i in at.info]
    for key in expected:
        assert translate(key, lang) in infos, (where, lang, key, infos)
    for m in at.metric:
        assert not NAN.search(m.value), (where, lang, m.label, m.value)
    for text in [*infos, *(c.value for c in at.caption), *(s.value for s in at.subheader)]:
        assert not NAN.search(text), (where, lang, text)
    # no empty table: every table on an empty view has rows
    for df in at.dataframe:
        assert len(df.value) > 0, (where, lang, list(df.value.columns))


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("visit", NOWHERE_VISITS, ids=_id)
def test_a_region_without_data(served, visit, lang):
    page, query, expected = visit
    at = open_app_page(served, page, {**EMPTY_PERIOD, "region": NOWHERE, **query}, lang=lang)
    if page != "audit":
        assert "丁村" in at.title[0].value  # the frame kept the selection
    _check(at, expected, lang, _id(visit))
    assert not at.get("vega_lite_chart"), (_id(visit), "a chart of nothing")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("visit", CITY_VISITS, ids=_id)
def test_a_period_without_data(served, visit, lang):
    page, query, expected = visit
    at = open_app_page(served, page, {**EMPTY_PERIOD, **query}, lang=lang)
    _check(at, expected, lang, _id(visit))
    if page != "staffing" or "view" in query:  # the grid card draws no chart; the views below follow the period
        assert not at.get("vega_lite_chart"), (_id(visit), "a chart of nothing")
