"""Batches and incremental sync (docs/DATA_CONTRACT.md, "Batches and incremental sync"), on the hand-computable
fixture (tests/fixtures/metrics/README.md), SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from data_access.core import schema
from data_access.core.access import User
from data_access.core.contract import APP_SEQ_BASE
from data_access.core.schema import case_events
from data_access.ingest.loader import DatasetInvalid, load_dataset
from data_access.ingest.sync import BatchRefused, sync_batch
from data_access.writes import orders, workflow
from tests.conftest import FIXTURES, ROOT, fresh_engine

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
        assert conn.execute(text("SELECT kind, status, source FROM sync_batches")).one() == ("load", "loaded", "metrics")



# --- the fixture split into a base load and batches ----------------------------------------------------------
#
# The end state is tests/fixtures/metrics.  The base lacks the micro-grid G3-01 and its two posts (S13, S16),
# the team W2 on it, the cases c06, c07, c08, the order SV1 and W1's activity of 2026-03-18; has c09 still handling, c04 as a mis-entered report (2026-01-31 23:00
# in G3, category A: another month, township and category than it ends in), S6 still active, and two rows the
# source later withdraws (case c99 with its event, post S99).
#
# Batch 1 (2026-03-10 12:00): G3-01 with S13, S16 and W2; c06 (handling, events 1–4), c08 reported (event 1), c09 at
#   feedback (event 5).
# Batch 2 (2026-03-19 13:00): c07 reported; c08 accepted; c09 closed; c04 corrected and closed (events 1–6);
#   the order SV1; S6 leaves (active false); W1's activities (one new); deletions of c99 and S99.

def _fixture(name: str) -> tuple[list[str], list[list[str]]]:
    return read_csv(METRICS / name)


def _rows(name: str, first_col: set[str]) -> tuple[list[str], list[list[str]]]:
    header, rows = _fixture(name)
    return header, [r for r in rows if r[0] in first_col]


def _set(header: list[str], row: list[str], **values) -> list[str]:
    row = list(row)
    for k, v in values.items():
        row[header.index(k)] = v
    return row


def write_batch(folder: Path, batch_id: str, produced_at: str, files: dict, deletions=(), listed: bool = False) -> Path:
    """A batch folder: ``files`` = {name: (header, rows)}, ``deletions`` = [(table, key)], batch.json last."""
    folder.mkdir(parents=True)
    for name, (header, rows) in files.items():
        write_csv(folder / name, header, rows)
    if deletions:
        write_csv(folder / "deletions.csv", ["table", "key"], [list(d) for d in deletions])
    meta = {"batch_id": batch_id, "produced_at": produced_at}
    if listed:
        meta["files"] = {name: len(rows) for name, (_h, rows) in files.items()}
    (folder / "batch.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def base_dataset(folder: Path) -> Path:
    shutil.copytree(METRICS, folder)
    h, rows = _fixture("cases.csv")
    base = []
    for r in rows:
        if r[0] in ("c06", "c07", "c08"):
            continue
        if r[0] == "c09":
            r = _set(h, r, status="handling", feedback_at="", closed_at="", resolution_level="")
        if r[0] == "c04":
            r = _set(h, r, grid_code="G3", category="A", status="reported", reported_at="2026-01-31T23:00:00",
                     accepted_at="", dispatched_at="", handled_at="", feedback_at="", closed_at="",
                     due_at="2026-02-01T23:00:00", department_code="", resolution_level="")
        base.append(r)
    base.append(_set(h, rows[0], case_no="c99", title="重复录入", status="reported", reported_at="2026-03-18T08:00:00",
                     closed_at="", due_at="2026-03-19T08:00:00", resolution_level="", on_the_spot="false",
                     satisfaction="", reporter_phone="13900001234"))
    write_csv(folder / "cases.csv", h, base)
    h, rows = _fixture("case_events.csv")
    events = [r for r in rows if r[0] not in ("c04", "c06", "c07", "c08") and not (r[0] == "c09" and int(r[1]) > 4)]
    events.append(["c99", "1", "2026-03-18T08:00:00", "report", "", "G1", ""])
    write_csv(folder / "case_events.csv", h, events)
    write_csv(folder / "supervisions.csv", _fixture("supervisions.csv")[0], [])
    h, rows = _fixture("grids.csv")
    write_csv(folder / "grids.csv", h, [r for r in rows if r[0] != "G3-01"])
    h, rows = _fixture("staff.csv")
    staff = [(_set(h, r, active="true") if r[0] == "S6" else r) for r in rows if r[0] not in ("S13", "S16")]
    staff.append(_set(h, rows[0], staff_id="S99", name="重复人员"))
    write_csv(folder / "staff.csv", h, staff)
    h, rows = _fixture("volunteer_teams.csv")
    write_csv(folder / "volunteer_teams.csv", h, [r for r in rows if r[0] != "W2"])
    h, rows = _fixture("volunteer_activities.csv")
    write_csv(folder / "volunteer_activities.csv", h, [r for r in rows if r[:2] != ["W1", "2026-03-18"]])
    # the source's full export of 1 March: its rows' time (the load's own time would be later than the batches)
    (folder / "batch.json").write_text('{"batch_id": "base", "produced_at": "2026-03-01T00:00:00"}', encoding="utf-8")
    return folder


def batch_1(folder: Path) -> Path:
    h, cases = _rows("cases.csv", {"c06", "c08", "c09"})
    cases = [_set(h, r, status="reported", accepted_at="") if r[0] == "c08" else
             _set(h, r, status="feedback", closed_at="", resolution_level="") if r[0] == "c09" else r
             for r in cases]
    eh, events = _fixture("case_events.csv")
    events = [r for r in events if r[0] == "c06" or (r[0], r[1]) in (("c08", "1"), ("c09", "5"))]
    return write_batch(folder, "b1", "2026-03-10T12:00:00+08:00", {
        "grids.csv": _rows("grids.csv", {"G3-01"}), "staff.csv": _rows("staff.csv", {"S13", "S16"}),
        "volunteer_teams.csv": _rows("volunteer_teams.csv", {"W2"}),
        "cases.csv": (h, cases), "case_events.csv": (eh, events)})


def batch_2(folder: Path) -> Path:
    eh, events = _fixture("case_events.csv")
    events = [r for r in events if r[0] in ("c04", "c07") or (r[0], r[1]) in (("c08", "2"), ("c09", "6"))]
    return write_batch(folder, "b2", "2026-03-19T13:00:00+08:00", {
        "cases.csv": _rows("cases.csv", {"c04", "c07", "c08", "c09"}), "case_events.csv": (eh, events),
        "supervisions.csv": _fixture("supervisions.csv"), "staff.csv": _rows("staff.csv", {"S6"}),
        "volunteer_activities.csv": _rows("volunteer_activities.csv", {"W1"})},   # one new, four already stored
        deletions=[("cases", "c99"), ("staff", "S99")])


COMPARED = [*schema.DATASET_TABLES, schema.case_summary, schema.case_summary_county, schema.process_summary,
            schema.grid_summary, schema.case_day_counts, schema.node_paths, schema.structure_summary,
            schema.team_summary, schema.case_bounces]


def contents(engine) -> dict[str, list[tuple]]:
    """Every table a load fills, without the sync columns (the row times differ by nature) and activity ids."""
    out = {}
    with engine.connect() as conn:
        for t in COMPARED:
            cols = [c for c in t.c if c.name not in schema.SYNC_STAMP_COLUMNS and c.name != "id"]
            out[t.name] = sorted((tuple(r) for r in conn.execute(select(*cols)).all()), key=repr)
    return out


@pytest.fixture
def base(db_kind, tmp_path):
    """A database holding the base load (the fixture before its batches)."""
    eng = fresh_engine(db_kind, tmp_path)
    load_dataset(base_dataset(tmp_path / "base"), eng)
    yield eng
    eng.dispose()


def test_batches_end_where_a_full_load_of_the_end_state_is(base, db_kind, tmp_path):
    r1 = sync_batch(batch_1(tmp_path / "b1"), base)
    assert (r1.counts["cases"].inserted, r1.counts["cases"].updated, r1.counts["case_events"].inserted) == (2, 1, 6)
    r2 = sync_batch(batch_2(tmp_path / "b2"), base)
    assert (r2.counts["cases"].inserted, r2.counts["cases"].updated, r2.counts["cases"].deleted) == (1, 3, 1)
    assert (r2.counts["staff"].updated, r2.counts["staff"].deleted, r2.counts["supervisions"].inserted) == (1, 1, 1)
    synced = contents(base)
    full = fresh_engine(db_kind, tmp_path / "full") if db_kind == "sqlite" else None
    if full is None:   # one PostgreSQL database per worker: keep the synced contents, then load the end state there
        base.dispose()
        full = fresh_engine(db_kind, tmp_path)
    load_dataset(METRICS, full)
    expected = contents(full)
    full.dispose()
    for name in expected:
        assert synced[name] == expected[name], name
    assert [r[0] for r in synced["cases"]] == [f"c{i:02d}" for i in range(1, 11)]


def test_the_search_index_follows(base, tmp_path):
    from data_access.core.search import text_condition

    def found(s):
        with base.connect() as conn:
            return sorted(conn.execute(select(schema.cases.c.case_no).where(text_condition(s))).scalars())

    assert found("重复录入") == ["c99"]
    sync_batch(batch_1(tmp_path / "b1"), base)
    sync_batch(batch_2(tmp_path / "b2"), base)
    assert found("重复录入") == [] and found("小区停车") == ["c07"] and found("楼道") == ["c06"]


def test_the_same_batch_twice_changes_nothing(base, tmp_path):
    sync_batch(batch_1(tmp_path / "b1"), base)
    before = contents(base)
    again = sync_batch(tmp_path / "b1", base)
    assert again.already_applied and again.rows == 0
    assert contents(base) == before


def test_an_older_row_never_overwrites_a_newer(base, tmp_path):
    sync_batch(batch_1(tmp_path / "b1"), base)
    sync_batch(batch_2(tmp_path / "b2"), base)
    before = contents(base)
    h, c08 = _rows("cases.csv", {"c08"})
    late = write_batch(tmp_path / "late", "b-late", "2026-03-15T00:00:00", {   # taken before b2, arriving after
        "cases.csv": (h, [_set(h, c08[0], status="reported", accepted_at="")]),
        "staff.csv": _rows("staff.csv", {"S1"})})
    result = sync_batch(late, base)
    assert (result.counts["cases"].skipped, result.counts["cases"].updated) == (1, 0)
    assert result.counts["staff"].updated == 1   # S1 was last written by the base load, older than this batch
    assert contents(base) == before
    # a row deleted by a newer batch does not come back with an older one
    h, c99 = read_csv(tmp_path / "base" / "cases.csv")
    old = write_batch(tmp_path / "old", "b-old", "2026-03-18T09:00:00", {
        "cases.csv": (h, [r for r in c99 if r[0] == "c99"])})
    assert sync_batch(old, base).counts["cases"].skipped == 1
    assert contents(base) == before



# --- bad input: refused with file, line and column, the database unchanged -----------------------------------

@pytest.fixture
def after_b1(base, tmp_path):
    """The base with batch 1 applied: c08 reported (event 1), c09 at feedback (events 1–5), c06 handling."""
    sync_batch(batch_1(tmp_path / "b1"), base)
    return base


def _case(case_no: str, **values) -> tuple[list[str], list[list[str]]]:
    h, rows = _rows("cases.csv", {case_no})
    return h, [_set(h, rows[0], **values)]


def _event(*row: str) -> tuple[list[str], list[list[str]]]:
    h, _ = _fixture("case_events.csv")
    return h, [list(row)]


C08_REPORTED = {"status": "reported", "accepted_at": ""}
C09_FEEDBACK = {"status": "feedback", "closed_at": "", "resolution_level": ""}

BAD = {
    "unknown key": (
        lambda: {"cases.csv": _case("c08", grid_code="GX", **C08_REPORTED)},
        "cases.csv:2 grid_code: unknown grid 'GX'"),
    "unknown case in the log": (
        lambda: {"case_events.csv": _event("c77", "1", "2026-03-10T09:00:00", "report", "", "G1", "")},
        "case_events.csv:2 case_no: unknown case 'c77'"),
    "an event skips a step": (
        lambda: {"case_events.csv": _event("c08", "3", "2026-03-10T10:00:00", "accept", "", "G2", "")},
        "case_events.csv:2 seq: 3 follows 1 for case 'c08'"),
    "an event rewrites a stored one": (
        lambda: {"case_events.csv": _event("c08", "1", "2026-03-10T09:00:00", "accept", "", "G2", "")},
        "case_events.csv:2 action: event seq 1 of case 'c08' is stored with action 'report', not 'accept'"),
    "an event goes back in time": (
        lambda: {"case_events.csv": _event("c08", "2", "2026-03-10T08:00:00", "accept", "", "G2", "")},
        "case_events.csv:2 at: 2026-03-10 08:00:00 is earlier than event seq 1 at 2026-03-10 09:00:00"),
    "a source event in the app's range": (
        lambda: {"case_events.csv": _event("c08", str(APP_SEQ_BASE), "2026-03-10T10:00:00", "note", "", "G2", "")},
        f"case_events.csv:2 seq: {APP_SEQ_BASE} is in the dashboard's own range"),
    "a status without its timestamp": (
        lambda: {"cases.csv": _case("c08", status="accepted", accepted_at="")},
        "cases.csv:2 accepted_at: is required when status is 'accepted'"),
    "a step time moves back": (
        lambda: {"cases.csv": _case("c09", handled_at="2026-03-06T09:00:00", **C09_FEEDBACK)},
        "cases.csv:2 handled_at: 2026-03-06 09:00:00 is earlier than the stored 2026-03-06 10:00:00"),
    "a reached step cleared without a return": (
        lambda: {"cases.csv": _case("c09", status="accepted", dispatched_at="", handled_at="", feedback_at="",
                                    closed_at="", resolution_level="", department_code="")},
        "cases.csv:2 dispatched_at: is empty, but case 'c09' entered this step at 2026-03-05 12:00:00"),
    "a closed case reopened without a reopen event": (
        lambda: {"cases.csv": _case("c02", status="feedback", closed_at="", resolution_level="", satisfaction="")},
        ("cases.csv:2 status: case 'c02' is closed (closed_at 2026-01-11 10:00:00); a closed case is reopened "
         "only with a 'reopen' event")),
    "a deletion of a row still referred to": (
        lambda: {"deletions.csv": (["table", "key"], [["grids", "G1"]])},
        "deletions.csv:2 key: grids 'G1' is still referred to by"),
    "a deletion of nothing": (
        lambda: {"deletions.csv": (["table", "key"], [["cases", "c77"]])},
        "deletions.csv:2 key: no cases row 'c77' to delete"),
    "an event deleted on its own": (
        lambda: {"deletions.csv": (["table", "key"], [["case_events", "c08|1"]])},
        "deletions.csv:2 table: the case log is append-only"),
    "a region changing level": (
        lambda: {"regions.csv": (["code", "name", "level", "parent_code"], [["111", "东镇", "village", "110"]])},
        "regions.csv:2 level: region '111' is a township; a batch cannot change a region's level"),
    # issue 21, items 5-8: the batch reads cells with the loader's converters
    "a year at the calendar's edge": (
        lambda: {"cases.csv": _case("c08", due_at="9999-12-31T23:59:59-12:00", **C08_REPORTED)},
        "cases.csv:2 due_at: year 9999 is outside 1900–2200"),
    "a NUL in a title": (
        lambda: {"cases.csv": _case("c08", title="楼道\x00堆物", **C08_REPORTED)},
        "cases.csv:2 title: contains the control character U+0000"),
    "an integer beyond the database's": (
        lambda: {"case_events.csv": _event("c08", str(2 ** 63 + 1), "2026-03-10T10:00:00", "accept", "", "G2", "")},
        "case_events.csv:2 seq: 9223372036854775809 is above the maximum 2147483647"),
    "a title longer than the contract": (
        lambda: {"cases.csv": _case("c08", title="长" * 201, **C08_REPORTED)},
        "cases.csv:2 title: too long, 201 chars, max 200"),
}


def _write_files(folder: Path, files: dict, batch_json: dict | None) -> Path:
    folder.mkdir(parents=True)
    for name, (header, rows) in files.items():
        write_csv(folder / name, header, rows)
    if batch_json is not None:
        (folder / "batch.json").write_text(json.dumps(batch_json), encoding="utf-8")
    return folder


def _refused(engine, folder: Path, expected: str) -> list[str]:
    before = contents(engine)
    with pytest.raises(BatchRefused) as exc:
        sync_batch(folder, engine)
    assert any(p.startswith(expected) for p in exc.value.problems), exc.value.problems
    assert contents(engine) == before
    return exc.value.problems


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_input_is_refused_and_changes_nothing(after_b1, tmp_path, kind):
    files, expected = BAD[kind]
    folder = _write_files(tmp_path / "bad", files(), {"batch_id": "bad", "produced_at": "2026-03-12T00:00:00"})
    _refused(after_b1, folder, expected)
    from data_access.core.batches import rejected_batches

    rejected = rejected_batches(after_b1)
    assert [r.batch_id for r in rejected] == ["bad"] and expected in rejected[0].report


def test_a_batch_without_batch_json_or_half_copied_is_refused(after_b1, tmp_path):
    files = {"cases.csv": _case("c08", status="accepted")}
    _refused(after_b1, _write_files(tmp_path / "nojson", files, None),
             "batch.json: missing: not a complete batch")
    half = _write_files(tmp_path / "half", files, None)
    (half / "batch.json").write_text('{"batch_id": "half", "produced_at": "2026-03-1', encoding="utf-8")
    _refused(after_b1, half, "batch.json:1: not complete JSON")
    listed = _write_files(tmp_path / "listed", files, {"batch_id": "listed", "produced_at": "2026-03-12T00:00:00",
                                                       "files": {"cases.csv": 2, "case_events.csv": 1}})
    problems = _refused(after_b1, listed, "cases.csv: 1 records, batch.json says 2")
    assert any(p.startswith("case_events.csv: listed in batch.json (1 records) but missing") for p in problems)
    cut = _write_files(tmp_path / "cut", files, {"batch_id": "cut", "produced_at": "2026-03-12T00:00:00"})
    data = (cut / "cases.csv").read_bytes()
    (cut / "cases.csv").write_bytes(data[:-20])
    (cut / "case_events.csv.part").write_bytes(b"case_no,seq")
    problems = _refused(after_b1, cut, "cases.csv: the last record does not end with a line break")
    assert any(p.startswith("case_events.csv.part: a temporary file") for p in problems)


# --- what the app wrote --------------------------------------------------------------------------------------

def test_an_order_issued_in_the_app_survives_a_sync_of_its_case(after_b1, tmp_path):
    sid = orders.issue_supervision(after_b1, LEADER, orders.SupervisionOrder(
        "c06", "red", datetime(2026, 3, 25), "请加快"), now=NOW)
    feedback = write_batch(tmp_path / "fb", "fb", "2026-03-20T14:00:00", {
        "cases.csv": _case("c06", status="feedback", feedback_at="2026-03-20T13:00:00"),
        "case_events.csv": _event("c06", "5", "2026-03-20T13:00:00", "feedback", "", "G3-01", "")})
    sync_batch(feedback, after_b1)
    assert events_of(after_b1, "c06") == [(1, "report"), (2, "accept"), (3, "dispatch"), (4, "handle"),
                                          (5, "feedback"), (APP_SEQ_BASE, "supervise")]
    with after_b1.connect() as conn:
        assert conn.execute(text("SELECT origin, grade FROM supervisions WHERE supervision_id = :s"),
                            {"s": sid}).one() == ("app", "red")
    _refused(after_b1, write_batch(tmp_path / "del", "del", "2026-03-20T15:00:00", {},
                                   deletions=[("cases", "c06")]),
             f"deletions.csv:2 key: case 'c06' has supervision orders issued in the dashboard ({sid})")
    h, _ = _fixture("supervisions.csv")
    _refused(after_b1, write_batch(tmp_path / "chg", "chg", "2026-03-20T15:00:00", {"supervisions.csv": (h, [
        [sid, "c06", "normal", "111", "2026-03-20T12:00:00", "2026-03-30T00:00:00", "", "改"]])}),
             f"supervisions.csv:2 supervision_id: order '{sid}' was issued in the dashboard")


def _rollups_equal_a_rebuild(engine):
    from data_access.core.rollups import rebuild_all_summaries, rebuild_structure_summary, rebuild_team_summary

    from data_access.core.derive import derive_bounces

    tables = (schema.case_summary, schema.case_summary_county, schema.process_summary, schema.grid_summary,
              schema.case_day_counts, schema.structure_summary, schema.team_summary, schema.case_bounces)
    mine = {t.name: v for t, v in zip(tables, (contents(engine)[t.name] for t in tables))}
    with engine.connect() as conn:
        trans = conn.begin()
        rebuild_all_summaries(conn)
        rebuild_structure_summary(conn)   # the staff and teams a batch moved, added or deleted: their nodes' rows
        rebuild_team_summary(conn)   # the teams a batch moved, added or deleted, and those of its activities
        derive_bounces(conn)   # the cases whose events a batch sent or deleted
        for t in tables:
            again = sorted((tuple(r) for r in conn.execute(select(t)).all()), key=repr)
            assert again == mine[t.name], t.name
        trans.rollback()


def test_a_re_report_flags_the_case_it_re_reports_in_another_month(after_b1, tmp_path):
    """c03 (G2, category B, closed 21 Jan 14:00) gets its reporter's phone; then c20, a hotline report of 5 Feb by
    the same phone on the same grid and category (within 30 days of the close), re-reports it: c03 becomes
    re-reported, and January's roll-up row of c03 (a slice the second batch has no case of) counts it."""
    sync_batch(write_batch(tmp_path / "ph", "ph", "2026-03-11T00:00:00+08:00",
                           {"cases.csv": _case("c03", reporter_phone="13800000001")}), after_b1)
    h, _ = _fixture("cases.csv")
    c20 = _set(h, _rows("cases.csv", {"c03"})[1][0], case_no="c20", source="hotline", reporter_phone="13800000001",
               status="reported", reported_at="2026-02-05T09:00:00", accepted_at="", dispatched_at="", handled_at="",
               feedback_at="", closed_at="", due_at="2026-02-07T09:00:00", resolution_level="", satisfaction="")
    r = sync_batch(write_batch(tmp_path / "rr", "rr", "2026-03-12T00:00:00+08:00", {
        "cases.csv": (h, [c20]), "case_events.csv": _event("c20", "1", "2026-02-05T09:00:00", "report", "", "G2", "")}),
        after_b1)
    assert r.slices == 2   # February's slice of c20, and January's of c03 whose flag changed
    with after_b1.connect() as conn:
        flags = dict(conn.execute(select(schema.cases.c.case_no, schema.cases.c.rereported)
                                  .where(schema.cases.c.case_no.in_(["c03", "c20"]))).all())
        cs = schema.case_summary.c
        jan = conn.execute(select(cs.n, cs.n_rereported).where(cs.month == "2026-01", cs.category == "B")).all()
    assert flags == {"c03": True, "c20": False}
    assert jan == [(1, 1)]
    _rollups_equal_a_rebuild(after_b1)


def test_re_report_partners_are_the_cases_a_touched_case_re_reports_before_and_after(after_b1, tmp_path):
    """The partners whose flags a batch re-derives are the cases its cases re-report (derived.rereports_sql), not
    every case of their phones: c20 (hotline) re-reports c03; c21, a patrol report of the same phone, grid and
    category in the same days, re-reports none.  Withdrawing c20 finds c03 through c20 as it stood before the
    batch, and c03 is no longer re-reported."""
    from data_access.ingest.sync import _rereport_partners

    sync_batch(write_batch(tmp_path / "ph", "ph", "2026-03-11T00:00:00+08:00",
                           {"cases.csv": _case("c03", reporter_phone="13800000001")}), after_b1)
    h, _ = _fixture("cases.csv")
    template = _rows("cases.csv", {"c03"})[1][0]
    open_case = dict(source="hotline", reporter_phone="13800000001", status="reported", accepted_at="",
                     dispatched_at="", handled_at="", feedback_at="", closed_at="", due_at="2026-02-07T09:00:00",
                     resolution_level="", satisfaction="")
    c20 = _set(h, template, case_no="c20", reported_at="2026-02-05T09:00:00", **open_case)
    c21 = _set(h, template, case_no="c21", reported_at="2026-02-05T10:00:00", **{**open_case, "source": "patrol"})
    ev = _fixture("case_events.csv")[0]
    sync_batch(write_batch(tmp_path / "rr", "rr", "2026-03-12T00:00:00+08:00", {
        "cases.csv": (h, [c20, c21]),
        "case_events.csv": (ev, [["c20", "1", "2026-02-05T09:00:00", "report", "", "G2", ""],
                                 ["c21", "1", "2026-02-05T10:00:00", "report", "", "G2", ""]])}), after_b1)
    with after_b1.connect() as conn:
        assert _rereport_partners(conn, ["c21"]) == {}
        assert {k: bool(v) for k, v in _rereport_partners(conn, ["c20", "c21"]).items()} == {"c03": True}
    r = sync_batch(write_batch(tmp_path / "del", "del", "2026-03-13T00:00:00+08:00", {},
                               deletions=[("cases", "c20")]), after_b1)
    assert r.slices == 2   # February's slice that lost c20, January's of c03 whose flag flipped back
    with after_b1.connect() as conn:
        assert conn.execute(select(schema.cases.c.rereported).where(schema.cases.c.case_no == "c03")).scalar() \
            is False
        cs = schema.case_summary.c
        assert conn.execute(select(cs.n, cs.n_rereported).where(cs.month == "2026-01", cs.category == "B")).all() \
            == [(1, 0)]
    _rollups_equal_a_rebuild(after_b1)


def test_a_reopen_with_its_event_is_applied(after_b1, tmp_path):
    reopen = write_batch(tmp_path / "re", "re", "2026-03-12T00:00:00", {
        "cases.csv": _case("c02", status="handling", feedback_at="", closed_at="", resolution_level="",
                           satisfaction=""),
        "case_events.csv": _event("c02", "7", "2026-03-11T09:00:00", "reopen", "", "111", "")})
    sync_batch(reopen, after_b1)
    with after_b1.connect() as conn:
        assert conn.execute(text("SELECT status, n_reopens, closed_late, hours_to_close FROM cases "
                                 "WHERE case_no = 'c02'")).one() == ("handling", 1, None, None)
    _rollups_equal_a_rebuild(after_b1)


def test_a_grid_moved_to_another_county_takes_its_cases(after_b1, tmp_path):
    from data_access.core.regions import region_tree

    assert region_tree(after_b1).get("G1").parent == "1111"
    h, g1 = _rows("grids.csv", {"G1"})
    sync_batch(write_batch(tmp_path / "mv", "mv", "2026-03-12T00:00:00",
                           {"grids.csv": (h, [_set(h, g1[0], village_code="1211")])}), after_b1)
    with after_b1.connect() as conn:
        assert set(conn.execute(text("SELECT county_code, township_code, village_code FROM cases "
                                     "WHERE grid_code = 'G1'")).all()) == {("120", "121", "1211")}
    assert region_tree(after_b1).get("G1").parent == "1211"   # the tree's cache follows the batch
    _rollups_equal_a_rebuild(after_b1)


# --- the command line ----------------------------------------------------------------------------------------

def _cli(*args, url: str, env: dict | None = None):
    import os

    return subprocess.run([sys.executable, "-m", "data_access", "--db", url, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})}, check=False)


def test_cli_sync_and_status(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    r = _cli("status", url=url)
    assert r.returncode == 3 and "no batch applied and no dataset loaded yet" in r.stdout
    assert _cli("load", str(base_dataset(tmp_path / "base")), url=url).returncode == 0
    r = _cli("sync", str(batch_1(tmp_path / "b1")), url=url)
    assert r.returncode == 0, r.stderr
    assert "applied batch b1 (produced 2026-03-10 12:00:00)" in r.stdout and "2 inserted, 1 updated" in r.stdout
    r = _cli("sync", str(tmp_path / "b1"), url=url)
    assert r.returncode == 0 and "batch b1 was applied already" in r.stdout and "nothing changed" in r.stdout
    bad = _write_files(tmp_path / "bad", {"cases.csv": _case("c08", grid_code="GX", **C08_REPORTED)},
                       {"batch_id": "bad", "produced_at": "2026-03-12T00:00:00"})
    r = _cli("sync", str(bad), url=url)
    assert r.returncode == 1 and "cases.csv:2 grid_code: unknown grid 'GX'" in r.stdout
    assert "the database is unchanged" in r.stderr and "Traceback" not in r.stderr
    r = _cli("status", url=url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "last batch: b1  produced 2026-03-10 12:00:00" in r.stdout
    assert "rejected batches: 1" in r.stdout and "bad" in r.stdout and "unknown grid 'GX'" in r.stdout
    from sqlalchemy import create_engine

    eng = create_engine(url)
    with eng.begin() as conn:   # as if the last batch came two hours ago
        conn.execute(text("UPDATE sync_batches SET applied_at = datetime(applied_at, '-2 hours')"))
    eng.dispose()
    r = _cli("status", url=url)
    assert r.returncode == 3 and "STALE" in r.stderr
    assert _cli("status", url=url, env={"GOV_SYNC_STALE_MINUTES": "180"}).returncode == 0


def test_load_replace_keeps_the_orders_issued_in_the_app(loaded_engine, tmp_path):
    from data_access.ingest.exporter import export_dataset

    sid = orders.issue_supervision(loaded_engine, LEADER, orders.SupervisionOrder(
        "c06", "red", datetime(2026, 3, 25), "请加快"), now=NOW)
    orders.resolve_supervision(loaded_engine, LEADER, sid, now=datetime(2026, 3, 20, 14, 0))
    orders.issue_supervision(loaded_engine, LEADER, orders.SupervisionOrder(
        "c07", "normal", datetime(2026, 3, 26), "请跟进"), now=NOW)

    def app_rows():
        with loaded_engine.connect() as conn:
            return (conn.execute(text("SELECT supervision_id, case_no, grade, origin, resolved_at IS NOT NULL "
                                      "FROM supervisions ORDER BY supervision_id")).all(),
                    conn.execute(text(f"SELECT case_no, seq, action FROM case_events WHERE seq >= {APP_SEQ_BASE} "
                                      "ORDER BY case_no, seq")).all())

    kept = app_rows()
    assert len(kept[0]) == 3 and len(kept[1]) == 3
    load_dataset(METRICS, loaded_engine, replace=True)   # the next day's export of the source
    assert app_rows() == kept
    assert events_of(loaded_engine, "c06")[-2:] == [(APP_SEQ_BASE, "supervise"), (APP_SEQ_BASE + 1, "note")]
    # an export of this database holds them too: loaded again, they are there once, still the app's
    export_dataset(loaded_engine, tmp_path / "export")
    load_dataset(tmp_path / "export", loaded_engine, replace=True)
    assert app_rows() == kept
    # a dataset without c07: refused, naming the order on it; nothing changed
    d = tmp_path / "without"
    shutil.copytree(METRICS, d)
    for name in ("cases.csv", "case_events.csv"):
        h, rows = read_csv(d / name)
        write_csv(d / name, h, [r for r in rows if r[0] != "c07"])
    before = contents(loaded_engine)
    with pytest.raises(DatasetInvalid) as exc:
        load_dataset(d, loaded_engine, replace=True)
    (problem,) = exc.value.problems
    assert problem.startswith("cases.csv case_no: case 'c07' is not in this dataset, but the supervision order 'DB")
    assert "the load is refused so that the order is not dropped" in problem
    assert contents(loaded_engine) == before and app_rows() == kept


def test_a_run_of_batches_into_an_empty_database_ends_where_a_full_load_is(db_kind, tmp_path):
    """The fixture split into batches by time (bench/sync.py, the benchmark's 100,000-case run in small): the
    reference data, then each case as it stood at the end of every window it changed in, its events and its order
    as they happened; synced one after another into an empty database, every table equals a full load's."""
    from bench.sync import split_into_batches

    # 399 windows of about 4.7 hours over 31 Dec 23:00 … 19 Mar 12:00: a case's steps an hour or a day apart fall
    # in different windows, so most cases arrive in an early state and are replaced as they move on
    folders = split_into_batches(METRICS, tmp_path / "split", 400, datetime(2026, 3, 21, 0, 0))
    eng = fresh_engine(db_kind, tmp_path)
    results = [sync_batch(f, eng) for f in folders]
    assert len(folders) == 33   # the windows with something in them, and the reference data
    assert sum(r.counts["cases"].inserted for r in results if "cases" in r.counts) == 10
    # cases sent again as they moved on (accepted, dispatched … closed), each a replace of the stored row
    assert sum(r.counts["cases"].updated for r in results if "cases" in r.counts) == 11
    assert sum(r.counts["case_events"].inserted for r in results if "case_events" in r.counts) == 41
    _assert_ends_where_a_full_load_of_the_metrics_fixture_is(eng, db_kind, tmp_path)


@pytest.mark.parametrize("run", ["two batches", "a run of batches"])
def test_a_batch_selecting_its_cases_by_a_temporary_key_table_ends_where_a_full_load_is(db_kind, tmp_path,
                                                                                       monkeypatch, run):
    """The key sets of a large batch (core/keyset.py: event counts, due times, callbacks, tombstones, event
    sequences, re-report partners) put in temporary tables and joined, the roll-ups' differences applied set-based
    (their rows reaching 0 deleted by key): on the fixture, with both thresholds at 0 so that every set takes
    that way, the fixture's two batches after its base load, and the run of batches into an empty database, end
    where a full load of the end state is, table by table."""
    from sqlalchemy import event

    from bench.sync import split_into_batches
    from data_access.core import keyset, rollups

    monkeypatch.setattr(keyset, "KEY_TABLE_MIN", 0)
    monkeypatch.setattr(rollups, "BY_KEY_MAX", 0)
    eng = fresh_engine(db_kind, tmp_path)
    joined: set[str] = set()

    @event.listens_for(eng, "before_cursor_execute")
    def _seen(conn, cursor, statement, parameters, context, executemany):
        joined.update(name for name in ("tmp_keys_recount", "tmp_keys_due", "tmp_keys_callbacks",
                                        "tmp_keys_tombstones", "tmp_keys_sequences", "tmp_keys_partners")
                      if f"SELECT k FROM {name}" in statement or f"SELECT {name}.k" in statement)

    if run == "two batches":
        load_dataset(base_dataset(tmp_path / "base"), eng)
        r1 = sync_batch(batch_1(tmp_path / "b1"), eng)
        assert (r1.counts["cases"].inserted, r1.counts["cases"].updated, r1.counts["case_events"].inserted) == (2, 1, 6)
        r2 = sync_batch(batch_2(tmp_path / "b2"), eng)
        assert (r2.counts["cases"].inserted, r2.counts["cases"].updated, r2.counts["cases"].deleted) == (1, 3, 1)
    else:
        folders = split_into_batches(METRICS, tmp_path / "split", 400, datetime(2026, 3, 21, 0, 0))
        results = [sync_batch(f, eng) for f in folders]
        assert sum(r.counts["case_events"].inserted for r in results if "case_events" in r.counts) == 41
    # every key set of the sync was joined as a table (the partners only when a batch's cases re-report one);
    # PostgreSQL binds every set as one array instead (core/keyset.py)
    if db_kind == "sqlite":
        assert joined >= {"tmp_keys_recount", "tmp_keys_due", "tmp_keys_callbacks", "tmp_keys_tombstones",
                          "tmp_keys_sequences"}, joined
    else:
        assert joined == set(), joined
    _assert_ends_where_a_full_load_of_the_metrics_fixture_is(eng, db_kind, tmp_path)


def _assert_ends_where_a_full_load_of_the_metrics_fixture_is(eng, db_kind, tmp_path):
    """Every table of ``eng`` (disposed here) equals a full load of the metrics fixture, table by table."""
    synced = contents(eng)
    eng.dispose()
    full = fresh_engine(db_kind, tmp_path / "full") if db_kind == "sqlite" else fresh_engine(db_kind, tmp_path)
    load_dataset(METRICS, full)
    expected = contents(full)
    full.dispose()
    for name in expected:
        assert synced[name] == expected[name], name


def test_a_batch_defers_the_search_indexes_entries_and_merges_them_after_the_commit(db_kind, tmp_path):
    """PostgreSQL: inside the batch's transaction the GIN search indexes take entries into their pending lists
    (a 10,000-case batch filled the default 4 MB over and over, 4.4 s for 4,000 status changes at 1.07 M cases);
    after the commit one merge per index; a search finds the batch's new case in between and after.  SQLite: the
    FTS triggers as before, nothing to merge."""
    from sqlalchemy import event

    from data_access.core.search import text_condition

    eng = fresh_engine(db_kind, tmp_path)
    load_dataset(base_dataset(tmp_path / "base"), eng)
    seen: list[tuple[str, bool]] = []

    @event.listens_for(eng, "before_cursor_execute")
    def _seen(conn, cursor, statement, parameters, context, executemany):
        if "gin_pending_list_limit" in statement or "gin_clean_pending_list" in statement:
            name = parameters.get("name") if isinstance(parameters, dict) else None
            seen.append((name or statement.split("=")[0].strip(), conn.in_transaction()))

    sync_batch(batch_1(tmp_path / "b1"), eng)
    with eng.connect() as conn:
        found = conn.execute(select(schema.cases.c.case_no).where(text_condition("楼道堆物"))).scalars().all()
    assert found == ["c06"]   # the batch's new case
    if db_kind == "sqlite":
        assert seen == []
    else:
        assert seen[0] == ("SET LOCAL gin_pending_list_limit", True)
        assert sorted(n for n, _ in seen[1:]) == ["ix_cases_case_no_trgm", "ix_cases_description_trgm",
                                                   "ix_cases_search_grams", "ix_cases_title_trgm"]
    eng.dispose()


def _structure(engine, *codes) -> dict[str, tuple]:
    s = schema.structure_summary.c
    with engine.connect() as conn:
        return {r[0]: tuple(r[1:]) for r in conn.execute(
            select(s.code, s.grid_worker, s.staff, s.party_members, s.grid_workers_in_grid, s.teams, s.members)
            .where(s.code.in_(codes)))}


@pytest.fixture
def full(db_kind, tmp_path):
    """A database holding the whole fixture (tests/fixtures/metrics)."""
    eng = fresh_engine(db_kind, tmp_path)
    load_dataset(METRICS, eng)
    yield eng
    eng.dispose()


def test_a_batch_of_staff_and_teams_moves_the_structure_rows_of_their_nodes(full, tmp_path):
    """structure_summary (the staffing and volunteer pages' counts) follows a batch without a change of the tree:
    S16, the grid worker of micro-grid G3-01, moves to G1; S1 (G1's worker, a party member) leaves; team T3 (5
    members, serving village 1111 with no grid) takes grid G1.  By hand — (grid workers, staff, party members,
    grid workers with the micro-grids', teams, members):
    G1 (1, 2, 1, 1, 1, 12) → (1, 2, 0, 1, 2, 17); G3-01 (1, 2, 1, 0, 1, 9) → (0, 1, 1, 0, 1, 9);
    G3 (1, 3, 2, 2, 1, 15) → (1, 3, 2, 1, 1, 15): S16 no longer counts for G3; 1111 (0, 0, 0, 0, 1, 5) → all 0."""
    codes = ("G1", "G3-01", "G3", "1111")
    assert _structure(full, *codes) == {"G1": (1, 2, 1, 1, 1, 12), "G3-01": (1, 2, 1, 0, 1, 9),
                                        "G3": (1, 3, 2, 2, 1, 15), "1111": (0, 0, 0, 0, 1, 5)}
    h, rows = _rows("staff.csv", {"S16", "S1"})
    staff = [_set(h, r, grid_code="G1") if r[0] == "S16" else _set(h, r, active="false") for r in rows]
    th, teams = _rows("volunteer_teams.csv", {"T3"})
    r = sync_batch(write_batch(tmp_path / "mv", "mv", "2026-12-31T00:00:00+08:00",
                           {"staff.csv": (h, staff), "volunteer_teams.csv": (th, [_set(th, teams[0], grid_code="G1")])}),
               full)
    assert (r.counts["staff"].updated, r.counts["volunteer_teams"].updated) == (2, 1)
    assert _structure(full, *codes) == {"G1": (1, 2, 0, 1, 2, 17), "G3-01": (0, 1, 1, 0, 1, 9),
                                        "G3": (1, 3, 2, 1, 1, 15), "1111": (0, 0, 0, 0, 0, 0)}
    _rollups_equal_a_rebuild(full)


def _teams(engine) -> dict[str, tuple]:
    t = schema.team_summary.c
    with engine.connect() as conn:
        return {r[0]: (r[1], r[2], str(r[3]) if r[3] else None) for r in conn.execute(
            select(t.team_code, t.code, t.grid_code, t.last_activity))}


def test_a_batch_of_teams_and_activities_moves_their_team_summary_rows(full, tmp_path):
    """team_summary (the volunteer pages' teams: place, last activity) follows a batch without a change of the tree:
    T2 gets an activity on 2026-01-05; W3's two activities are withdrawn (deletions); so is T1's of 2026-03-15;
    team T3 (serving village 1111, no activity) takes grid G1; team W2 (no activity) is withdrawn.  By hand, the
    inactive teams on 2026-03-20 12:00 over 90 days (cut-off 2025-12-20: no activity after it, founded on it or
    before, or on an unknown date): before, W2 (never active, founded 2024-05-01) then T2 (last 2025-11-15) — T3 has
    no activity but was founded 2026-03-01, after the cut-off; after, W3 alone (no activity left, founded on an
    unknown date): T2 is active again, W2 is gone.  Teams 7 → 6, members 99 → 90 (W2's 9)."""
    from data_access.core.filters import Scope
    from data_access.queries import volunteers

    now, scope, period = datetime(2026, 3, 20, 12, 0), Scope(), (None, None)
    before = _teams(full)
    assert {k: before[k] for k in ("T1", "T2", "T3", "W2", "W3")} == {
        "T1": ("G1", "G1", "2026-03-15"), "T2": ("1112", None, "2025-11-15"), "T3": ("1111", None, None),
        "W2": ("G3-01", "G3", None), "W3": ("G3", "G3", "2026-03-19")}
    s = volunteers.volunteer_summary(full, scope, period, now)
    assert (s.teams, s.members, s.inactive) == (7, 99, 2)
    assert list(volunteers.inactive_teams(full, scope, period, now)["team_code"]) == ["W2", "T2"]
    ah, _ = _fixture("volunteer_activities.csv")
    th, teams = _rows("volunteer_teams.csv", {"T3"})
    r = sync_batch(write_batch(tmp_path / "tm", "tm", "2026-12-31T00:00:00+08:00", {
        "volunteer_teams.csv": (th, [_set(th, teams[0], grid_code="G1")]),
        "volunteer_activities.csv": (ah, [["T2", "2026-01-05", "care", "6", "2.0", ""]])},
        deletions=[("volunteer_activities", "W3|2026-03-02|mediation"), ("volunteer_activities", "W3|2026-03-19|other"),
                   ("volunteer_activities", "T1|2026-03-15|patrol"), ("volunteer_teams", "W2")]), full)
    assert (r.counts["volunteer_teams"].updated, r.counts["volunteer_activities"].inserted) == (1, 1)
    after = _teams(full)
    assert {k: after.get(k) for k in ("T1", "T2", "T3", "W2", "W3")} == {
        "T1": ("G1", "G1", "2026-02-14"), "T2": ("1112", None, "2026-01-05"), "T3": ("G1", "G1", None),
        "W2": None, "W3": ("G3", "G3", None)}
    assert {k: v for k, v in after.items() if k not in ("T1", "T2", "T3", "W3")} == \
        {k: v for k, v in before.items() if k not in ("T1", "T2", "T3", "W2", "W3")}
    s = volunteers.volunteer_summary(full, scope, period, now)
    assert (s.teams, s.members, s.inactive) == (6, 90, 1)
    assert list(volunteers.inactive_teams(full, scope, period, now)["team_code"]) == ["W3"]
    _rollups_equal_a_rebuild(full)
