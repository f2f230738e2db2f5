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
