"""Sync on data shaped unlike the sample (issue 19): a batch that touches two city roots, a grid holding a tenth of
all cases, and a case with hundreds of events.  The roll-ups are kept by difference (core/rollups.py,
``apply_contributions``): after each batch every table, roll-ups included, must equal a full load of the same end
state EXACTLY (no rounding), on SQLite and PostgreSQL, and the touched roll-up rows hold the hand-computed numbers.

The end state (``end_state``) is tests/fixtures/metrics plus:

- a second city root 200 (county 210, township 211, village 2111, grid G9) beside the fixture's city 100;
- 16 filler cases f01…f16 in G2 (January, closed on the spot after 1 h i min 7 s), so that the 30 cases of the end
  state hold 3 in G9: a tenth of all cases;
- in G9 (category B, March, patrol reports but h01): h03 closed on the spot after 1:00:07 (phone P), h02 closed
  after 5:14:15, h01 reported by hotline on 3 March by the same phone (so h03 is re-reported: its flag flips in
  the sync) and closed after 2:20:33 at village level (a roll-up row of its own);
- L1 in G1 (city 100, category A, department D1): 306 events — report, accept, dispatch, 150 × (return,
  dispatch), handle, feedback, close — closed after its due time.

The base lacks h01 and L1 and has h02 only reported.  Batch 1 brings h01, L1 (all 306 events) and h02 closed;
batch 2 deletes h01 (h03's flag flips back, h01's roll-up row reaches 0 and goes).
"""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from data_access.core import schema
from data_access.ingest.loader import load_dataset
from data_access.ingest.sync import sync_batch
from tests.conftest import fresh_engine
from tests.test_sync import METRICS, contents, read_csv, write_batch, write_csv

PHONE = "13800000009"
CASE_HEADER = read_csv(METRICS / "cases.csv")[0]
EVENT_HEADER = read_csv(METRICS / "case_events.csv")[0]
N_RETURNS = 150


def _ts(t: datetime | None) -> str:
    return "" if t is None else t.strftime("%Y-%m-%dT%H:%M:%S")


def _case(no: str, grid: str, cat: str, status: str, reported: datetime, closed: datetime | None, *, phone="",
          steps: tuple = (), due_hours: int = 24, dept="", level="", spot="false", sat="",
          source="patrol") -> list[str]:
    acc, disp, hand, feed = (list(steps) + [None] * 4)[:4]
    v = {"case_no": no, "grid_code": grid, "category": cat, "source": source, "title": f"案件{no}",
         "description": "", "reporter_name": "", "reporter_phone": phone, "status": status,
         "reported_at": _ts(reported), "accepted_at": _ts(acc), "dispatched_at": _ts(disp), "handled_at": _ts(hand),
         "feedback_at": _ts(feed), "closed_at": _ts(closed), "due_at": _ts(reported + timedelta(hours=due_hours)),
         "department_code": dept, "resolution_level": level, "on_the_spot": spot, "satisfaction": sat}
    return [v[h] for h in CASE_HEADER]


def _event(no: str, seq: int, at: datetime, action: str, org: str) -> list[str]:
    v = {"case_no": no, "seq": str(seq), "at": _ts(at), "action": action, "actor": "", "org_code": org, "note": ""}
    return [v[h] for h in EVENT_HEADER]


D = datetime
H03 = (D(2026, 3, 1, 8), D(2026, 3, 1, 9, 0, 7))          # 1:00:07 = 3,607 s
H02 = (D(2026, 3, 2, 8), D(2026, 3, 2, 13, 14, 15))       # 5:14:15 = 18,855 s
H01 = (D(2026, 3, 3, 8), D(2026, 3, 3, 10, 20, 33))       # 2:20:33 = 8,433 s
L1_AT = D(2026, 3, 1, 8)
L1_CLOSED = D(2026, 3, 2, 11, 0, 5)


def _l1() -> tuple[list[str], list[list[str]]]:
    t = L1_AT
    ev = [(t, "report", "G1"), (t + timedelta(minutes=10), "accept", "1111"), (t + timedelta(minutes=20), "dispatch", "111")]
    for k in range(N_RETURNS):
        ev += [(t + timedelta(minutes=21 + 2 * k), "return", "D1"), (t + timedelta(minutes=22 + 2 * k), "dispatch", "111")]
    ev += [(D(2026, 3, 2, 9), "handle", "D1"), (D(2026, 3, 2, 10), "feedback", "G1"), (L1_CLOSED, "close", "111")]
    case = _case("L1", "G1", "A", "closed", t, L1_CLOSED, steps=(ev[1][0], ev[2][0], ev[-3][0], ev[-2][0]), dept="D1",
                 level="township", sat="4")
    return case, [_event("L1", i + 1, at, action, org) for i, (at, action, org) in enumerate(ev)]


def _h(no: str, times, *, phone="", level="grid", closed=True, source="patrol") -> tuple[list[str], list[list[str]]]:
    rep, clo = times
    case = _case(no, "G9", "B", "closed" if closed else "reported", rep, clo if closed else None, phone=phone,
                 due_hours=72, level=level if closed else "", spot="true" if closed else "false", source=source)
    events = [_event(no, 1, rep, "report", "G9")] + ([_event(no, 2, clo, "close", "G9")] if closed else [])
    return case, events


def _fillers() -> tuple[list[list[str]], list[list[str]]]:
    cases, events = [], []
    for i in range(1, 17):
        rep = D(2026, 1, i, 8)
        clo = rep + timedelta(hours=1, minutes=i, seconds=7)
        cases.append(_case(f"f{i:02d}", "G2", "A", "closed", rep, clo, level="grid", spot="true"))
        events += [_event(f"f{i:02d}", 1, rep, "report", "G2"), _event(f"f{i:02d}", 2, clo, "close", "G2")]
    return cases, events


def _dataset(folder: Path, cases: list[list[str]], events: list[list[str]]) -> Path:
    shutil.copytree(METRICS, folder)
    h, rows = read_csv(METRICS / "regions.csv")
    write_csv(folder / "regions.csv", h, rows + [["200", "二市", "city", ""], ["210", "南县", "county", "200"],
                                                 ["211", "南镇", "township", "210"], ["2111", "丁村", "village", "211"]])
    h, rows = read_csv(METRICS / "grids.csv")
    write_csv(folder / "grids.csv", h, rows + [["G9", "丁村第1网格", "2111", "", "500", "1200", "", ""]])
    write_csv(folder / "cases.csv", CASE_HEADER, read_csv(METRICS / "cases.csv")[1] + cases)
    write_csv(folder / "case_events.csv", EVENT_HEADER, read_csv(METRICS / "case_events.csv")[1] + events)
    (folder / "batch.json").write_text('{"batch_id": "base", "produced_at": "2026-03-01T00:00:00"}', encoding="utf-8")
    return folder


def _states(tmp: Path) -> dict[str, Path]:
    fc, fe = _fillers()
    h01, h02, h03, l1 = _h("h01", H01, phone=PHONE, level="village", source="hotline"), _h("h02", H02), _h("h03", H03, phone=PHONE), _l1()
    h02_open = _h("h02", H02, closed=False)
    return {
        "base": _dataset(tmp / "base", fc + [h02_open[0], h03[0]], fe + h02_open[1] + h03[1]),
        "end1": _dataset(tmp / "end1", fc + [h01[0], h02[0], h03[0], l1[0]], fe + h01[1] + h02[1] + h03[1] + l1[1]),
        "end2": _dataset(tmp / "end2", fc + [h02[0], h03[0], l1[0]], fe + h02[1] + h03[1] + l1[1]),
        "b1": write_batch(tmp / "b1", "b1", "2026-03-20T12:00:00+08:00", {
            "cases.csv": (CASE_HEADER, [h01[0], h02[0], l1[0]]),
            "case_events.csv": (EVENT_HEADER, h01[1] + [h02[1][1]] + l1[1])}),
        "b2": write_batch(tmp / "b2", "b2", "2026-03-21T12:00:00+08:00", {}, deletions=[("cases", "h01")]),
    }


def _full_load(db_kind: str, tmp: Path, dataset: Path, engine):
    """Contents of a full load of ``dataset`` (on PostgreSQL in the worker's one database: ``engine`` is let go)."""
    engine.dispose()
    if db_kind == "sqlite":
        (tmp / f"full-{dataset.name}").mkdir(exist_ok=True)
    full = fresh_engine(db_kind, tmp / f"full-{dataset.name}") if db_kind == "sqlite" else fresh_engine(db_kind, tmp)
    load_dataset(dataset, full)
    out = contents(full)
    full.dispose()
    return out


def _row(engine, table, **where) -> dict | None:
    with engine.connect() as conn:
        rows = conn.execute(select(table).where(*[table.c[k] == v for k, v in where.items()])).mappings().all()
    assert len(rows) <= 1, rows
    return dict(rows[0]) if rows else None


def _assert_equal(synced: dict, expected: dict) -> None:
    for name in expected:
        assert synced[name] == expected[name], name


@pytest.fixture
def shapes(db_kind, tmp_path):
    states = _states(tmp_path)
    (tmp_path / "db").mkdir()
    eng = fresh_engine(db_kind, tmp_path / "db")
    load_dataset(states["base"], eng)
    yield eng, states
    eng.dispose()


def test_the_shapes_end_state_holds_what_the_docstring_says(tmp_path):
    states = _states(tmp_path)
    h, cases = read_csv(states["end1"] / "cases.csv")
    assert len(cases) == 30 and sum(r[h.index("grid_code")] == "G9" for r in cases) == 3   # a tenth in G9
    _h2, events = read_csv(states["end1"] / "case_events.csv")
    assert sum(r[0] == "L1" for r in events) == 3 + 2 * N_RETURNS + 3 == 306


def test_a_batch_over_two_cities_a_crowded_grid_and_a_long_case_ends_where_a_full_load_is(shapes, db_kind,
                                                                                          tmp_path):
    eng, states = shapes
    r1 = sync_batch(states["b1"], eng)
    assert (r1.counts["cases"].inserted, r1.counts["cases"].updated, r1.counts["case_events"].inserted) == \
        (2, 1, 2 + 1 + 306)
    # slices touched: (2026-03, 211) of city 200 and (2026-03, 111) of city 100
    assert r1.slices == 2
    cs = schema.case_summary
    grid_row = _row(eng, cs, month="2026-03", township_code="211", category="B", status="closed",
                    resolution_level="grid")
    assert (grid_row["n"], grid_row["sum_seconds"], grid_row["n_rereported"]) == (2, 3607 + 18855, 1)
    assert isinstance(grid_row["sum_seconds"], int)
    village_row = _row(eng, cs, month="2026-03", township_code="211", category="B", resolution_level="village")
    assert (village_row["n"], village_row["sum_seconds"], village_row["n_rereported"]) == (1, 8433, 0)
    county = _row(eng, schema.case_summary_county, month="2026-03", county_code="210", category="B",
                  status="closed", resolution_level="grid")
    assert (county["city_code"], county["n"], county["sum_seconds"]) == ("200", 2, 22462)
    ps = _row(eng, schema.process_summary, month="2026-03", township_code="111", category="A", department_code="D1")
    l1_hours = (L1_CLOSED - L1_AT).total_seconds()
    assert (ps["n"], ps["sum_returns"], ps["n_returned"], ps["n_bounced"], ps["n_on_time"]) == (1, N_RETURNS, 1, 1, 0)
    assert l1_hours == 27 * 3600 + 5
    # handle step: dispatched (the first dispatch, 08:20) … handled 2 March 09:00
    assert ps["handle_seconds"] == (D(2026, 3, 2, 9) - D(2026, 3, 1, 8, 20)).total_seconds()
    gs = _row(eng, schema.grid_summary, month="2026-03", top_grid_code="G9")
    assert (gs["city_code"], gs["n"], gs["n_patrol"]) == ("200", 3, 2)
    synced1 = contents(eng)

    r2 = sync_batch(states["b2"], eng)
    assert r2.counts["cases"].deleted == 1
    assert _row(eng, cs, month="2026-03", township_code="211", category="B", resolution_level="village") is None
    assert _row(eng, cs, month="2026-03", township_code="211", category="B", status="closed",
                resolution_level="grid")["n_rereported"] == 0
    assert _row(eng, schema.grid_summary, month="2026-03", top_grid_code="G9")["n"] == 2
    synced2 = contents(eng)

    _assert_equal(synced1, _full_load(db_kind, tmp_path, states["end1"], eng))
    _assert_equal(synced2, _full_load(db_kind, tmp_path, states["end2"], eng))


def test_a_roll_up_row_out_of_step_has_its_slice_rebuilt(shapes, db_kind, tmp_path):
    """The difference cannot apply to a missing row (here: deleted behind the sync's back): the slice is rebuilt
    from its cases instead, and the roll-ups still end where a full load is."""
    eng, states = shapes
    sync_batch(states["b1"], eng)
    cs = schema.case_summary
    with eng.begin() as conn:
        gone = conn.execute(delete(cs).where(cs.c.month == "2026-03", cs.c.township_code == "211",
                                             cs.c.status == "closed", cs.c.resolution_level == "grid")).rowcount
    assert gone == 1
    sync_batch(states["b2"], eng)   # h03's flag flips back: a difference for the missing row
    row = _row(eng, cs, month="2026-03", township_code="211", category="B", status="closed", resolution_level="grid")
    assert (row["n"], row["sum_seconds"], row["n_rereported"]) == (2, 22462, 0)
    _assert_equal(contents(eng), _full_load(db_kind, tmp_path, states["end2"], eng))


def test_the_benchmark_refuses_an_unknown_dataset_by_name():
    import subprocess
    import sys

    from tests.conftest import ROOT

    run = subprocess.run([sys.executable, "-m", "bench", "sync", "--dataset", "skewed-nope", "--pg", ""], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 2, run.stderr
    assert "--dataset: unknown dataset 'skewed-nope'; known: sample" in run.stderr
    assert "Traceback" not in run.stderr
