"""The live demo feed (python -m sample_data.live): it moves the counts as its actions say, leaves every case
following the contract and the roll-ups equal to a full rebuild, and runs beside readers and another feed
without errors — on SQLite and PostgreSQL, on a copy of the hand-computable fixture."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from data_access.queries import overview
from data_access.core import counting
from data_access.core.filters import CaseFilter
from data_access.core.schema import case_events, cases, supervisions
from sample_data import live
from tests.test_workflow_writes import assert_rollups_exact

START = datetime(2026, 3, 20, 12, 0)
STEP_COLUMNS = ("accepted_at", "dispatched_at", "handled_at", "feedback_at", "closed_at")
STATUSES = ("reported", "accepted", "dispatched", "handling", "feedback", "closed")


def fake_clock(start=START, step=timedelta(minutes=7)):
    """A clock that moves on ``step`` each time it is read (so a run is the same whatever the machine's speed)."""
    t = [start]
    lock = threading.Lock()

    def now():
        with lock:
            t[0] += step
            return t[0]
    return now


def counts(engine):
    with engine.connect() as conn:
        one = lambda stmt: conn.execute(stmt).scalar_one()
        return {
            "cases": one(select(func.count()).select_from(cases)),
            "closed": one(select(func.count()).where(cases.c.status == "closed")),
            "events": one(select(func.count()).select_from(case_events)),
            "open_orders": one(select(func.count()).where(supervisions.c.resolved_at.is_(None))),
            "returns": one(select(func.coalesce(func.sum(cases.c.n_returns), 0))),
            "return_events": one(select(func.count()).where(case_events.c.action == "return")),
            "reopens": one(select(func.coalesce(func.sum(cases.c.n_reopens), 0))),
        }


def assert_every_case_follows_the_contract(engine):
    with engine.connect() as conn:
        rows = conn.execute(select(cases.c.case_no, cases.c.status, cases.c.on_the_spot, cases.c.resolution_level,
                                   *[cases.c[c] for c in STEP_COLUMNS])).all()
    for no, status, spot, level, *steps in rows:
        k = STATUSES.index(status)
        present = [s is not None for s in steps]
        if status == "closed" and spot:
            assert present[4], no
        else:
            assert present == [True] * k + [False] * (5 - k), (no, status, present)
        assert (level is not None) == (status == "closed"), no
        done = [s for s in steps if s is not None]
        assert done == sorted(done), no


def test_the_feed_moves_the_counts_its_actions_say(loaded_engine):
    before = counts(loaded_engine)
    lines: list[str] = []
    taken = live.run(loaded_engine, rate=0, steps=150, seed=11, clock=fake_clock(), out=lines.append)
    after = counts(loaded_engine)
    assert len(lines) == sum(taken.values()) == 150
    for action in ("report", "accept", "dispatch", "handle", "feedback", "close"):
        assert taken[action] > 0, taken
    acted = sum(v for k, v in taken.items() if k != "skip")  # every action writes exactly one event
    assert after["events"] - before["events"] == acted
    assert after["cases"] - before["cases"] == taken["report"] + taken["rereport"]
    assert after["closed"] - before["closed"] == taken["close"] - taken["reopen"]
    assert after["open_orders"] - before["open_orders"] == taken["supervise"] - taken["resolve"]
    assert after["returns"] == after["return_events"] == before["returns"] + taken["return"]
    assert after["reopens"] == taken["reopen"]
    assert_every_case_follows_the_contract(loaded_engine)
    assert_rollups_exact(loaded_engine)
    kpis = counting.case_kpis(loaded_engine, CaseFilter(region_code="100", date_from=date(2026, 3, 1),
                                                        date_to=date(2026, 3, 31)), START + timedelta(days=2))
    assert kpis.cases == 4 + taken["report"] + taken["rereport"]  # c06, c07, c08, c09 and the new ones


def test_the_same_seed_gives_the_same_run(tmp_path):
    from tests.conftest import metrics_db

    runs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        eng = metrics_db("sqlite", tmp_path / name)
        lines: list[str] = []
        live.run(eng, rate=0, steps=40, seed=5, clock=fake_clock(), out=lines.append)
        runs.append(lines)
        eng.dispose()
    assert runs[0] == runs[1]


def test_readers_and_a_second_feed_run_beside_it(loaded_engine):
    errors: list[BaseException] = []
    reads = [0]
    stop = threading.Event()
    f = CaseFilter(region_code="100", date_from=date(2026, 1, 1), date_to=date(2026, 3, 31))

    def reader():
        try:
            # at least one read whenever the feed ends: how many fit in beside it is up to the thread scheduler
            while not stop.is_set() or reads[0] == 0:
                counting.case_kpis(loaded_engine, f, START)
                reads[0] += 1
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever the reader hit
            errors.append(exc)

    def second_feed():
        try:
            live.run(loaded_engine, rate=0, steps=40, seed=2, clock=fake_clock(), out=None)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=reader), threading.Thread(target=second_feed)]
    for t in threads:
        t.start()
    try:
        taken = live.run(loaded_engine, rate=0, steps=60, seed=1, clock=fake_clock(), out=None)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    assert reads[0] > 0 and sum(taken.values()) == 60
    assert_every_case_follows_the_contract(loaded_engine)
    assert_rollups_exact(loaded_engine)


def test_busy_database_is_retried_and_other_errors_are_not():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("UPDATE cases", {}, Exception("database is locked"))
        return "ok"

    assert live.with_retry(flaky, pause=0) == "ok" and len(calls) == 3
    with pytest.raises(OperationalError):
        live.with_retry(lambda: (_ for _ in ()).throw(OperationalError("x", {}, Exception("no such table"))),
                        pause=0)


def test_command_line(loaded_engine, monkeypatch, capsys):
    monkeypatch.setenv("GOV_NOW", "2026-03-20T12:00:00")
    url = loaded_engine.url.render_as_string(hide_password=False)
    assert live.main(["--db", url, "--steps", "6", "--rate", "0", "--seed", "4", "--speed", "3600"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("live feed on ") and "clock data from 2026-03-20 12:00" in out[0]
    assert len(out) == 8 and out[-1].startswith("done: ")
    assert all(line[:10] == "2026-03-20" for line in out[1:-1])
