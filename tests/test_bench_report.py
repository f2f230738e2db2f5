"""bench/report.py's comparison with the previous report (issue 24: regressions called out in the report itself),
on small hand-made result files: every number is compared with the same measurement of the previous
REPORT.json, and called out when worse by more than 20 % and more than the unit's absolute minimum."""
from __future__ import annotations

import json

import pytest

from bench import report

MACHINE = {"cores": 2, "cpu": "AMD EPYC", "memory_gb": 23.5, "python": "3.11.7", "sqlite": "3.40.1",
           "postgresql": "psql (PostgreSQL) 15.20", "streamlit": "1.67.0", "pandas": "3.1.1", "measured": "x"}


def _facts(results, cases=100_000, **machine):
    (results / "facts.json").write_text(json.dumps(
        {"machine": {**MACHINE, **machine}, "datasets": {"100k": {"cases": cases, "events": 5 * cases}}}))


def _pages(results, cold: dict[str, float]):
    rows = [{"page": "p", "label": label, "cold_ms": ms, "db_ms": 10.0, "warm_ms": 100.0, "change_ms": 40.0}
            for label, ms in cold.items()]
    (results / "pages-100k-sqlite.json").write_text(json.dumps(rows))


def _section(results) -> dict[str, list[str]]:
    """The report's comparison section, split by its ### headings."""
    md = (results / "REPORT.md").read_text()
    text = md.split("## Against the previous report", 1)[1].split("\n## ", 1)[0]
    out, head = {}, None
    for line in text.splitlines():
        if line.startswith("### "):
            head = line[4:].split(" (")[0].split(":")[0]
            out[head] = []
        elif head and line.strip() and line != "None.":
            out[head].append(line)
    return out


def _rows(lines):
    return [line for line in lines if line.startswith("| pages")]


@pytest.fixture
def two_reports(tmp_path):
    _facts(tmp_path)
    _pages(tmp_path, {"overview, city": 1000.0, "case list, city": 1000.0, "a case opened": 1000.0,
                      "grid card": 100.0, "staffing: find": 400.0})
    report.write(tmp_path)
    # The next measurement: the Overview 30 % slower, the case list 5 % slower, a case opened 30 % faster,
    # the grid card 30 % slower but only by 30 ms, staffing gone, a new page.
    _pages(tmp_path, {"overview, city": 1300.0, "case list, city": 1050.0, "a case opened": 700.0,
                      "grid card": 130.0, "team card": 250.0})
    report.write(tmp_path)
    return tmp_path


def test_first_report_has_nothing_to_compare_and_stores_its_numbers(tmp_path):
    _facts(tmp_path)
    _pages(tmp_path, {"overview, city": 1000.0})
    report.write(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert "No previous report's numbers" in md
    doc = json.loads((tmp_path / "REPORT.json").read_text())
    assert doc["measurements"]["pages-100k-sqlite · overview, city · cold_ms"] | {"stamp": "-"} == {
        "value": 1000.0, "unit": "ms", "cases": 100_000, "file": "pages-100k-sqlite.json", "stamp": "-"}
    # cold, db, warm, change of the one page
    assert len(doc["measurements"]) == 4 and doc["baseline"] == {} and doc["new"] == []


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"written": "x"}'])
def test_an_unreadable_previous_report_is_named_and_replaced(tmp_path, capsys, content):
    _facts(tmp_path)
    _pages(tmp_path, {"overview, city": 1000.0})
    (tmp_path / "REPORT.json").write_text(content)
    report.write(tmp_path)
    assert "REPORT.json could not be read" in capsys.readouterr().err
    assert "Nothing compared:" in (tmp_path / "REPORT.md").read_text()
    assert len(json.loads((tmp_path / "REPORT.json").read_text())["measurements"]) == 4


def test_a_30_percent_slower_timing_is_called_out_a_5_percent_one_is_not(two_reports):
    s = _section(two_reports)
    assert _rows(s["Regressions"]) == ["| pages-100k-sqlite · overview, city · cold_ms | 1,000 ms | 1,300 ms | +30 % |"]
    assert _rows(s["Improvements"]) == ["| pages-100k-sqlite · a case opened · cold_ms | 1,000 ms | 700 ms | -30 % |"]
    # 5 % (50 ms) and 30 % of 100 ms (30 ms, under the 50 ms minimum) are noise
    assert not any("case list" in line or "grid card" in line for line in s["Regressions"] + s["Improvements"])


def test_new_and_disappeared_measurements_are_listed(two_reports):
    s = _section(two_reports)
    assert s["New measurements"] == ["- pages-100k-sqlite · team card · cold_ms: 250 ms",
                                     "- pages-100k-sqlite · team card · db_ms: 10 ms",
                                     "- pages-100k-sqlite · team card · warm_ms: 100 ms",
                                     "- pages-100k-sqlite · team card · change_ms: 40 ms"]
    gone = s["Measurements no longer in the results"]
    assert gone[0] == "- pages-100k-sqlite · staffing: find · cold_ms (was 400 ms)"
    assert len(s["Measurements no longer in the results"]) == 4


def test_rewriting_the_report_keeps_the_comparison(two_reports, monkeypatch):
    """``python -m bench --report`` again, nothing re-measured: the regression is still called out (compared
    with the report before the measurement, not with itself)."""
    before = _section(two_reports)
    md = (two_reports / "REPORT.md").read_text()
    monkeypatch.setattr(report.time, "strftime", lambda *a: "2099-01-01 00:00 UTC")  # rewritten later
    report.write(two_reports)
    report.write(two_reports)
    assert _section(two_reports) == before and (two_reports / "REPORT.md").read_text() == md


def test_only_re_measured_numbers_get_a_new_baseline(two_reports):
    """Another part measured since (a new result file): the pages' comparison stays as it was."""
    (two_reports / "timing-full-sqlite.json").write_text(json.dumps({"csv": {"seconds": 3.0, "peak_mb": 200.0}}))
    report.write(two_reports)
    s = _section(two_reports)
    assert len(_rows(s["Regressions"])) == 1
    assert s["New measurements"][-2:] == ["- timing-full-sqlite · csv · seconds: 3.00 s",
                                          "- timing-full-sqlite · csv · peak_mb: 200 MB"]
    # the export measured again, 2.0 s slower (+67 %), its peak 10 MB higher (5 %, noise)
    (two_reports / "timing-full-sqlite.json").write_text(json.dumps({"csv": {"seconds": 5.0, "peak_mb": 210.0}}))
    report.write(two_reports)
    s = _section(two_reports)
    assert "| timing-full-sqlite · csv · seconds | 3.00 s | 5.00 s | +67 % |" in s["Regressions"]
    assert len(_rows(s["Regressions"])) == 1  # the pages still compared with their previous report
    # the pages' new page is still new against the report before its measurement; the export no longer is
    assert len(s["New measurements"]) == 4 and all("team card" in x for x in s["New measurements"])


def test_an_error_count_going_up_is_a_regression(tmp_path):
    _facts(tmp_path)
    conc = {"reading": {"sessions": 20, "seconds": 60, "change_median_s": 0.40, "errors": 0}}
    (tmp_path / "load-full-sqlite.json").write_text(json.dumps(conc))
    report.write(tmp_path)
    conc["reading"].update(errors=1, change_median_s=0.42)
    (tmp_path / "load-full-sqlite.json").write_text(json.dumps(conc))
    report.write(tmp_path)
    s = _section(tmp_path)
    assert s["Regressions"][2:] == ["| load-full-sqlite · reading · errors | 0 | 1 | +inf % |"]
    doc = json.loads((tmp_path / "REPORT.json").read_text())
    assert not any("seconds" in k or "sessions" in k for k in doc["measurements"])  # settings, not measurements


def test_another_dataset_size_or_machine_is_not_compared(tmp_path):
    _facts(tmp_path)
    _pages(tmp_path, {"overview, city": 1000.0})
    report.write(tmp_path)
    _facts(tmp_path, cases=120_000)
    _pages(tmp_path, {"overview, city": 2000.0})
    report.write(tmp_path)
    s = _section(tmp_path)
    assert s["Regressions"] == []
    assert "- pages-100k-sqlite · overview, city · cold_ms: 1,000 ms at 100000 cases → 2,000 ms at 120000 cases" \
        in s["Not compared"]
    _facts(tmp_path, cases=120_000, cores=8, streamlit="1.68.0")
    _pages(tmp_path, {"overview, city": 3000.0})
    report.write(tmp_path)
    md = (tmp_path / "REPORT.md").read_text()
    assert "**Another machine**" in md and "streamlit 1.67.0 → 1.68.0" in md
    assert _section(tmp_path)["Regressions"] == []


@pytest.mark.parametrize("before, after, unit, kind", [
    (1000, 1210, "ms", "regression"), (1000, 1190, "ms", None), (200, 260, "ms", "regression"), (150, 190, "ms", None),
    (100, 200, "ms", "regression"), (0.10, 0.14, "s", None), (1.0, 0.7, "s", "improvement"),
    (250, 320, "MB", "regression"), (250, 265, "MB", None), (0, 1, "count", "regression"),
    (2, 0, "count", "improvement"),
])
def test_change_kind_thresholds(before, after, unit, kind):
    assert report.change_kind(before, after, unit) == kind
