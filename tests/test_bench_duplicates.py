"""bench/duplicates.py on the hand-computable duplicates fixture (tests/fixtures/duplicates/README.md) with a
hand-written ground truth: the pair counts, precision and recall it reports are the README's groups against
that truth."""
from __future__ import annotations

import json

import pytest

from bench import duplicates as bench
from sample_data.ground_truth import FORMAT, DuplicateGroup
from tests.conftest import load_fixture


def _truth(tmp_path, groups):
    (tmp_path / "ground_truth.json").write_text(json.dumps({
        "format": FORMAT, "seed": 1, "scale": "fixture", "as_of": "2026-03-20", "cases": 12,
        "duplicate_window_days": 7, "surges": [], "seasonal": [], "silent_grids": [],
        "duplicate_groups": groups}), encoding="utf-8")
    return tmp_path


def test_truth_pairs_are_every_pair_inside_a_group_with_its_kind():
    groups = [DuplicateGroup("recall", "a", ("b", "c"), ("G", "G", "G"), "A"),
              DuplicateGroup("another_reporter", "x", ("y",), ("G", "G"), "A")]
    assert bench.truth_pairs(groups) == {frozenset("ab"): "recall", frozenset("ac"): "recall",
                                         frozenset("bc"): "recall", frozenset("xy"): "another_reporter"}


def test_the_fixture_scored_against_a_hand_written_truth(tmp_path):
    eng = load_fixture("sqlite", tmp_path, "duplicates")
    url = eng.url.render_as_string(hide_password=False)
    eng.dispose()
    # truth: d1 with d2 only (d3 unknown to it), p1–p2 a re-call, m1–m2 a repeat the rule misses (4/11)
    truth = _truth(tmp_path, [
        {"kind": "another_reporter", "primary": "d1", "duplicates": ["d2"], "grid_codes": ["G3", "G3-01"],
         "category": "A"},
        {"kind": "recall", "primary": "p1", "duplicates": ["p2"], "grid_codes": ["G1", "G1"], "category": "B"},
        {"kind": "another_reporter", "primary": "m1", "duplicates": ["m2"], "grid_codes": ["G2", "G2"],
         "category": "A"}])
    r = bench.run(url, truth)
    # found: d1–d2, d1–d3, d2–d3, p1–p2 (README); true: d1–d2, p1–p2; false: d1–d3, d2–d3; missed: m1–m2
    assert (r["found_groups"], r["found_pairs"], r["true_positives"], r["false_positives"], r["misses"]) == (
        2, 4, 2, 2, 1)
    assert r["precision"] == 0.5 and r["recall"] == round(2 / 3, 4) and r["meets_target"] is False
    assert r["misses_by_kind"] == {"another_reporter": 1, "recall": 0}
    assert r["recall_by_kind"] == {"another_reporter": 0.5, "recall": 1.0}
    assert r["truth_groups_found_whole"] == 2 and r["false_positives_identical_titles"] == 0
    assert r["false_positives_both_outside_truth"] == 0  # both false pairs hold d1 or d2


def test_db_without_truth_is_refused(capsys):
    with pytest.raises(SystemExit) as e:
        bench.main(["--db", "sqlite:///nowhere.db"])
    assert e.value.code == 2 and "--db needs --truth" in capsys.readouterr().err


def test_a_missing_ground_truth_is_named(tmp_path, capsys):
    assert bench.main(["--db", f"sqlite:///{tmp_path / 'x.db'}", "--truth", str(tmp_path)]) == 1
    assert "no ground truth" in capsys.readouterr().err
