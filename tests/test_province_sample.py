"""The province sample (issue 24; sample_data/province.py): Hunan's 14 cities under the province root 430000, loaded
on both databases, the Overview's numbers of the province equal to the sum of its cities' and to the counts taken
from the generated CSV.

A small province: 3,000 cases, and grids in every 40th village of each city (``_village_step``) so that the
structure loads in seconds; the region tree is the whole province (31,691 divisions)."""
from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import app_metric, fresh_engine, open_app_page

AS_OF = dt.date(2026, 10, 8)
N_CASES = 3_000
PROVINCE = "430000"
CITIES = {"430100": "长沙市", "430200": "株洲市", "430300": "湘潭市", "430400": "衡阳市", "430500": "邵阳市",
          "430600": "岳阳市", "430700": "常德市", "430800": "张家界市", "430900": "益阳市", "431000": "郴州市",
          "431100": "永州市", "431200": "怀化市", "431300": "娄底市", "433100": "湘西土家族苗族自治州"}


def _read(d: Path, name: str) -> list[dict]:
    with open(d / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def province_dir(tmp_path_factory) -> Path:
    from sample_data.province import generate_province

    out = tmp_path_factory.mktemp("province")
    generate_province(out, "province-1m", as_of=AS_OF, _n_cases=N_CASES, _n_activities=2_000, _village_step=40)
    return out


@pytest.fixture(scope="module")
def province_sqlite(province_dir, tmp_path_factory) -> str:
    """The small province loaded once into SQLite (its URL)."""
    from data_access.ingest.loader import load_dataset

    engine = fresh_engine("sqlite", tmp_path_factory.mktemp("province_db"))
    load_dataset(province_dir, engine)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def csv_counts(province_dir) -> dict:
    """Cases per city (by their grid's code), closed ones, and the grid → city map, from the files alone."""
    grid_city = {r["code"]: r["village_code"][:4] + "00" for r in _read(province_dir, "grids.csv")}
    cases = _read(province_dir, "cases.csv")
    return {"cases": Counter(grid_city[c["grid_code"]] for c in cases),
            "closed": Counter(grid_city[c["grid_code"]] for c in cases if c["status"] == "closed"),
            "rows": cases}


def test_the_fourteen_cities_hang_under_the_province(province_dir):
    regions = _read(province_dir, "regions.csv")
    assert len(regions) == 31_691
    roots = [r for r in regions if r["parent_code"] == ""]
    assert [(r["code"], r["name"], r["level"]) for r in roots] == [(PROVINCE, "湖南省", "province")]
    cities = {r["code"]: r["name"] for r in regions if r["level"] == "city"}
    assert cities == CITIES
    assert {r["parent_code"] for r in regions if r["level"] == "city"} == {PROVINCE}


def test_cases_are_spread_over_every_city_by_its_weight(csv_counts):
    from sample_data.province import CITY_WEIGHT

    per_city = csv_counts["cases"]
    assert sum(per_city.values()) == N_CASES and set(per_city) == set(CITIES)
    total = sum(CITY_WEIGHT.values())   # 6,646 (10,000s of residents)
    for city, n in per_city.items():   # largest remainder: the share rounded down or up
        share = N_CASES * CITY_WEIGHT[city] / total
        assert int(share) <= n <= int(share) + 1, (city, n, share)
    # 长沙市: 3,000 × 1,005 / 6,646 = 453.66; the floors sum to 2,993, and the 7 left go to the largest remainders
    # (.957 岳阳, .886 娄底, .804 郴州, .790 永州, .789 益阳, .656 长沙, .613 张家界): 454
    assert per_city["430100"] == 454 and per_city["430800"] == 69 and per_city["433100"] == 112


def test_keys_are_unique_across_the_cities(province_dir, csv_counts):
    """Each city is written after the one before (appended): its staff, orders and cases never reuse a key."""
    for fname, key in (("cases.csv", "case_no"), ("staff.csv", "staff_id"), ("supervisions.csv", "supervision_id"),
                       ("volunteer_teams.csv", "team_code"), ("grids.csv", "code"), ("departments.csv", "code"),
                       ("extensions.csv", "extension_id")):
        keys = [r[key] for r in _read(province_dir, fname)]
        assert len(keys) == len(set(keys)), fname
    # a case's number names its city: 长沙市's begin with CS, 娄底市's with LD (the city sample's own)
    heads = {(c["case_no"][:2], c["grid_code"][:4]) for c in csv_counts["rows"]}
    assert ("CS", "4301") in heads and ("LD", "4313") in heads and len(heads) == 14
    assert len(_read(province_dir, "categories.csv")) == len({r["code"] for r in _read(province_dir, "categories.csv")})


def test_every_city_has_extension_requests_decided_by_its_own_counties(province_dir, csv_counts):
    """The cities' units ask for more time on their own cases (extensions.csv), and a request is decided by a
    综治中心 of that city: 长沙市's by 长沙's, not 娄底's."""
    city_of = {c["case_no"]: c["grid_code"][:4] + "00" for c in csv_counts["rows"]}
    centres: dict[str, set] = {}   # a county's or city's centre → the cities with a county of that name
    for r in _read(province_dir, "regions.csv"):
        if r["level"] in ("city", "county"):
            centres.setdefault(r["name"] + "综治中心", set()).add(r["code"][:4] + "00")
    requests = _read(province_dir, "extensions.csv")
    # 14 requests in 3,000 cases, few of them dispatched to a department and fewer open: 5 cities have some
    assert len({city_of[r["case_no"]] for r in requests}) >= 5
    decided = [r for r in requests if r["status"] != "requested"]
    assert decided and all(city_of[r["case_no"]] in centres[r["decided_by"]] for r in decided)
    assert {r["extension_id"][:4] for r in requests if r["case_no"].startswith("CS")} == {"YQCS"}


def test_the_cities_without_polygons_have_grids_without_coordinates(province_dir):
    grids = _read(province_dir, "grids.csv")
    changsha = [g for g in grids if g["code"].startswith("4301")]
    loudi = [g for g in grids if g["code"].startswith("4313") and not g["parent_grid_code"]]
    assert changsha and all(g["lat"] == "" and g["lon"] == "" for g in changsha)
    assert loudi and all(27.2 < float(g["lat"]) < 28.3 for g in loudi)


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
def test_the_province_is_the_sum_of_its_cities(kind, province_dir, province_sqlite, csv_counts, tmp_path):
    from data_access.core.db import make_engine
    from data_access.core.filters import CaseFilter
    from data_access.ingest.loader import load_dataset
    from data_access.queries import overview

    if kind == "sqlite":
        engine = make_engine(province_sqlite)
    else:
        engine = fresh_engine(kind, tmp_path)
        load_dataset(province_dir, engine)
    try:
        now = dt.datetime(2026, 10, 8, 12)
        prov, _ = overview.case_kpis_with_previous(engine, CaseFilter(region_code=PROVINCE), now)
        assert prov.cases == N_CASES and prov.closed == sum(csv_counts["closed"].values())
        ranking = overview.child_region_ranking(engine, CaseFilter(region_code=PROVINCE), now)
        assert dict(zip(ranking["code"], ranking["cases"])) == dict(csv_counts["cases"])
        assert dict(zip(ranking["code"], ranking["closed"])) == dict(csv_counts["closed"])
        assert ranking["open"].sum() == prov.open and ranking["open_overdue"].sum() == prov.open_overdue
        city, _ = overview.case_kpis_with_previous(engine, CaseFilter(region_code="430100"), now)
        assert (city.cases, city.closed) == (csv_counts["cases"]["430100"], csv_counts["closed"]["430100"])
    finally:
        engine.dispose()


def test_the_overview_of_the_province_for_an_admin(province_sqlite, csv_counts, monkeypatch):
    """The Overview signed in as an admin (the whole tree) opens on 湖南省; its case count is that of the frame's
    default period (last 12 months: from 2025-10-01 to today) counted in cases.csv."""
    import streamlit as st

    from data_access.core.db import get_engine

    url = province_sqlite
    get_engine.cache_clear()
    st.cache_data.clear()
    monkeypatch.setenv("GOV_DB_URL", url)
    monkeypatch.setenv("GOV_AUTO_DEMO", "0")
    monkeypatch.setenv("GOV_NOW", "2026-10-08T12:00:00")
    at = open_app_page(url, "overview", role="admin")
    assert "湖南省" in at.title[0].value
    in_period = sum("2025-10-01" <= c["reported_at"][:10] <= "2026-10-08" for c in csv_counts["rows"])
    assert 0 < in_period < N_CASES
    assert app_metric(at, "案件数") == f"{in_period:,}"
    # the pages benchmark's region change goes from the province to its first city (bench/pages.change_target)
    from bench.pages import change_target

    assert change_target(url) == ("430100", "长沙市")
