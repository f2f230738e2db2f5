"""Batches and incremental sync (docs/DATA_CONTRACT.md, "Batches and incremental sync"), on the hand-computable
fixture (tests/fixtures/metrics/README.md), SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from data_access.core.access import User
from data_access.core.contract import APP_SEQ_BASE
from data_access.core.schema import case_events
from data_access.ingest.loader import DatasetInvalid, load_dataset
from data_access.writes import orders, workflow
from tests.conftest import FIXTURES

METRICS = FIXTURES / "metrics"
NOW = datetime(2026, 3, 20, 12, 0)
LEADER = User("测试领导", role="leader")


# --- CSV helpers ---------------------------------------------------------------------------------------

def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def events_of(engine, case_no: str) -> list[tuple]:
    e = case_events.c
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(e.seq, e.action).where(e.case_no == case_no)
                                               .order_by(e.seq)).all()]


# --- the case log's two runs ---------------------------------------------------------------------------

def test_app_entries_have_their_own_run(loaded_engine):
    """An order's log entry is numbered from APP_SEQ_BASE; the case's next step continues the source's 1, 2, 3 …"""
    sid = orders.issue_supervision(loaded_engine, LEADER, orders.SupervisionOrder(
        "c06", "red", datetime(2026, 3, 25), "请加快"), now=NOW)
    workflow.feedback_case(loaded_engine, "c06", datetime(2026, 3, 20, 13, 0))
    orders.resolve_supervision(loaded_engine, LEADER, sid, now=datetime(2026, 3, 20, 14, 0))
    assert events_of(loaded_engine, "c06") == [
        (1, "report"), (2, "accept"), (3, "dispatch"), (4, "handle"), (5, "feedback"),
        (APP_SEQ_BASE, "supervise"), (APP_SEQ_BASE + 1, "note")]


def test_the_loader_checks_each_run(empty_engine, tmp_path):
    d = tmp_path / "ds"
    shutil.copytree(METRICS, d)
    header, rows = read_csv(d / "case_events.csv")
    rows.append(["c08", str(APP_SEQ_BASE), "2026-03-12T09:00:00", "supervise", "督办员", "111", "[yellow] 请尽快处置"])
    write_csv(d / "case_events.csv", header, rows)
    load_dataset(d, empty_engine)   # an export of a dashboard: its entries load with it
    assert events_of(empty_engine, "c08")[-1] == (APP_SEQ_BASE, "supervise")
    rows[-1][1] = str(APP_SEQ_BASE + 1)
    write_csv(d / "case_events.csv", header, rows)
    with pytest.raises(DatasetInvalid) as exc:
        load_dataset(d, empty_engine, replace=True)
    assert f"case_events.csv:{len(rows) + 1} seq: case 'c08' starts at seq {APP_SEQ_BASE + 1}, not {APP_SEQ_BASE}" \
        in exc.value.problems[0]


def test_the_upgrade_tells_the_app_rows_apart(empty_engine):
    """A database of before the sync columns, where an order issued in the app took the case's next number and
    the source's next step the one after: the upgrade marks the order 'app', moves its entries to the app's run
    and closes the source's run up again; nothing else changes."""
    from alembic import command
    from sqlalchemy import text

    from data_access.core.db import alembic_config

    load_dataset(METRICS, empty_engine)
    cfg = alembic_config(empty_engine)
    command.downgrade(cfg, "0010")
    sid = "DB20260320120000ABC123"
    with empty_engine.begin() as conn:   # as the code of revision 0010 wrote them
        conn.execute(text("INSERT INTO supervisions (supervision_id, case_no, grade, issued_by, issued_at, deadline, "
                          "note, issued_by_name) VALUES (:s, 'c06', 'red', '100', '2026-03-20 12:00:00', "
                          "'2026-03-25 00:00:00', '请加快', '测试领导')"), {"s": sid})
        for seq, at, action, note in ((5, "2026-03-20 12:00:00", "supervise", "[red] 请加快"),
                                      (6, "2026-03-20 13:00:00", "feedback", None),
                                      (7, "2026-03-20 14:00:00", "note", f"督办已办结 / supervision resolved: {sid}")):
            conn.execute(text("INSERT INTO case_events (case_no, seq, at, action, note) "
                              "VALUES ('c06', :seq, :at, :action, :note)"),
                         {"seq": seq, "at": at, "action": action, "note": note})
    command.upgrade(cfg, "head")
    assert events_of(empty_engine, "c06") == [
        (1, "report"), (2, "accept"), (3, "dispatch"), (4, "handle"), (5, "feedback"),
        (APP_SEQ_BASE, "supervise"), (APP_SEQ_BASE + 1, "note")]
    with empty_engine.connect() as conn:
        assert dict(conn.execute(text("SELECT supervision_id, origin FROM supervisions")).all()) == \
            {"SV1": "source", sid: "app"}
        assert conn.execute(text("SELECT count(*) FROM case_events")).scalar_one() == 41 + 3
