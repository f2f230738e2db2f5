"""Exact numbers of the supervision centre's process questions (time per step, departments, bounces) and of
the supervision-order effect, on the hand-computable fixture tests/fixtures/process (see its README.md), on
SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
from conftest import FIXTURES, fresh_engine

from data_access.queries.supervision import process
from data_access.queries.supervision import effect as se
from data_access.core.filters import CaseFilter, OutOfScope
from data_access.core.metrics import SOURCES
from data_access.core.schema import process_summary

NOW = datetime(2026, 3, 20, 12, 0)
Q1 = CaseFilter(scope_code="110", date_from=date(2026, 1, 1), date_to=date(2026, 3, 31))
EDGES = Q1.with_(date_from=date(2026, 1, 10), date_to=date(2026, 3, 15))  # Jan 10–31 and Mar 1–15 from cases
CITY_Q1 = CaseFilter(region_code="100", date_from=date(2026, 1, 1), date_to=date(2026, 3, 31))


def raw(f: CaseFilter) -> CaseFilter:
    """The same selection, but with a filter process_summary cannot answer: every number comes from cases."""
    return f.with_(sources=SOURCES)


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def eng(request, tmp_path_factory):
    from data_access.ingest.loader import load_dataset

    engine = fresh_engine(request.param, tmp_path_factory.mktemp("process"))
    load_dataset(FIXTURES / "process", engine)
    yield engine
    engine.dispose()


def _steps(df, **where):
    for k, v in where.items():
        df = df[df[k] == v]
    out = {}
    for step, g in df.groupby("step", sort=False):
        first = g.iloc[0]
        mean = None if first.mean_hours != first.mean_hours else round(float(first.mean_hours), 4)  # NaN: n = 0
        out[step] = (int(first.n), int(first.within), mean, list(g["cases"]))
    return out


Q1_STEPS = {
    "accept": (6, 4, round(48.5 / 6, 4), [2, 1, 1, 0, 0, 1, 0, 1]),
    "dispatch": (6, 5, 2.75, [2, 1, 2, 0, 1, 0, 0, 0]),
    "handle": (5, 1, 45.1, [0, 0, 1, 0, 2, 1, 1, 0]),
    "feedback": (4, 4, 6.875, [0, 1, 1, 2, 0, 0, 0, 0]),
}


def test_the_roll_up_holds_the_fixture(eng):
    from sqlalchemy import func, select

    with eng.connect() as conn:
        n = conn.execute(select(func.sum(process_summary.c.n))).scalar_one()
    assert n == 9  # every case once, whatever its department


def test_step_times_q1(eng):
    df = process.step_time_distribution(eng, Q1, by=None, now=NOW)
    assert list(df.columns) == process.STEP_COLUMNS
    assert _steps(df) == Q1_STEPS
    assert list(df[df.step == "accept"]["bucket_label"]) == ["0–0.25", "0.25–0.5", "0.5–0.75", "0.75–1", "1–1.5",
                                                            "1.5–2", "2–3", "≥3"]
    share = df[df.step == "dispatch"]["within_share"].iloc[0]
    assert share == pytest.approx(5 / 6)
    # within = buckets 0..3 (≤ 1× the limit)
    for step, (_n, within, _m, buckets) in Q1_STEPS.items():
        assert sum(buckets[:4]) == within, step


def test_step_times_summary_and_raw_paths_agree(eng):
    assert _steps(process.step_time_distribution(eng, raw(Q1), by=None, now=NOW)) == Q1_STEPS
    edge = _steps(process.step_time_distribution(eng, EDGES, by=None, now=NOW))
    assert edge["accept"] == (5, 3, 9.6, [1, 1, 1, 0, 0, 1, 0, 1])  # p02 p07 | p03 p04 | p05
    assert edge == _steps(process.step_time_distribution(eng, raw(EDGES), by=None, now=NOW))


def test_step_times_by_category_and_department(eng):
    df = process.step_time_distribution(eng, Q1, by="category", now=NOW)
    assert list(df.columns) == ["category", *process.STEP_COLUMNS]
    a, b = _steps(df, category="A"), _steps(df, category="B")
    assert a["accept"][:2] == (4, 3) and b["accept"][:2] == (2, 1)
    assert a["handle"][:3] == (3, 1, round((12.5 + 45 + 26) / 3, 4))
    df = process.step_time_distribution(eng, Q1, by="department", now=NOW)
    assert set(df["department"]) == {"DA", "DB"}  # p06 has no department
    assert set(df[df.department == "DB"]["department_name"]) == {"东县司法局"}
    db = _steps(df, department="DB")
    assert db["dispatch"] == (2, 1, 3.0, [1, 0, 0, 0, 1, 0, 0, 0])  # p04 1 h, p05 5 h (limit 4)
    assert db["feedback"][:2] == (0, 0)
    assert _steps(process.step_time_distribution(eng, raw(Q1), by="department", now=NOW), department="DB") == db


def test_step_times_filters_the_roll_up_can_and_cannot_answer(eng):
    only_db = _steps(process.step_time_distribution(eng, Q1.with_(departments=("DB",)), by=None, now=NOW))
    assert only_db["accept"][:2] == (2, 1)  # p04 (35 h > 10) and p05
    closed = _steps(process.step_time_distribution(eng, Q1.with_(statuses=("closed",)), by=None, now=NOW))
    assert closed["accept"][:2] == (4, 3)  # p01 p02 p03 p07 (p06 has no steps)


def test_scope_excludes_the_other_county(eng):
    city = _steps(process.step_time_distribution(eng, CITY_Q1, by=None, now=NOW))
    assert city["accept"][0] == 7 and city["handle"][0] == 6  # + x01
    assert process.department_table(eng, CITY_Q1, NOW)["department_code"].tolist() == ["DA", "DB", "DW"]
    with pytest.raises(OutOfScope):
        process.step_time_distribution(eng, Q1.with_(region_code="120"), by=None, now=NOW)
    with pytest.raises(OutOfScope):
        se.supervision_effect_by_grade(eng, Q1.with_(region_code="121"), NOW)


def test_department_table(eng):
    df = process.department_table(eng, Q1, NOW)
    assert list(df.columns) == process.DEPARTMENT_COLUMNS
    rows = {r.department_code: r for r in df.itertuples()}
    assert list(rows) == ["DA", "DB"]  # most cases first; p06 (no department) left out
    da, db = rows["DA"], rows["DB"]
    assert (da.name, da.region_code) == ("东县住建局", "110")
    assert (da.received, da.closed, da.on_time, da.returns, da.reassignments, da.returned, da.bounced,
            da.open_overdue) == (4, 4, 3, 2, 1, 1, 1, 0)
    assert da.on_time_share == pytest.approx(0.75)
    assert da.median_handle_hours == pytest.approx(36.0)
    assert (db.received, db.closed, db.on_time, db.returns, db.reassignments, db.returned, db.bounced,
            db.open_overdue) == (2, 0, 0, 1, 0, 1, 0, 2)
    assert db.on_time_share != db.on_time_share  # NaN: nothing closed
    assert db.median_handle_hours == pytest.approx(66.0)
    # the raw path gives the same table
    assert df.equals(process.department_table(eng, raw(Q1), NOW))


def test_department_table_edge_days(eng):
    df = process.department_table(eng, EDGES, NOW).set_index("department_code")
    assert (df.loc["DA", "received"], df.loc["DA", "closed"], df.loc["DA", "on_time"]) == (3, 3, 2)  # p02 p03 p07
    assert df.loc["DB", "open_overdue"] == 2
    assert df.equals(process.department_table(eng, raw(EDGES), NOW).set_index("department_code"))
    # open overdue moves with now: before p04 fell due (02-24 12:00) nothing was overdue
    early = process.department_table(eng, Q1, datetime(2026, 2, 24, 11, 0)).set_index("department_code")
    assert early.loc["DB", "open_overdue"] == 0


def test_bounced_cases(eng):
    df = process.bounced_cases(eng, Q1, now=NOW)
    assert list(df.columns) == process.BOUNCED_COLUMNS
    assert df["case_no"].tolist() == ["p03"]
    assert df["departments"].iloc[0] == "东县住建局 → 东县司法局 → 东县住建局"
    assert (int(df["n_returns"].iloc[0]), int(df["n_reassigns"].iloc[0])) == (2, 0)
    once = process.bounced_cases(eng, Q1, min_returns=1, now=NOW)
    assert once["case_no"].tolist() == ["p03", "p04"]
    assert once["departments"].iloc[1] == "东县住建局 → 东县司法局"
    assert process.bounced_case_count(eng, Q1, now=NOW) == 1
    assert process.bounced_case_count(eng, Q1, min_returns=1, now=NOW) == 2
    assert process.bounced_case_count(eng, CITY_Q1, min_returns=1, now=NOW) == 3  # + x01
    assert process.bounced_cases(eng, Q1.with_(date_from=date(2026, 2, 15)), now=NOW).empty


def test_bounce_pairs(eng):
    df = process.bounce_pairs(eng, Q1, now=NOW)
    assert list(df.columns) == process.PAIR_COLUMNS
    got = [(r.from_department, r.to_department, r.cases, r.returns) for r in df.itertuples()]
    assert got == [("DA", "DB", 2, 2), ("DB", "DA", 1, 1)]
    assert (df["from_name"].iloc[0], df["to_name"].iloc[0]) == ("东县住建局", "东县司法局")
    city = process.bounce_pairs(eng, CITY_Q1, now=NOW)
    assert [(r.from_department, r.to_department) for r in city.itertuples()] == [("DA", "DB"), ("DB", "DA"),
                                                                                ("DW", "DW")]
    feb20 = process.bounce_pairs(eng, Q1.with_(date_from=date(2026, 2, 15)), now=NOW)
    assert [(r.from_department, r.to_department, r.cases) for r in feb20.itertuples()] == [("DA", "DB", 1)]  # p04


def test_supervision_effect_by_grade(eng):
    df = se.supervision_effect_by_grade(eng, Q1, NOW)
    assert list(df.columns) == se.GRADE_COLUMNS
    g = {r.grade: r for r in df.itertuples()}
    assert list(g) == ["normal", "yellow", "red"]
    n, y, r = g["normal"], g["yellow"], g["red"]
    assert (n.orders, n.cases, n.closed_after, n.still_open, n.past_deadline) == (3, 3, 1, 2, 0)
    assert (n.median_hours_to_close, n.mean_hours_to_close, n.share_past_deadline) == (
        pytest.approx(54.0), pytest.approx(49.0), 0.0)
    assert (y.orders, y.cases, y.closed_after, y.still_open, y.past_deadline) == (2, 2, 1, 1, 2)
    assert (y.median_hours_to_close, y.mean_hours_to_close) == (pytest.approx(20.0), pytest.approx(23.0))
    assert y.share_past_deadline == 1.0
    assert (r.orders, r.cases, r.closed_after, r.still_open, r.past_deadline) == (1, 1, 0, 1, 1)
    assert r.median_hours_to_close != r.median_hours_to_close  # NaN: nothing closed after a red order
    city = {row.grade: row for row in se.supervision_effect_by_grade(eng, CITY_Q1, NOW).itertuples()}
    red = city["red"]
    assert (red.orders, red.cases, red.closed_after, red.past_deadline) == (2, 2, 1, 2)
    assert red.median_hours_to_close == pytest.approx(14.0)


def test_orders_are_counted_by_the_month_they_were_issued(eng):
    jan = {r.grade: r.orders for r in se.supervision_effect_by_grade(
        eng, Q1.with_(date_to=date(2026, 1, 31)), NOW).itertuples()}
    assert jan == {"normal": 0, "yellow": 2, "red": 0}  # SV-Y2 on p08 (reported 2025-12-28) counts
    feb = se.supervision_effect_by_grade(eng, Q1.with_(date_from=date(2026, 2, 1), date_to=date(2026, 2, 28)), NOW)
    assert feb["orders"].tolist() == [1, 0, 0]
    # an unresolved order is past its deadline only once the deadline has gone by
    before = {r.grade: r.past_deadline for r in se.supervision_effect_by_grade(
        eng, Q1, datetime(2026, 3, 16, 8, 0)).itertuples()}
    assert before == {"normal": 0, "yellow": 2, "red": 0}


def test_repeat_orders(eng):
    df = se.repeat_orders(eng, Q1, now=NOW)
    assert list(df.columns) == se.REPEAT_COLUMNS
    assert df["case_no"].tolist() == ["p05"]
    row = df.iloc[0]
    assert (int(row.orders), row.grade, row.status) == (2, "red", "dispatched")
    assert (row.first_issued, row.last_issued) == (datetime(2026, 3, 11, 9, 0), datetime(2026, 3, 14, 9, 0))
    assert se.repeat_order_count(eng, Q1, NOW) == 1
    assert se.repeat_order_count(eng, Q1.with_(date_from=date(2026, 3, 12)), NOW) == 0  # only SV-R1 then


def test_orders_past_deadline(eng):
    df = se.orders_past_deadline(eng, Q1, NOW)
    assert list(df.columns) == se.PAST_COLUMNS
    assert df["supervision_id"].tolist() == ["SV-R1", "SV-Y1", "SV-Y2"]  # newest order first
    assert df["state"].tolist() == ["open", "resolved_late", "open"]
    assert df["days_past"].tolist() == pytest.approx([4.125, 4 / 24, 74.125], abs=1e-6)
    assert df["township_name"].tolist() == ["东镇"] * 3
    city = se.orders_past_deadline(eng, CITY_Q1, NOW)
    assert "SV-R0" in city["supervision_id"].tolist() and len(city) == 4


def test_filters_only_cases_can_answer(eng):
    text = _steps(process.step_time_distribution(eng, Q1.with_(text="两次回退"), by=None, now=NOW))
    assert text["accept"] == (1, 1, 2.0, [1, 0, 0, 0, 0, 0, 0, 0])  # p03
    supervised = process.department_table(eng, Q1.with_(supervised_only=True), NOW).set_index("department_code")
    assert supervised["received"].to_dict() == {"DA": 2, "DB": 2}  # p03 p07 | p04 p05
    overdue = process.department_table(eng, Q1.with_(overdue="any"), NOW).set_index("department_code")
    assert overdue["received"].to_dict() == {"DA": 1, "DB": 2}  # p02 closed late | p04 p05 open past due
    assert process.bounced_cases(eng, Q1.with_(categories=("A",)), min_returns=1, now=NOW).empty
    grades = se.supervision_effect_by_grade(eng, Q1.with_(categories=("A",)), NOW)
    assert grades["orders"].tolist() == [1, 1, 1]  # SV-N2 (p05) | SV-Y1 (p07) | SV-R1 (p05)


def test_an_empty_selection(eng):
    none = Q1.with_(date_from=date(2027, 1, 1), date_to=date(2027, 1, 31))
    assert process.step_time_distribution(eng, none, by="category", now=NOW).empty
    assert process.department_table(eng, none, NOW).empty
    assert process.bounced_cases(eng, none, now=NOW).empty
    assert process.bounce_pairs(eng, none, now=NOW).empty
    assert se.supervision_effect_by_grade(eng, none, NOW)["orders"].tolist() == [0, 0, 0]
    assert se.repeat_orders(eng, none, now=NOW).empty and se.repeat_order_count(eng, none, NOW) == 0
    assert se.orders_past_deadline(eng, none, NOW).empty


def test_step_share_table_is_one_row_per_group():
    # a by-department distribution as step_time_distribution gives it: a step's n and share on each bucket row
    dist = pd.DataFrame([
        ("DA", "东县住建局", "accept", 0, 4, 0.75), ("DA", "东县住建局", "accept", 1, 4, 0.75),
        ("DA", "东县住建局", "handle", 0, 3, 1 / 3),
        ("DB", "东县司法局", "handle", 0, 5, 0.2), ("DB", "东县司法局", "accept", 0, 6, 0.5),
    ], columns=["department", "department_name", "step", "bucket", "n", "within_share"])
    out = process.step_share_table(dist, "department")
    assert list(out.columns) == ["department", "name", "cases", "accept", "handle"]  # the steps in process order
    assert out["department"].tolist() == ["DB", "DA"]  # most cases first: DB's largest n is 6, DA's 4
    rows = out.set_index("department")
    assert (rows.loc["DB", "name"], rows.loc["DB", "cases"], rows.loc["DB", "accept"]) == ("东县司法局", 6, 0.5)
    assert rows.loc["DA", "handle"] == pytest.approx(1 / 3) and rows.loc["DA", "accept"] == 0.75
    by_category = process.step_share_table(dist.rename(columns={"department": "category"}), "category")
    assert by_category["name"].tolist() == ["DB", "DA"]  # a category is named by its code (the page translates)


# --- the stored bounces (case_bounces) follow the events: load, workflow writes, a sync batch ---------------------

def _stored_and_rebuilt(engine) -> tuple[list, list]:
    from sqlalchemy import select

    from data_access.core.derived import bounces_select
    from data_access.core.schema import case_bounces

    with engine.connect() as conn:
        stored = sorted(tuple(r) for r in conn.execute(select(case_bounces)).all())
        rebuilt = sorted(tuple(r) for r in conn.execute(bounces_select()).all())
    return stored, rebuilt


@pytest.fixture(params=["sqlite", "pg"])
def own(request, tmp_path):
    from data_access.ingest.loader import load_dataset

    engine = fresh_engine(request.param, tmp_path)
    load_dataset(FIXTURES / "process", engine)
    yield engine
    engine.dispose()


def test_the_load_stores_each_bounce_with_where_the_case_went_next(own):
    stored, rebuilt = _stored_and_rebuilt(own)
    # p03: DA returned it (seq 4), the next department named after the re-dispatch to 111 is DB, which returned it
    # too (seq 6) and it went to DA; p04: DA → DB; x01: DW returned it and had it again (fixture README)
    assert stored == rebuilt == [("p03", 4, "DA", "DB"), ("p03", 6, "DB", "DA"), ("p04", 4, "DA", "DB"),
                                 ("x01", 5, "DW", "DW")]


def test_a_return_and_the_next_dispatch_in_the_app_are_counted_as_a_bounce(own):
    from data_access.writes.workflow import dispatch_case, return_case

    return_case(own, "p05", datetime(2026, 3, 19, 9), note="不属本部门职责")   # DB has it (dispatched)
    stored, rebuilt = _stored_and_rebuilt(own)
    assert stored == rebuilt and not [r for r in stored if r[0] == "p05"]   # where it goes is not known yet
    dispatch_case(own, "p05", "DA", datetime(2026, 3, 19, 10))
    stored, rebuilt = _stored_and_rebuilt(own)
    p05 = [r for r in stored if r[0] == "p05"]
    assert stored == rebuilt and len(p05) == 1 and p05[0][2:] == ("DB", "DA"), stored
    pairs = process.bounce_pairs(own, CITY_Q1.with_(date_to=date(2026, 3, 31)), now=NOW)
    assert ("DB", "DA", 2, 2) in [(r.from_department, r.to_department, r.cases, r.returns)
                                  for r in pairs.itertuples()]   # p03's and p05's


def test_a_batch_rewrites_the_bounces_of_the_cases_it_sends_or_deletes(own, tmp_path):
    from data_access.ingest.sync import sync_batch
    from tests.test_sync import read_csv, write_batch

    eh, events = read_csv(FIXTURES / "process" / "case_events.csv")
    p08 = [r for r in events if r[0] == "p08"]
    seq = max(int(r[1]) for r in p08)
    new = [["p08", str(seq + 1), "2026-03-19T09:00:00", "return", "", "DB", "材料不全"],
           ["p08", str(seq + 2), "2026-03-19T10:00:00", "dispatch", "", "DA", ""]]
    # newer than the load's rows (stamped with the time of the load)
    produced = (datetime.now(timezone.utc) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    r = sync_batch(write_batch(tmp_path / "b", "b", produced, {"case_events.csv": (eh, new)},
                               deletions=[("cases", "p04")]), own)
    assert r.counts["cases"].deleted == 1, r.counts
    stored, rebuilt = _stored_and_rebuilt(own)
    assert stored == rebuilt, (stored, rebuilt)
    assert [r for r in stored if r[0] in ("p04", "p08")] == [("p08", seq + 1, "DB", "DA")]
