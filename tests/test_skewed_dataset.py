"""The benchmark's skewed dataset (bench/datasets.py ``generate_skewed``, issue 24) at 5,000 cases: it has the
skews it promises and the loader takes it whole (the interchange format of docs/DATA_CONTRACT.md)."""
from __future__ import annotations

import csv
from collections import Counter

import pytest
from conftest import fresh_engine
from sqlalchemy import func, select

from bench import datasets as ds
from data_access.core.schema import case_events, cases
from data_access.ingest.loader import load_dataset

N = 5_000


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("skewed")
    counts = ds.generate_skewed(out, N, n_activities=1_000)   # the structure's activities: few
    assert counts["cases.csv"] == N
    return out


def _rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_skews(folder):
    rows = _rows(folder / "cases.csv")
    grids, cats = Counter(r["grid_code"] for r in rows), Counter(r["category"] for r in rows)
    assert grids.most_common(1)[0][1] == N // 10                     # one grid with a tenth of all cases
    assert cats.most_common(1) == [("neighbour", N // 2)]             # one category half of everything
    assert sum(r["status"] != "closed" for r in rows) == N // 10      # 10 % open
    for r in rows:   # an open case has no close time nor resolution level; a closed one has both
        assert (r["status"] == "closed") == bool(r["closed_at"]) == bool(r["resolution_level"]), r["case_no"]
    phones = Counter(r["reporter_phone"] for r in rows if r["source"] != "patrol" and r["reporter_phone"])
    office = [r for r in rows if r["reporter_name"] in ds.OFFICE_NAMES]
    assert office and {r["grid_code"] for r in office} == {grids.most_common(1)[0][0]}   # the offices' grid
    assert phones.most_common(1)[0][1] >= 10                          # ~1 % of the shared-phone cases
    yueyang = {r["code"] for r in _rows(folder / "grids.csv") if r["village_code"].startswith("4306")}
    assert 0.10 * N < sum(r["grid_code"] in yueyang for r in rows) < 0.20 * N   # the second city root
    roots = [r["code"] for r in _rows(folder / "regions.csv") if not r["parent_code"]]
    assert sorted(roots) == ["430600", "431300"]
    per_case = Counter(r["case_no"] for r in _rows(folder / "case_events.csv"))
    assert per_case.most_common(1)[0][1] >= 100                       # a case with hundreds of log entries


def test_the_loader_takes_it(folder, tmp_path):
    engine = fresh_engine("sqlite", tmp_path)
    result = load_dataset(folder, engine)
    assert result.counts["cases"] == N
    with engine.connect() as conn:
        by_city = dict(conn.execute(select(cases.c.city_code, func.count()).group_by(cases.c.city_code)).all())
        assert set(by_city) == {"430600", "431300"}
        assert conn.execute(select(func.count()).where(cases.c.rereported.is_(True))).scalar_one() > 0
        top = conn.execute(select(func.count()).select_from(case_events).group_by(case_events.c.case_no)
                           .order_by(func.count().desc()).limit(1)).scalar_one()
        assert top >= 100
    engine.dispose()
