"""extensions.csv, the extension requests (延期申请) in the interchange format (docs/DATA_CONTRACT.md), on both
databases, on the extension fixture (tests/fixtures/extensions/README.md: the open case t2, due 10-03 09:00, is
due 10-09 09:00 with 6 days approved): a load with the file, its rows refused with their exact messages, a
replacing load keeping the dashboard's requests, a batch merging by key without ever changing or deleting a request
made in the dashboard, the due times and roll-ups following.  The export round trip is in test_export_since.py."""
from __future__ import annotations

import shutil
from datetime import datetime

import pytest
from conftest import FIXTURES, fresh_engine
from sqlalchemy import select
from test_extensions import LEADER, NOW, STAFF, _assert_rollups_are_a_rebuild, _kpis, _req
from test_sync import write_batch, write_csv

from data_access.core.schema import case_extensions, cases
from data_access.ingest.loader import DatasetInvalid, load_dataset
from data_access.ingest.sync import BatchRefused, sync_batch
from data_access.writes import extensions as ex
from data_access.writes.workflow import WriteRefused

HEADER = ["extension_id", "case_no", "unit_code", "days", "day_kind", "reason", "status", "requested_at",
          "requested_by", "decided_at", "decided_by", "decision_note", "origin"]
S1 = ["S1", "t2", "D1", "6", "days", "等待鉴定", "approved", "2025-10-02T10:00:00", "D1 经办",
      "2025-10-02T12:00:00", "东县领导", "同意", ""]
S2 = ["S2", "t2", "D1", "3", "working_days", "材料不全", "refused", "2025-10-01T10:00:00", "D1 经办",
      "2025-10-01T15:00:00", "东县领导", "", "source"]
ORIGINAL, EXTENDED = datetime(2025, 10, 3, 9), datetime(2025, 10, 9, 9)


def _dataset(tmp_path, rows, name="data"):
    folder = tmp_path / name
    shutil.copytree(FIXTURES / "extensions", folder)
    write_csv(folder / "extensions.csv", HEADER, rows)
    return folder


@pytest.fixture
def engine(db_kind, tmp_path):
    eng = fresh_engine(db_kind, tmp_path)
    yield eng
    eng.dispose()


def _due(engine, case_no="t2"):
    with engine.connect() as conn:
        return conn.execute(select(cases.c.due_at).where(cases.c.case_no == case_no)).scalar_one()


def _requests(engine):
    e = case_extensions.c
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(e.extension_id, e.case_no, e.status, e.days, e.origin)))


def test_a_load_with_extensions_csv_moves_the_due_time(engine, tmp_path):
    load_dataset(_dataset(tmp_path, [S1, S2]), engine)
    assert _requests(engine) == [("S1", "t2", "approved", 6, "source"), ("S2", "t2", "refused", 3, "source")]
    assert _due(engine) == EXTENDED   # only the approved 6 days count
    assert _kpis(engine)[-1] == 0     # t2 is no longer open overdue at 10-08 12:00 (1 without the file)
    _assert_rollups_are_a_rebuild(engine)


def test_bad_rows_are_refused_with_their_place_and_reason(engine, tmp_path):
    def row(eid, **cells):
        r = dict(zip(HEADER, S1))
        r.update(extension_id=eid, **cells)
        return [r[h] for h in HEADER]

    rows = [
        row("E1", case_no="t9"),                                               # line 2
        row("E2", unit_code="D9"),                                             # 3
        row("E3", days="61", day_kind="working_days"),                         # 4
        row("E4", days="0"),                                                   # 5
        row("E5", status="requested"),                                         # 6: a decision on a pending request
        row("E6", decided_at=""),                                              # 7
        row("E7", decided_at="2025-10-02T09:00:00"),                           # 8
        row("E8", status="requested", decided_at="", decided_by="", decision_note=""),   # 9
        row("E9", status="requested", decided_at="", decided_by="", decision_note=""),   # 10: a second pending
        row("E8"),                                                             # 11
        row("E10", status="withdrawn"),                                        # 12
        row("E11", reason="长" * 501),                                         # 13
        row("E12", origin="both"),                                             # 14
    ]
    with pytest.raises(DatasetInvalid) as e:
        load_dataset(_dataset(tmp_path, rows), engine)
    assert e.value.problems == [
        "extensions.csv:2 case_no: unknown case 't9'",
        "extensions.csv:3 unit_code: unknown department 'D9'",
        "extensions.csv:4 days: 61 is more than 60 working days",
        "extensions.csv:5 days: 0 is below the minimum 1",
        "extensions.csv:6 decided_at: must be empty when status is 'requested' (no decision yet)",
        "extensions.csv:6 decided_by: must be empty when status is 'requested' (no decision yet)",
        "extensions.csv:6 decision_note: must be empty when status is 'requested' (no decision yet)",
        "extensions.csv:7 decided_at: is required when status is 'approved'",
        "extensions.csv:8 decided_at: 2025-10-02 09:00:00 is earlier than requested_at 2025-10-02 10:00:00",
        "extensions.csv:10 status: case 't2' already has a request awaiting a decision ('E8' on line 9)",
        "extensions.csv:11 extension_id: duplicate extension_id 'E8' (first on line 9)",
        "extensions.csv:12 status: unknown value 'withdrawn' (expected one of requested, approved, refused)",
        "extensions.csv:13 reason: too long, 501 chars, max 500",
        "extensions.csv:14 origin: unknown value 'both' (expected one of source, app)",
    ]
    with engine.connect() as conn:   # nothing written
        assert conn.execute(select(cases.c.case_no)).first() is None


def test_a_replacing_load_keeps_the_dashboards_requests_over_the_files(engine, tmp_path):
    load_dataset(FIXTURES / "extensions", engine)
    eid = ex.request_extension(engine, STAFF, _req(), now=NOW)
    ex.decide_extension(engine, LEADER, eid, approve=True, now=NOW)
    # the file has a source request and a row of the dashboard's id that says something else: the app's wins
    forged = [eid, *S2[1:6], "refused", *S2[7:12], "source"]
    load_dataset(_dataset(tmp_path, [S2, forged]), engine, replace=True)
    assert _requests(engine) == sorted([(eid, "t2", "approved", 6, "app"), ("S2", "t2", "refused", 3, "source")])
    assert _due(engine) == EXTENDED
    # the next replacing load without extensions.csv drops the source's request, keeps the app's
    load_dataset(FIXTURES / "extensions", engine, replace=True)
    assert _requests(engine) == [(eid, "t2", "approved", 6, "app")]
    assert _due(engine) == EXTENDED


def test_a_batch_merges_requests_by_key_and_the_due_time_follows(engine, tmp_path):
    load_dataset(FIXTURES / "extensions", engine)
    assert _due(engine) == ORIGINAL
    pending = [*S1[:6], "requested", S1[7], S1[8], "", "", "", ""]
    r = sync_batch(write_batch(tmp_path / "b1", "b1", "2025-10-02T11:00:00+08:00",
                               {"extensions.csv": (HEADER, [pending])}), engine)
    assert (r.counts["case_extensions"].inserted, r.cases_touched) == (1, 1)
    assert _due(engine) == ORIGINAL   # a request alone moves nothing
    r = sync_batch(write_batch(tmp_path / "b2", "b2", "2025-10-02T12:00:00+08:00",
                               {"extensions.csv": (HEADER, [S1])}), engine)
    assert r.counts["case_extensions"].updated == 1
    assert _due(engine) == EXTENDED and _kpis(engine)[-1] == 0
    _assert_rollups_are_a_rebuild(engine)
    # an older row of the same request (produced before b2) is skipped, never applied
    r = sync_batch(write_batch(tmp_path / "b3", "b3", "2025-10-02T11:30:00+08:00",
                               {"extensions.csv": (HEADER, [pending])}), engine)
    assert r.counts["case_extensions"].skipped == 1 and _due(engine) == EXTENDED
    # the source withdraws it: the due time goes back
    r = sync_batch(write_batch(tmp_path / "b4", "b4", "2025-10-03T08:00:00+08:00", {},
                               deletions=[("case_extensions", "S1")]), engine)
    assert r.counts["case_extensions"].deleted == 1
    assert _requests(engine) == [] and _due(engine) == ORIGINAL and _kpis(engine)[-1] == 1
    _assert_rollups_are_a_rebuild(engine)


def test_a_batch_never_changes_or_deletes_a_request_made_in_the_dashboard(engine, tmp_path):
    load_dataset(FIXTURES / "extensions", engine)
    eid = ex.request_extension(engine, STAFF, _req(), now=NOW)
    ex.decide_extension(engine, LEADER, eid, approve=True, now=NOW)
    forged = [eid, *S1[1:12], ""]
    moved = [eid, "t1", *S1[2:12], "app"]
    folder = write_batch(tmp_path / "b1", "b1", "2025-10-09T08:00:00+08:00",
                         {"extensions.csv": (HEADER, [forged])}, deletions=[("case_extensions", eid)])
    with pytest.raises(BatchRefused) as e:
        sync_batch(folder, engine)
    assert e.value.problems == [
        f"extensions.csv:2 extension_id: extension request '{eid}' was made in the dashboard (origin 'app'); "
        "the source cannot change it",
        f"deletions.csv:2 key: extension request '{eid}' was made in the dashboard; the source cannot delete it",
    ]
    with pytest.raises(BatchRefused) as e:
        sync_batch(write_batch(tmp_path / "b2", "b2", "2025-10-09T08:00:00+08:00", {},
                               deletions=[("case_extensions", eid)]), engine)
    assert e.value.problems == [f"deletions.csv:2 key: extension request '{eid}' was made in the dashboard; the "
                                "source cannot delete it"]
    with pytest.raises(BatchRefused) as e:
        sync_batch(write_batch(tmp_path / "b3", "b3", "2025-10-09T08:00:00+08:00",
                               {"extensions.csv": (HEADER, [moved])}), engine)
    assert e.value.problems == [f"extensions.csv:2 case_no: extension request '{eid}' is on case 't2'; a request "
                                "never moves to another case (withdraw it with deletions.csv and send a new one)"]
    assert _requests(engine) == [(eid, "t2", "approved", 6, "app")] and _due(engine) == EXTENDED


def test_deleting_a_case_deletes_the_sources_requests_on_it(engine, tmp_path):
    folder = _dataset(tmp_path, [S1])
    (folder / "batch.json").write_text('{"batch_id": "e0", "produced_at": "2025-10-08T00:00:00+08:00"}',
                                       encoding="utf-8")
    load_dataset(folder, engine)
    assert _due(engine) == EXTENDED
    r = sync_batch(write_batch(tmp_path / "b1", "b1", "2025-10-09T08:00:00+08:00", {},
                               deletions=[("cases", "t2")]), engine)
    assert r.counts["cases"].deleted == 1
    assert _requests(engine) == []
    _assert_rollups_are_a_rebuild(engine)


def test_a_batch_cannot_add_a_second_pending_request_to_a_case_with_one_stored(engine, tmp_path):
    """One request of a case awaits a decision at a time: checked within the file, and against the database.  The
    stored pending one may be the source's (S1, sent by an earlier batch) or the dashboard's; the batch that adds
    another is refused with its place and reason, and nothing of it is applied.  A batch that decides (or deletes)
    the stored one in the same batch may add the next."""
    load_dataset(FIXTURES / "extensions", engine)
    pending = [*S1[:6], "requested", S1[7], S1[8], "", "", "", ""]
    sync_batch(write_batch(tmp_path / "b1", "b1", "2025-10-02T11:00:00+08:00",
                           {"extensions.csv": (HEADER, [pending])}), engine)
    second = ["S3", "t2", "D1", "2", "days", "再申请", "requested", "2025-10-02T13:00:00", "D1 经办", "", "", "", ""]
    also = [*S2[:6], "approved", *S2[7:12], ""]                    # another case's row in the same batch: fine
    folder = write_batch(tmp_path / "b2", "b2", "2025-10-02T14:00:00+08:00",
                         {"extensions.csv": (HEADER, [also, second])})
    with pytest.raises(BatchRefused) as e:
        sync_batch(folder, engine)
    assert e.value.problems == ["extensions.csv:3 status: case 't2' already has a request awaiting a decision "
                                "('S1', stored in the database)"]
    assert _requests(engine) == [("S1", "t2", "requested", 6, "source")]   # b2 changed nothing
    # the dashboard's own pending request counts the same
    sync_batch(write_batch(tmp_path / "b3", "b3", "2025-10-02T15:00:00+08:00", {},
                           deletions=[("case_extensions", "S1")]), engine)
    eid = ex.request_extension(engine, STAFF, _req(), now=NOW)
    with pytest.raises(BatchRefused) as e:
        sync_batch(write_batch(tmp_path / "b4", "b4", "2025-10-09T08:00:00+08:00",
                               {"extensions.csv": (HEADER, [second])}), engine)
    assert e.value.problems == ["extensions.csv:2 status: case 't2' already has a request awaiting a decision "
                                f"('{eid}', stored in the database)"]
    assert _requests(engine) == [(eid, "t2", "requested", 6, "app")]
    # decided in the dashboard: the source's next request is accepted
    ex.decide_extension(engine, LEADER, eid, approve=False, now=NOW)
    r = sync_batch(write_batch(tmp_path / "b5", "b5", "2025-10-09T09:00:00+08:00",
                               {"extensions.csv": (HEADER, [second])}), engine)
    assert r.counts["case_extensions"].inserted == 1


def test_a_batch_may_decide_the_stored_pending_request_and_add_the_next(engine, tmp_path):
    load_dataset(FIXTURES / "extensions", engine)
    pending = [*S1[:6], "requested", S1[7], S1[8], "", "", "", ""]
    sync_batch(write_batch(tmp_path / "b1", "b1", "2025-10-02T11:00:00+08:00",
                           {"extensions.csv": (HEADER, [pending])}), engine)
    second = ["S3", "t2", "D1", "2", "days", "再申请", "requested", "2025-10-02T13:00:00", "D1 经办", "", "", "", ""]
    # the new request's row before the decision of the stored one: order within the file does not matter
    r = sync_batch(write_batch(tmp_path / "b2", "b2", "2025-10-02T14:00:00+08:00",
                               {"extensions.csv": (HEADER, [second, S1])}), engine)
    assert (r.counts["case_extensions"].inserted, r.counts["case_extensions"].updated) == (1, 1)
    assert _requests(engine) == [("S1", "t2", "approved", 6, "source"), ("S3", "t2", "requested", 2, "source")]


def test_a_replacing_load_refuses_a_second_pending_request_beside_the_dashboards(engine, tmp_path):
    """One request of a case awaits a decision at a time, across a replacing load too: the dashboard's pending
    request is put back over the new data, so a file that brings another pending request for the same case is
    refused with both ids, and the database is as it was (the previous data, the dashboard's request)."""
    load_dataset(FIXTURES / "extensions", engine)
    eid = ex.request_extension(engine, STAFF, _req(), now=NOW)
    second = ["S3", "t2", "D1", "2", "days", "再申请", "requested", "2025-10-02T13:00:00", "D1 经办", "", "", "", ""]
    with pytest.raises(DatasetInvalid) as e:
        load_dataset(_dataset(tmp_path, [S2, second]), engine, replace=True)
    assert e.value.problems == [
        f"extensions.csv status: case 't2' has a request awaiting a decision in this dataset ('S3') and one made in "
        f"the dashboard ('{eid}'): only one may wait at a time; decide the dashboard's request first, or leave "
        "the file's out"]
    assert _requests(engine) == [(eid, "t2", "requested", 6, "app")]
    # decided in the dashboard, the same file loads: both requests are kept, S2 refused as the file says
    ex.decide_extension(engine, LEADER, eid, approve=False, now=NOW)
    load_dataset(_dataset(tmp_path, [S2, second], name="again"), engine, replace=True)
    assert _requests(engine) == sorted([(eid, "t2", "refused", 6, "app"), ("S2", "t2", "refused", 3, "source"),
                                        ("S3", "t2", "requested", 2, "source")])


def test_a_decision_is_not_withdrawn_while_another_request_of_the_case_waits(engine, tmp_path):
    """Taking a decision back makes its request wait again: refused while another request of the same case (here
    the source's, sent after the dashboard's was refused) awaits a decision, as a new request would be."""
    load_dataset(FIXTURES / "extensions", engine)
    eid = ex.request_extension(engine, STAFF, _req(), now=NOW)
    ex.decide_extension(engine, LEADER, eid, approve=False, now=NOW)
    second = ["S3", "t2", "D1", "2", "days", "再申请", "requested", "2025-10-02T13:00:00", "D1 经办", "", "", "", ""]
    sync_batch(write_batch(tmp_path / "b1", "b1", "2025-10-09T09:00:00+08:00",
                           {"extensions.csv": (HEADER, [second])}), engine)
    with pytest.raises(WriteRefused) as e:
        ex.withdraw_decision(engine, LEADER, eid, now=NOW)
    assert (e.value.reason, str(e.value)) == ("pending", "case_no: t2 already has a request awaiting a decision (S3)")
    assert _requests(engine) == sorted([(eid, "t2", "refused", 6, "app"), ("S3", "t2", "requested", 2, "source")])
    # once the source's request is decided, the decision can be taken back
    ex.decide_extension(engine, LEADER, "S3", approve=False, now=NOW)
    ex.withdraw_decision(engine, LEADER, eid, now=NOW)
    assert _requests(engine) == sorted([(eid, "t2", "requested", 6, "app"), ("S3", "t2", "refused", 2, "source")])
