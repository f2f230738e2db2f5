"""Idle-asset revitalisation on the hand-computable fixture (tests/fixtures/assets/README.md; now = 2026-04-10
12:00), on SQLite and PostgreSQL: the portfolio in its own units, the money with a guaranteed-minimum-plus-share
project that falls short and one above its minimum, visitors per day, the projects not operating yet, a
project's card inside and outside the jurisdiction, and AppTest runs of the page including the state of a
dataset without asset files."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from streamlit.testing.v1 import AppTest

from data_access.queries import assets
from data_access.core.access import User
from data_access.core.filters import ALL_TIME, Scope
from tests.conftest import load_fixture, open_app_page, serve_fixture

NOW = datetime(2026, 4, 10, 12, 0)
Q1 = (date(2026, 1, 1), date(2026, 3, 31))  # the period: (date_from, date_to)


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def engine(request, tmp_path_factory):
    eng = load_fixture(request.param, tmp_path_factory.mktemp("assets"), "assets")
    yield eng
    eng.dispose()


def at(region: str | None = "100") -> Scope:
    return Scope(region_code=region)


def test_summary(engine):
    s = assets.asset_summary(engine, at(), Q1)
    assert (s.projects, s.operating, s.not_operating, s.guaranteed_projects, s.shortfall_projects) == (7, 3, 3, 2, 1)
    assert s.investment_wan == 54350
    assert s.revenue_to_date_wan == pytest.approx(2320.3) and s.revenue_period_wan == pytest.approx(1805.3)
    east = assets.asset_summary(engine, at("110"), Q1)
    assert (east.projects, east.operating, east.shortfall_projects) == (5, 2, 1)
    assert assets.asset_summary(engine, at("1111"), Q1).projects == 0  # a village without projects


def test_portfolio_keeps_each_unit(engine):
    k = assets.portfolio_by_kind(engine, at())
    assert [tuple(x) for x in k.itertuples(index=False)][0] == ("land", "mu", 2, 2500.0)
    assert {(a, u): q for a, u, _n, q in k.itertuples(index=False)} == {
        ("land", "mu"): 2500, ("historic_building", "building"): 59, ("shoreline", "m"): 1050,
        ("factory", "item"): 6, ("house", "building"): 12, ("state_asset", "item"): 20}
    mode = assets.portfolio_by(engine, at(), "disposal_mode")
    assert dict(zip(mode["disposal_mode"], mode["projects"])) == {"finance": 1, "lease": 3, "sell": 1, "use": 2}
    status = assets.portfolio_by(engine, at(), "status")
    assert dict(zip(status["status"], status["projects"])) == {
        "disposed": 1, "operating": 3, "planning": 1, "renovating": 1, "suspended": 1}
    assert dict(zip(status["status"], status["investment_wan"]))["operating"] == 53920
    with pytest.raises(ValueError):
        assets.portfolio_by(engine, at(), "name")


def test_revenue_by_month(engine):
    r = assets.revenue_by_month(engine, at(), Q1)
    by = {(m, d): v for m, d, v in r.itertuples(index=False)}
    assert by[("2026-01", "finance")] == pytest.approx(558.0) and by[("2026-02", "lease")] == pytest.approx(8.0)
    assert set(r["month"]) == {"2026-01", "2026-02", "2026-03"}  # December's and November's months are outside
    # a period starting mid-month counts from the next month (a month counts when its first day is inside)
    assert set(assets.revenue_by_month(engine, at(), (date(2026, 1, 15), Q1[1]))["month"]) == {"2026-02", "2026-03"}


def test_guaranteed_minimum_plus_share(engine):
    g = assets.guarantee_check(engine, at(), Q1).set_index("project_code")
    a2, a3 = g.loc["A2"], g.loc["A3"]
    # A2: 10 a month; 12, 8, 10 received -> 2 above in January, 2 short in February
    assert (a2.months, a2.minimum_wan, a2.received_wan, a2.share_part_wan, a2.shortfall_wan, a2.shortfall_months) \
        == (3, 30.0, 30.0, 2.0, 2.0, 1)
    # A3: 20 a month; 25, 22, 30 -> 17 above, nothing short
    assert (a3.months, a3.minimum_wan, a3.received_wan, a3.share_part_wan, a3.shortfall_wan, a3.shortfall_months) \
        == (3, 60.0, 77.0, 17.0, 0.0, 0)
    assert a3.coverage == pytest.approx(77 / 60)
    assert list(g.index) == ["A2", "A3"]  # short first
    whole = assets.guarantee_check(engine, at(), ALL_TIME).set_index("project_code")
    assert (whole.loc["A3", "months"], whole.loc["A3", "shortfall_wan"], whole.loc["A3", "minimum_wan"]) == (4, 5.0, 80.0)
    # the month that explains a flag is named: A3 received 92 against 80 over all time, yet December was short
    assert whole.loc["A3", "received_wan"] > whole.loc["A3", "minimum_wan"]
    assert (whole.loc["A3", "short_months"], whole.loc["A2", "short_months"]) == ("2025-12", "2026-02")
    assert (g.loc["A2", "short_months"], g.loc["A3", "short_months"]) == ("2026-02", "")
    # a project with no month in the period is owed nothing yet
    empty = assets.guarantee_check(engine, at(), (date(2026, 5, 1), date(2026, 5, 31)))
    assert list(empty["months"]) == [0, 0] and list(empty["minimum_wan"]) == [0.0, 0.0]


def test_visitors_and_projects_not_operating(engine):
    v = assets.visitors_by_month(engine, at(), Q1)
    assert list(v["visitors_per_day"]) == [20000.0, 22000.0, 21000.0]
    waiting = assets.projects_not_operating(engine, at(), NOW)
    assert list(waiting["project_code"]) == ["A7", "A5", "A6"]
    assert list(waiting["days_since"][:2]) == [450.0, 191.0] and pd_isna(waiting["days_since"].iloc[2])


def pd_isna(x) -> bool:
    import pandas as pd

    return bool(pd.isna(x))


def test_project_card_and_jurisdiction(engine):
    card = assets.project_card(engine, at(), "A2")
    assert card.fields["region"] == "东镇" and card.revenue_to_date_wan == 30.0
    assert list(card.months["shortfall_wan"]) == [0.0, 2.0, 0.0] and list(card.months["minimum_wan"]) == [10.0] * 3
    a1 = assets.project_card(engine, at(), "A1")
    assert list(a1.months["visitors_per_day"]) == [20000.0, 22000.0, 21000.0] and a1.months["minimum_wan"].isna().all()
    east = Scope(scope_code="110", region_code="110")
    assert assets.project_card(engine, east, "A3") is None  # 西县
    assert assets.project_card(engine, Scope(), "A3", User("x", "staff", "110")) is None  # the user's own scope
    assert assets.project_card(engine, east, "nope") is None
    assert list(assets.project_list(engine, east)["project_code"]) == ["A1", "A2", "A4", "A5", "A7"]


# --- page ----------------------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "pg"])
def page_url(request, tmp_path, monkeypatch) -> str:
    return serve_fixture(request.param, tmp_path, monkeypatch, "assets", NOW)


def open_page(url: str, query: dict | None = None, role: str = "leader", scope: str | None = None) -> AppTest:
    q1 = {"period": "custom", "from": "2026-01-01", "to": "2026-03-31"}
    return open_app_page(url, "assets", {**q1, **(query or {})}, role, scope)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_page_numbers(page_url):
    at = open_page(page_url)
    assert metric(at, "项目") == "7" and metric(at, "已运营") == "3" and metric(at, "保底不足项目") == "1"
    assert metric(at, "总投资（万元）") == "54,350" and metric(at, "期内收入（万元）") == "1,805"
    kinds = at.dataframe[0].value
    assert dict(zip(kinds["asset_kind"], kinds["unit"]))["土地"] == "亩"


@pytest.mark.parametrize("view", ["money", "visitors", "projects"])
def test_views_from_the_url(page_url, view):
    at = open_page(page_url, {"view": view})
    assert at.segmented_control(key="ast_view").value == view
    if view == "money":
        table = at.dataframe[0].value
        assert list(table["shortfall_wan"]) == [2.0, 0.0]
    if view == "projects":
        assert list(at.dataframe[0].value["name"]) == ["东县国有门面", "东镇闲置村部", "西县撂荒地复耕"]


def test_project_card_from_the_url_and_outside_the_jurisdiction(page_url):
    at = open_page(page_url, {"project": "A2"}, role="viewer")
    assert "东县老街" in at.subheader[0].value and metric(at, "累计收入（万元）") == "30.0"
    at = open_page(page_url, {"project": "A3"}, role="staff", scope="110")
    assert at.warning and not at.subheader


def test_a_region_without_projects_says_so(page_url):
    at = open_page(page_url, {"region": "1111"})
    assert any("所选区域没有三资盘活项目" in i.value for i in at.info)


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_a_dataset_without_asset_files_says_so(kind, tmp_path, monkeypatch):
    url = serve_fixture(kind, tmp_path, monkeypatch, "staffing", NOW)  # no asset_projects.csv
    at = open_page(url)
    assert any("没有加载三资盘活项目" in i.value for i in at.info) and not at.metric
