"""The sample data's injected surges, silent grid and duplicate groups (sample_data/injection.py) and their ground
truth (ground_truth.json, read by sample_data/ground_truth.py), checked against the CSV files themselves on a
small scale: every number here is counted from cases.csv."""
from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from sample_data import generate, ground_truth, injection

AS_OF = dt.date(2023, 10, 8)
N = 3000


def _read(d: Path, name: str) -> list[dict]:
    with open(d / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = tmp_path_factory.mktemp("inject")
    counts = generate(d, scale="demo", seed=7, as_of=AS_OF, _n_cases=N, _n_activities=50)
    return d, counts, _read(d, "cases.csv"), _read(d, "grids.csv"), ground_truth.read(d)


def _day(c: dict) -> dt.date:
    return dt.date.fromisoformat(c["reported_at"][:10])


def _in(code: str, region: str, level: str) -> bool:
    """A case's grid code (a micro-grid's is its grid's code + -NN) in a grid, township or county."""
    if level == "grid":
        return code == region or code.startswith(region + "-")
    return code.startswith(region)


def test_totals_stay_and_the_ground_truth_lists_each_injection(small):
    d, counts, cases, _grids, truth = small
    assert counts["cases.csv"] == N == truth.cases and "ground_truth.json" not in counts
    assert (truth.seed, truth.scale, truth.as_of) == (7, "demo", AS_OF)
    assert [(s.kind, s.region_level, s.category, s.multiplier) for s in truth.surges] == [
        ("grid_noise", "grid", "neighbour", 4), ("township_wages", "township", "labour", 3),
        ("county_fraud", "county", "telecom_fraud", 3)]
    assert [len(s.days) for s in truth.surges] == [5, 10, 7]
    noise, wages, fraud = truth.surges
    assert noise.last_day == AS_OF - dt.timedelta(days=5) and fraud.last_day == AS_OF - dt.timedelta(days=40)
    assert wages.last_day == dt.date(2023, 1, 21)          # the eve of the Spring Festival of 22 January 2023
    assert len(truth.silent_grids) == 1 and truth.silent_grids[0].from_day == AS_OF - dt.timedelta(days=21)
    assert len(truth.duplicate_groups) == max(injection.DUP_MIN_GROUPS, round(injection.DUP_GROUP_SHARE * N)) == 4
    assert [(s.first_day.isoformat(), s.last_day.isoformat()) for s in truth.seasonal] == [
        ("2021-01-13", "2021-02-11"), ("2022-01-02", "2022-01-31"), ("2022-12-23", "2023-01-21")]
    assert 1000 <= len(cases) == N


def test_each_surge_day_holds_the_multiplier_times_the_baseline(small):
    _d, _counts, cases, _grids, truth = small
    for s in truth.surges:
        per_day = Counter(_day(c) for c in cases if c["category"] == s.category
                          and _in(c["grid_code"], s.region_code, s.region_level))
        surge = [per_day[x] for x in s.days]
        assert surge == list(s.cases_per_day), s.kind                     # the file says what cases.csv holds
        # the region's baseline for the category: its mean a day over the year before the surge
        year = [s.first_day - dt.timedelta(days=k) for k in range(1, 366)]
        baseline = sum(per_day[x] for x in year) / len(year)
        assert all(n >= s.multiplier * baseline for n in surge), (s.kind, surge, baseline)
        assert all(n >= s.multiplier * e for n, e in zip(surge, s.expected_per_day)), s.kind
        assert min(surge) >= injection.SURGE_MIN_PER_DAY
        assert min(surge) > max(per_day[x] for x in year), s.kind        # it stands out of the whole year before
    noise = truth.surges[0]
    titles = [c["title"] for c in cases if _in(c["grid_code"], noise.region_code, "grid") and _day(c) in noise.days]
    assert len(titles) == sum(noise.cases_per_day) and sum(("噪音" in t or "声音" in t) for t in titles) >= 10


def test_the_silent_grid_reported_before_and_nothing_after(small):
    _d, _counts, cases, grids, truth = small
    g = truth.silent_grids[0]
    mine = [c for c in cases if _in(c["grid_code"], g.grid_code, "grid")]
    before = [c for c in mine if _day(c) < g.from_day]
    after = [c for c in mine if _day(c) >= g.from_day]
    assert after == [] and len(before) == g.cases_before >= injection.SILENT_MIN_BEFORE
    village = {r["code"]: r["village_code"] for r in grids}
    siblings = [r["code"] for r in grids if r["village_code"] == village[g.grid_code] and r["code"] != g.grid_code]
    assert siblings                                      # its cases of the silent weeks went to these grids
    assert any(_day(c) >= g.from_day for c in cases if c["grid_code"] in siblings) or len(before) < 20


def _bigrams(s: str) -> set[str]:
    return {s[i:i + 2] for i in range(len(s) - 1)}


def _similar(a: str, b: str) -> float:
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y)


def test_each_duplicate_group_is_the_same_matter_reported_again(small):
    _d, _counts, cases, grids, truth = small
    by_no = {c["case_no"]: c for c in cases}
    village = {r["code"]: r["village_code"] for r in grids}
    window = dt.timedelta(days=truth.duplicate_window_days)
    seen: set[str] = set()
    kinds = Counter()
    for g in truth.duplicate_groups:
        members = [by_no[no] for no in g.case_nos]
        assert 2 <= len(members) <= 5 and not seen & set(g.case_nos)
        seen |= set(g.case_nos)
        kinds[g.kind] += 1
        p = members[0]
        assert list(g.grid_codes) == [c["grid_code"] for c in members]
        assert {c["category"] for c in members} == {g.category}
        assert len({village[c["grid_code"].split("-")[0]] for c in members}) == 1   # same grid or same village
        t0 = dt.datetime.fromisoformat(p["reported_at"])
        for c in members[1:]:
            t = dt.datetime.fromisoformat(c["reported_at"])
            assert t0 < t <= t0 + window, (g.primary, c["case_no"])
            assert c["title"] != p["title"] and _similar(c["title"], p["title"]) >= 0.4, (p["title"], c["title"])
            assert c["description"] != p["description"]
            if g.kind == "recall":
                assert c["reporter_phone"] == p["reporter_phone"] != "" and c["source"] == p["source"] == "hotline"
            else:
                assert not c["reporter_phone"] or c["reporter_phone"] != p["reporter_phone"]
    assert sum(kinds.values()) == 4
    # other reports rarely read alike: a title names the village group (3组) or the estate's building
    group_of = {no: k for k, g in enumerate(truth.duplicate_groups) for no in g.case_nos}
    alike = defaultdict(list)
    for c in cases:
        alike[(village[c["grid_code"].split("-")[0]], c["category"], c["title"])].append(c)
    pairs = 0
    for same in alike.values():
        for a in same:
            for b in same:
                t_a, t_b = dt.datetime.fromisoformat(a["reported_at"]), dt.datetime.fromisoformat(b["reported_at"])
                pairs += (t_a < t_b <= t_a + window and not (a["case_no"] in group_of
                                                             and group_of[a["case_no"]] == group_of.get(b["case_no"])))
    assert pairs == 0


def test_same_seed_same_files_and_ground_truth(small, tmp_path):
    d, _counts, _cases, _grids, truth = small
    generate(tmp_path, scale="demo", seed=7, as_of=AS_OF, _n_cases=N, _n_activities=50)
    for name in ("ground_truth.json", "cases.csv", "case_events.csv"):
        assert (tmp_path / name).read_bytes() == (d / name).read_bytes(), name
    assert ground_truth.read(tmp_path / "ground_truth.json") == truth   # the file itself, or its folder


def test_too_few_cases_inject_nothing_and_say_so(tmp_path):
    generate(tmp_path, scale="demo", seed=1, as_of=AS_OF, _n_cases=injection.INJECT_MIN_CASES - 1,
             _n_activities=10)
    truth = ground_truth.read(tmp_path)
    assert truth.cases == injection.INJECT_MIN_CASES - 1
    assert (truth.surges, truth.silent_grids, truth.duplicate_groups, truth.seasonal) == ((), (), (), ())


def test_a_bad_ground_truth_file_is_refused_with_its_reason(tmp_path):
    with pytest.raises(ground_truth.GroundTruthError, match="no ground truth"):
        ground_truth.read(tmp_path)
    (tmp_path / "ground_truth.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ground_truth.GroundTruthError, match="not readable as JSON"):
        ground_truth.read(tmp_path)
    (tmp_path / "ground_truth.json").write_text(json.dumps({"format": "other/9"}), encoding="utf-8")
    with pytest.raises(ground_truth.GroundTruthError, match="expected 'ground_truth/1'"):
        ground_truth.read(tmp_path)
    (tmp_path / "ground_truth.json").write_text(json.dumps({"format": "ground_truth/1", "seed": 1}), encoding="utf-8")
    with pytest.raises(ground_truth.GroundTruthError, match="KeyError"):
        ground_truth.read(tmp_path)


def test_the_loader_ignores_the_ground_truth_file(small, tmp_path):
    """A dataset folder with ground_truth.json loads as without it: no problem, no warning (tests/fixtures/tiny,
    with the small dataset's ground truth copied in)."""
    import shutil

    from data_access.core.db import make_engine
    from data_access.ingest.loader import load_dataset

    tiny = Path(__file__).parent / "fixtures" / "tiny"
    d = tmp_path / "tiny"
    shutil.copytree(tiny, d)
    shutil.copy(small[0] / "ground_truth.json", d / "ground_truth.json")
    eng = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        result = load_dataset(d, eng)
    finally:
        eng.dispose()
    assert result.counts["cases"] == len(_read(tiny, "cases.csv")) > 0
    assert result.warnings == []
