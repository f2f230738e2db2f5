"""``export --since TIMESTAMP DIR``: the rows changed since a time as a batch for another dashboard's ``sync``
(docs/DATA_CONTRACT.md, "A batch of another dashboard"), on the hand-computable fixture (tests/fixtures/metrics),
SQLite and PostgreSQL.

The key property: A loaded at T0 and exported whole (E0), B loaded from E0; A then syncs the source's batches
(new, changed and deleted cases, new events) and its users write (a case moved on, orders issued and resolved);
``sync`` of A's ``export --since T0`` into B leaves B's full export byte for byte A's.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select, text, update
from sqlalchemy.engine import make_url

from data_access.cli import main
from data_access.core import schema
from data_access.core.clock import wall_now
from data_access.core.contract import APP_SEQ_BASE
from data_access.ingest import exporter
from data_access.ingest.exporter import ExportRefused, export_batch, export_dataset
from data_access.ingest.loader import load_dataset
from data_access.ingest.sync import BatchRefused, sync_batch
from data_access.writes import orders, workflow
from data_access.writes.extensions import ExtensionRequest as ExtRequest
from tests.conftest import FIXTURES, PG_SKIP_REASON, PG_URL, fresh_engine, reset_postgres
from tests.test_sync import LEADER, base_dataset, batch_1, batch_2, events_of

METRICS = FIXTURES / "metrics"
DEADLINE = datetime(2026, 3, 25)


def peer_engine(kind: str, tmp_path: Path):
    """A second fresh database beside fresh_engine's (PostgreSQL: the database ``<test database>_peer``)."""
    from data_access.core.db import make_engine

    if kind == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'peer.db'}")
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    url = make_url(PG_URL)
    peer = url.set(database=f"{url.database}_peer")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": peer.database}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{peer.database}"'))
    admin.dispose()
    peer_url = peer.render_as_string(hide_password=False)
    reset_postgres(peer_url)
    return make_engine(peer_url)


@pytest.fixture
def pair(db_kind, tmp_path):
    a = fresh_engine(db_kind, tmp_path)
    b = peer_engine(db_kind, tmp_path)
    yield a, b
    a.dispose()
    b.dispose()


def loaded_before(engine, t0: datetime) -> None:
    """As if the load had been a minute before ``t0`` (a row written in t0's second is sent: since is inclusive)."""
    with engine.begin() as conn:
        for t in [*schema.DATASET_TABLES, schema.case_extensions]:
            conn.execute(update(t).values(changed_at=t0 - timedelta(minutes=1)))
        conn.execute(update(schema.sync_batches).values(applied_at=t0 - timedelta(minutes=1)))


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def assert_same_export(a, b, tmp_path: Path, name: str) -> dict[str, bytes]:
    export_dataset(a, tmp_path / f"{name}-a")
    export_dataset(b, tmp_path / f"{name}-b")
    fa, fb = files_of(tmp_path / f"{name}-a"), files_of(tmp_path / f"{name}-b")
    assert sorted(fa) == sorted(fb)
    for file in fa:
        assert fa[file] == fb[file], file
    return fa


def lines(data: bytes) -> list[str]:
    return data.decode("utf-8").splitlines()


# --- the key property -------------------------------------------------------------------------------------

def test_load_e0_then_sync_since_t0_equals_a_full_export(pair, tmp_path, monkeypatch):
    a, b = pair
    load_dataset(base_dataset(tmp_path / "base"), a)
    t0 = wall_now()
    loaded_before(a, t0)
    export_dataset(a, tmp_path / "e0")
    load_dataset(tmp_path / "e0", b)

    # A changes: the source's batches (new cases c06, c07, c08; c04 and c09 changed; cases c99 and post S99
    # withdrawn), a case moved on in the app, an order issued in the app
    sync_batch(batch_1(tmp_path / "b1"), a)
    sync_batch(batch_2(tmp_path / "b2"), a)
    workflow.dispatch_case(a, "c08", "D1", datetime(2026, 3, 20, 9, 0))
    sid = orders.issue_supervision(a, LEADER, orders.SupervisionOrder("c06", "red", DEADLINE, "请加快"),
                                   now=datetime(2026, 3, 20, 12, 0))

    batch = export_batch(a, tmp_path / "since-t0", t0)
    assert batch.counts == {"grids": 1, "staff": 3, "volunteer_teams": 1, "volunteer_activities": 1, "cases": 5,
                            "case_events": 17, "supervisions": 2}
    assert batch.deletions == 2
    d = tmp_path / "since-t0"
    assert lines((d / "deletions.csv").read_bytes()) == ["table,key", "cases,c99", "staff,S99"]
    assert sorted(p.name for p in d.iterdir()) == ["batch.json", "case_events.csv", "cases.csv", "deletions.csv",
                                                   "grids.csv", "staff.csv", "supervisions.csv",
                                                   "volunteer_activities.csv", "volunteer_teams.csv"]
    meta = json.loads((d / "batch.json").read_text(encoding="utf-8"))
    assert meta["since"] == f"{t0:%Y-%m-%dT%H:%M:%S}+08:00"
    assert meta["files"]["cases.csv"] == 5 and meta["files"]["deletions.csv"] == 2

    # B follows A's cities' dashboard: its own entries are numbered in another run
    monkeypatch.setenv("GOV_APP_LOG_RUN", "2")
    r = sync_batch(d, b)
    assert (r.counts["cases"].inserted, r.counts["cases"].updated, r.counts["cases"].deleted) == (3, 2, 1)
    assert r.counts["supervisions"].inserted == 2
    full = assert_same_export(a, b, tmp_path, "t1")
    assert any(f",{APP_SEQ_BASE},2026-03-20T12:00:00+08:00,supervise," in ln for ln in lines(full["case_events.csv"]))
    assert any(ln.startswith(sid) and ln.endswith(",app") for ln in lines(full["supervisions.csv"]))

    # sent again (a since earlier than needed): rows already there change nothing, deletions already made too
    monkeypatch.setattr(exporter, "wall_now", lambda: batch.produced_at + timedelta(seconds=1))
    again = export_batch(a, tmp_path / "again", t0)
    monkeypatch.setattr(exporter, "wall_now", wall_now)
    assert again.batch_id != batch.batch_id
    r = sync_batch(tmp_path / "again", b)
    assert (r.counts["cases"].inserted, r.counts["case_events"].inserted, r.counts["cases"].deleted) == (0, 0, 0)
    assert r.counts["case_events"].unchanged == 17
    assert_same_export(a, b, tmp_path, "again")

    # B's own order on A's case: its own run; A's next entries on the case (another order, the first resolved)
    # arrive beside it without a collision
    sid_b = orders.issue_supervision(b, LEADER, orders.SupervisionOrder("c06", "yellow", DEADLINE, "省级督办"),
                                     now=datetime(2026, 3, 20, 15, 0))
    monkeypatch.delenv("GOV_APP_LOG_RUN")
    t1 = batch.produced_at
    sid2 = orders.issue_supervision(a, LEADER, orders.SupervisionOrder("c06", "normal", DEADLINE, "再次督办"),
                                    now=datetime(2026, 3, 20, 16, 0))
    orders.resolve_supervision(a, LEADER, sid, now=datetime(2026, 3, 20, 17, 0))
    # made after "again" (stamped a second past the first batch above): by the clock, it could fall in the same
    # second, and a batch older than the rows it sends is skipped
    monkeypatch.setattr(exporter, "wall_now", lambda: max(wall_now(), batch.produced_at + timedelta(seconds=2)))
    second = export_batch(a, tmp_path / "since-t1", t1)
    monkeypatch.setattr(exporter, "wall_now", wall_now)
    monkeypatch.setenv("GOV_APP_LOG_RUN", "2")
    sync_batch(tmp_path / "since-t1", b)
    assert events_of(b, "c06")[-4:] == [(APP_SEQ_BASE, "supervise"), (APP_SEQ_BASE + 1, "supervise"),
                                        (APP_SEQ_BASE + 2, "note"), (2 * APP_SEQ_BASE, "supervise")]
    # since t1 is inclusive: rows written in t1's second come again (SV1, when the batches ran in that second)
    sent = {ln.split(",")[0] for ln in lines((tmp_path / "since-t1" / "supervisions.csv").read_bytes())[1:]}
    assert {sid, sid2} <= sent <= {sid, sid2, "SV1"}
    export_dataset(a, tmp_path / "end-a")
    export_dataset(b, tmp_path / "end-b")
    fa, fb = files_of(tmp_path / "end-a"), files_of(tmp_path / "end-b")
    for file in fa:   # B holds all of A and its own order, nothing else
        own = [ln for ln in lines(fb[file]) if ln not in lines(fa[file])]
        assert [ln for ln in lines(fb[file]) if ln not in own] == lines(fa[file]), file
        if file == "supervisions.csv":
            assert [ln.split(",")[0] for ln in own] == [sid_b]
        elif file == "case_events.csv":
            assert [ln.split(",")[:2] for ln in own] == [["c06", str(2 * APP_SEQ_BASE)]]
        else:
            assert own == [], file
    assert sid2 in fb["supervisions.csv"].decode()
    # B's export, with both runs, is a dataset: a reload of A from it (A's own rows kept over it) is B again
    load_dataset(tmp_path / "end-b", a, replace=True)
    export_dataset(a, tmp_path / "reloaded")
    assert files_of(tmp_path / "reloaded") == fb


def test_extension_requests_travel_load_e0_then_sync_since_t0_equals_a_full_export(pair, tmp_path, monkeypatch):
    """extensions.csv: the source's requests and the dashboard's (origin 'app') reach the follower, whose due times
    follow through the one definition (core/time_limits.apply_rules)."""
    from tests.test_extensions import LEADER as EXT_LEADER
    from tests.test_extensions import NOW, STAFF
    from tests.test_extensions_csv import HEADER, S1, S2, _dataset, _due, _requests
    from tests.test_sync import write_batch

    from data_access.writes import extensions as ex

    a, b = pair
    load_dataset(_dataset(tmp_path, [S2]), a)
    t0 = wall_now()
    loaded_before(a, t0)
    export_dataset(a, tmp_path / "e0")
    assert lines((tmp_path / "e0" / "extensions.csv").read_bytes())[1:] == [
        "S2,t2,D1,3,working_days,材料不全,refused,2025-10-01T10:00:00+08:00,D1 经办,2025-10-01T15:00:00+08:00,"
        "东县领导,,source"]
    load_dataset(tmp_path / "e0", b)

    # A: the source approves 6 days (S1), then the dashboard grants 2 working days more
    sync_batch(write_batch(tmp_path / "b1", "b1", f"{wall_now():%Y-%m-%dT%H:%M:%S}+08:00",
                           {"extensions.csv": (HEADER, [S1])}), a)
    eid = ex.request_extension(a, STAFF, ExtRequest("t2", 2, "working_days", "需补充调查"), now=NOW)
    ex.decide_extension(a, EXT_LEADER, eid, approve=True, now=NOW)
    due = datetime(2025, 10, 11, 9)   # 10-03 09:00 + 6 days = 10-09 09:00, + 2 working days (10-10, 10-11 调休)
    assert _due(a) == due

    batch = export_batch(a, tmp_path / "since-t0", t0)
    assert batch.counts["case_extensions"] == 2 and batch.counts["case_events"] == 2   # the request and approval
    monkeypatch.setenv("GOV_APP_LOG_RUN", "2")
    r = sync_batch(tmp_path / "since-t0", b)
    assert r.counts["case_extensions"].inserted == 2
    full = assert_same_export(a, b, tmp_path, "t1")
    assert [ln.split(",")[0] + "," + ln.rsplit(",", 1)[1] for ln in lines(full["extensions.csv"])[1:]] == \
        sorted([f"{eid},app", "S1,source", "S2,source"])
    assert _requests(b) == _requests(a) and _due(b) == due
    with a.connect() as ca, b.connect() as cb:   # the case's derived due-time columns alike, the roll-ups too
        for t in (schema.case_summary, schema.process_summary):
            assert sorted(map(tuple, ca.execute(select(t)).all())) == sorted(map(tuple, cb.execute(select(t)).all()))
        c = schema.cases.c
        cols = [c.due_at, c.source_due_at, c.allowed_hours, c.closed_late, c.late_hours]
        assert ca.execute(select(*cols).where(c.case_no == "t2")).one() == \
            cb.execute(select(*cols).where(c.case_no == "t2")).one()


def test_a_follower_in_the_same_run_refuses_the_other_dashboards_entries(pair, tmp_path, monkeypatch):
    a, b = pair
    load_dataset(METRICS, a)
    t0 = wall_now()
    loaded_before(a, t0)
    export_dataset(a, tmp_path / "e0")
    load_dataset(tmp_path / "e0", b)
    orders.issue_supervision(a, LEADER, orders.SupervisionOrder("c06", "red", DEADLINE, "请加快"),
                             now=datetime(2026, 3, 20, 12, 0))
    export_batch(a, tmp_path / "since", t0)
    with pytest.raises(BatchRefused) as exc:   # both in run 1 (GOV_APP_LOG_RUN unset): the numbers would collide
        sync_batch(tmp_path / "since", b)
    assert exc.value.problems == [
        f"case_events.csv:2 seq: {APP_SEQ_BASE} is in this dashboard's own run (GOV_APP_LOG_RUN=1: {APP_SEQ_BASE} "
        "…), where only its own entries are numbered: the dashboard that exported the batch must have another "
        "GOV_APP_LOG_RUN"]
    assert events_of(b, "c06")[-1] == (4, "handle")   # nothing of the batch applied
    monkeypatch.setenv("GOV_APP_LOG_RUN", "two")
    with pytest.raises(BatchRefused) as exc:
        sync_batch(tmp_path / "since", b)
    assert exc.value.problems == ["batch.json since: a batch of another dashboard needs this dashboard's log run: "
                                  "GOV_APP_LOG_RUN: a whole number 1–2000, not 'two'"]


# --- what is sent ------------------------------------------------------------------------------------------

T = datetime(2026, 4, 1, 10, 0, 0)


def _stamp(engine, table, where, at) -> None:
    with engine.begin() as conn:
        conn.execute(update(table).where(where).values(changed_at=at))


def test_rows_at_or_after_since_are_sent_null_never(loaded_engine, tmp_path, monkeypatch):
    eng = loaded_engine
    with eng.begin() as conn:   # every row older than any batch (as before the sync columns), then a few stamped
        for t in schema.DATASET_TABLES:
            conn.execute(update(t).values(changed_at=None))
        conn.execute(insert(schema.sync_deletions), [
            {"table_name": "staff", "row_key": "S98", "produced_at": T, "deleted_at": T},
            {"table_name": "cases", "row_key": "c98", "produced_at": T, "deleted_at": T - timedelta(seconds=1)}])
    c, e = schema.cases.c, schema.case_events.c
    _stamp(eng, schema.cases, c.case_no == "c01", T - timedelta(seconds=1))
    _stamp(eng, schema.cases, c.case_no == "c02", T)   # the same second as since: sent
    _stamp(eng, schema.cases, c.case_no == "c03", T + timedelta(hours=1))
    _stamp(eng, schema.case_events, (e.case_no == "c03") & (e.seq >= 5), T + timedelta(hours=1))
    monkeypatch.setattr(exporter, "wall_now", lambda: datetime(2026, 4, 2, 8, 0, 0))
    out = export_batch(eng, tmp_path / "b", T)
    d = tmp_path / "b"
    assert out.counts == {"cases": 2, "case_events": 2} and out.deletions == 1
    assert sorted(p.name for p in d.iterdir()) == ["batch.json", "case_events.csv", "cases.csv", "deletions.csv"]
    assert [ln.split(",")[0] for ln in lines((d / "cases.csv").read_bytes())] == ["case_no", "c02", "c03"]
    assert [ln.split(",")[:2] for ln in lines((d / "case_events.csv").read_bytes())][1:] == [["c03", "5"],
                                                                                                 ["c03", "6"]]
    # the dataset's due time, never the derived columns: the same line as the full export's
    export_dataset(eng, tmp_path / "full")
    full = lines((tmp_path / "full" / "cases.csv").read_bytes())
    assert lines((d / "cases.csv").read_bytes()) == [full[0], full[2], full[3]]
    assert lines((d / "deletions.csv").read_bytes()) == ["table,key", "staff,S98"]
    meta = json.loads((d / "batch.json").read_text(encoding="utf-8"))
    digest = out.batch_id.rsplit("-", 1)[1]
    assert meta == {"batch_id": f"export-20260401T100000-20260402T080000-{digest}",
                    "produced_at": "2026-04-02T08:00:00+08:00", "since": "2026-04-01T10:00:00+08:00",
                    "files": {"cases.csv": 2, "case_events.csv": 2, "deletions.csv": 1}}
    # the same changes exported again in the same second: the same id (applied once); other changes: another
    assert export_batch(eng, tmp_path / "b2", T).batch_id == out.batch_id
    _stamp(eng, schema.cases, c.case_no == "c04", T)
    assert export_batch(eng, tmp_path / "b3", T).batch_id != out.batch_id


def test_nothing_changed_is_an_empty_batch_that_sync_accepts(loaded_engine, tmp_path):
    since = wall_now()
    with loaded_engine.begin() as conn:
        for t in schema.DATASET_TABLES:
            conn.execute(update(t).values(changed_at=since - timedelta(seconds=1)))
    out = export_batch(loaded_engine, tmp_path / "b", since)
    assert out.counts == {} and out.deletions == 0
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["batch.json"]
    r = sync_batch(tmp_path / "b", loaded_engine)
    assert r.rows == 0 and not r.already_applied


# --- bad input ---------------------------------------------------------------------------------------------

def test_a_full_load_after_since_is_refused(loaded_engine, tmp_path):
    since = wall_now()
    with loaded_engine.begin() as conn:   # the first load an hour before since
        conn.execute(update(schema.sync_batches).values(applied_at=since - timedelta(hours=1)))
    load_dataset(METRICS, loaded_engine, replace=True)
    with pytest.raises(ExportRefused, match="replaced by a full load at .*send a full export"):
        export_batch(loaded_engine, tmp_path / "b", since)
    assert not (tmp_path / "b").exists()


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("since, expected", [
    ("yesterday", "error: --since: not a timestamp YYYY-MM-DDTHH:MM:SS[+08:00]: 'yesterday'; nothing was written"),
    ("2026-02-30T10:00:00", "error: --since: not a valid date/time: '2026-02-30T10:00:00'; nothing was written"),
    ("2199-01-01T00:00:00", "error: --since: 2199-01-01 00:00:00 is in the future (now "),
    ("2999-01-01T00:00:00", "error: --since: year 2999 is outside 1900–2200"),
])
def test_cli_refuses_a_bad_since(tmp_path, capsys, since, expected):
    load_dataset(METRICS, fresh_engine("sqlite", tmp_path))
    code, out, err = _cli(capsys, "--db", f"sqlite:///{tmp_path / 'test.db'}", "export", "--since", since,
                          str(tmp_path / "b"))
    assert code == 1 and out == ""
    assert err.startswith(expected) and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "b").exists()


def test_cli_refuses_a_folder_not_empty_and_writes_a_batch(tmp_path, capsys):
    eng = fresh_engine("sqlite", tmp_path)
    load_dataset(METRICS, eng)
    db = f"sqlite:///{tmp_path / 'test.db'}"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "cases.csv").write_text("old\n", encoding="utf-8")
    code, out, err = _cli(capsys, "--db", db, "export", "--since", "2026-01-01T00:00:00", str(tmp_path / "b"))
    assert code == 1 and out == ""
    assert err == (f"error: {tmp_path / 'b'}: exists and is not an empty folder; a batch is written into a new or "
                   "empty folder (files of an older batch would be sent again); nothing was written\n")
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["cases.csv"]
    code, out, err = _cli(capsys, "--db", db, "export", "--since", "2026-01-01T00:00:00+08:00", str(tmp_path / "c"))
    assert code == 0 and err == ""
    with eng.connect() as conn:
        n_cases = conn.execute(select(func.count()).select_from(schema.cases)).scalar_one()
    assert f"  {'cases':<22}  {n_cases:>10,}\n" in out   # every row was loaded since that time: all of them
    assert "rows changed since 2026-01-01 00:00:00 written to" in out
    assert json.loads((tmp_path / "c" / "batch.json").read_text(encoding="utf-8"))["files"]["cases.csv"] == n_cases
