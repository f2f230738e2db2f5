"""The sample data holds a few of each anomaly the supervision centre's integrity checks look for
(data_access/core/metrics.py): closures under an hour not settled on the spot, reopened cases, re-reports,
bounced cases; drawn from their own random stream, so every other case, order and figure is unchanged.
The loader accepts them and its derived columns count them; the demo builder sets working-day rules."""
from __future__ import annotations

import csv
import datetime as dt
from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select

from sample_data import generator

AS_OF = dt.date(2023, 10, 8)
N = 50_000  # the demo scale: fewer cases leave too few later reports in the same grid and category


def _read(d, name):
    with open(d / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The same dataset with and without the anomalies."""
    with_, without = tmp_path_factory.mktemp("with"), tmp_path_factory.mktemp("without")
    generator.generate(with_, seed=20231008, as_of=AS_OF, _n_cases=N, _n_activities=100)
    mp = pytest.MonkeyPatch()
    for name in ("FAST_CLOSE_SHARE", "REOPEN_SHARE", "REREPORT_SHARE", "NO_FEEDBACK_SHARE", "REPEAT_ORDER_SHARE"):
        mp.setattr(generator, name, 0.0)
    try:
        generator.generate(without, seed=20231008, as_of=AS_OF, _n_cases=N, _n_activities=100)
    finally:
        mp.undo()
    return with_, without


def _ts(s):
    return dt.datetime.fromisoformat(s)


def test_each_anomaly_is_there_in_its_share_and_nothing_else_changed(both):
    with_, without = both
    a = {c["case_no"]: c for c in _read(with_, "cases.csv")}
    b = {c["case_no"]: c for c in _read(without, "cases.csv")}
    assert list(a) == list(b)
    closed = [c for c in a.values() if c["status"] == "closed"]
    not_spot = [c for c in closed if c["on_the_spot"] == "false"]
    fast = {c["case_no"] for c in not_spot if _ts(c["closed_at"]) - _ts(c["reported_at"]) < dt.timedelta(hours=1)}
    fast_before = {c["case_no"] for c in b.values() if c["status"] == "closed" and c["on_the_spot"] == "false"
                   and _ts(c["closed_at"]) - _ts(c["reported_at"]) < dt.timedelta(hours=1)}
    assert len(fast - fast_before) == round(generator.FAST_CLOSE_SHARE * len(not_spot))
    events = defaultdict(list)
    for e in _read(with_, "case_events.csv"):
        events[e["case_no"]].append(e)
    reopened = {no for no, evs in events.items() if any(e["action"] == "reopen" for e in evs)}
    assert len(reopened) == round(generator.REOPEN_SHARE * len(closed))
    for no in reopened:
        acts = [e["action"] for e in events[no]]
        i = acts.index("reopen")
        assert acts[i - 1] == "close" and acts[-1] == "close" and "feedback" in acts[i:]
        assert events[no][-1]["at"] == a[no]["closed_at"]
        assert [e["at"] for e in events[no] if e["action"] == "feedback"][-1] == a[no]["feedback_at"]
    # re-reports: the later case got the earlier closed case's reporter, nothing else changed
    changed_reporter = [no for no in a if (a[no]["reporter_name"], a[no]["reporter_phone"])
                        != (b[no]["reporter_name"], b[no]["reporter_phone"])]
    assert len(changed_reporter) >= 0.8 * round(generator.REREPORT_SHARE * len(closed))
    by_phone = defaultdict(list)
    for c in a.values():
        if c["reporter_phone"]:
            by_phone[(c["reporter_phone"], c["grid_code"], c["category"])].append(c)
    for no in changed_reporter:
        later = a[no]
        assert later["source"] != "patrol"
        earlier = [c for c in by_phone[(later["reporter_phone"], later["grid_code"], later["category"])]
                   if c["status"] == "closed" and c["closed_at"] and
                   dt.timedelta(0) < _ts(later["reported_at"]) - _ts(c["closed_at"]) <= dt.timedelta(days=30)]
        assert earlier, no
    # closed without feedback: no feedback time and no feedback event, nothing else
    no_feedback = {no for no, c in a.items() if c["status"] == "closed" and c["on_the_spot"] == "false"
                   and not c["feedback_at"]}
    assert len(no_feedback) == round(generator.NO_FEEDBACK_SHARE * len(not_spot))
    assert all("feedback" not in [e["action"] for e in events[no]] for no in no_feedback)
    # every other column of every case, and the supervision orders, as they were (repeat orders added after)
    touched = fast - fast_before | reopened | no_feedback
    ignore = {"reporter_name", "reporter_phone"}
    for no, row in a.items():
        cols = [k for k in row if k not in ignore and not (no in touched and k.endswith("_at"))]
        assert [row[k] for k in cols] == [b[no][k] for k in cols], no
    orders_a, orders_b = _read(with_, "supervisions.csv"), _read(without, "supervisions.csv")
    assert orders_a[:len(orders_b)] == orders_b
    repeats = orders_a[len(orders_b):]
    assert len(repeats) > 0
    first = {o["case_no"]: o for o in orders_b}
    for o in repeats:  # a second order on a case whose first one was unmet at its deadline, one grade sterner
        f = first[o["case_no"]]
        assert o["issued_at"] > f["deadline"]
        assert ["normal", "yellow", "red"].index(o["grade"]) == min(["normal", "yellow", "red"].index(f["grade"]) + 1, 2)
    late = Counter(c["closed_at"] > c["due_at"] for c in closed)
    late_b = Counter(c["closed_at"] > c["due_at"] for c in b.values() if c["status"] == "closed")
    assert late == late_b
    bounced = sum(Counter(e["action"] for e in evs)["return"] >= 2 for evs in events.values())
    assert bounced > 0


def conn_spot(d) -> int:
    return sum(1 for c in _read(d, "cases.csv") if c["status"] == "closed" and c["on_the_spot"] == "true")


def test_the_loader_accepts_them_and_counts_them(both, tmp_path):
    from data_access.core.db import make_engine
    from data_access.ingest.loader import load_dataset
    from data_access.core.schema import case_summary, cases

    eng = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    load_dataset(both[0], eng)
    with eng.connect() as conn:
        n_closed = conn.execute(select(func.count()).where(cases.c.status == "closed")).scalar_one()
        s = conn.execute(select(*[func.sum(case_summary.c[k]) for k in
                                  ("n_fast_close", "n_no_feedback", "n_reopened", "n_rereported", "n_bounced")])
                         ).one()
    eng.dispose()
    fast, no_feedback, reopened, rereported, bounced = s
    assert fast >= round(generator.FAST_CLOSE_SHARE * n_closed * 0.5) > 0
    n_not_spot = n_closed - conn_spot(both[0])
    assert no_feedback == round(generator.NO_FEEDBACK_SHARE * n_not_spot) > 0
    assert reopened == round(generator.REOPEN_SHARE * n_closed)
    assert rereported >= 0.8 * round(generator.REREPORT_SHARE * n_closed) > 0
    assert bounced > 0


def test_the_demo_builder_sets_working_day_rules(tmp_path, monkeypatch):
    import sample_data
    from data_access.core import time_limits
    from data_access.core.db import make_engine
    from data_access.core.schema import cases

    real = sample_data.generate
    monkeypatch.setattr(sample_data, "generate", lambda out, **kw: real(out, **{**kw, "_n_cases": 2000,
                                                                                  "_n_activities": 50}))
    eng = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    sample_data.build_sample_database(eng, as_of=AS_OF)
    rules = time_limits.rules(eng)
    assert {c: (r.mode, r.working_days) for c, r in rules.items()} == {
        "labour": ("working_days", 10), "demolition": ("working_days", 30), "other": ("working_days", 15)}
    with eng.connect() as conn:
        due, rep = conn.execute(select(cases.c.due_at, cases.c.reported_at)
                                .where(cases.c.category == "labour").limit(1)).one()
    assert due == time_limits.working_deadline(rep, 10)
    eng.dispose()
