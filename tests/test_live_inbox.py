"""The live feed as a source system (python -m sample_data.live --inbox DIR, sample_data/live_inbox.py): every batch
it writes is applied by the sync's watcher (data_access/ingest/watch.py) and the counts move as its actions say;
an interrupted batch is never visible; bad input is one clear line — on SQLite and PostgreSQL, on a copy of the
hand-computable fixture (tests/fixtures/metrics: 10 cases, 41 events, 1 open order)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from data_access import cli
from data_access.core.contract import APP_SEQ_BASE
from data_access.core.schema import case_events, cases, supervisions, sync_batches
from data_access.ingest.watch import pending, process_inbox
from sample_data import live, live_inbox
from tests.test_live_feed import assert_every_case_follows_the_contract, counts, fake_clock
from tests.test_workflow_writes import assert_rollups_exact

FIXTURE = {"cases": 10, "closed": 7, "events": 41, "open_orders": 1, "returns": 0, "reopens": 0}


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def run(engine, inbox: Path, steps: int, seed: int, batch_steps: int = 10):
    return live_inbox.run_inbox(engine, inbox, rate=0, steps=steps, seed=seed, clock=fake_clock(),
                                batch_steps=batch_steps, out=None)


@pytest.mark.parametrize("seed", [1, 3])
def test_every_batch_is_applied_and_the_counts_move_as_the_actions_say(loaded_engine, tmp_path, seed):
    before = counts(loaded_engine)
    assert {k: before[k] for k in FIXTURE} == FIXTURE
    inbox = tmp_path / "inbox"
    taken, batches = run(loaded_engine, inbox, steps=400, seed=seed)
    # seed 1 and 3: every kind of action the source takes (a copy withdrawn, a re-report, a reopen, an order)
    for action in ("report", "accept", "dispatch", "handle", "feedback", "close", "supervise", "resolve",
                   "return", "reopen", "rereport", "duplicate"):
        assert taken[action] > 0, (action, taken)
    assert taken["skip"] == 0 and taken["withdrawn"] == taken["duplicate"]
    assert names(inbox) == sorted(b.batch_id for b in batches)
    produced = [b.produced_at for b in batches]
    assert produced == sorted(produced) and len(set(produced)) == len(produced)   # strictly increasing
    # nothing has reached the database yet: the feed only read it
    assert counts(loaded_engine) == before

    done = process_inbox(inbox, loaded_engine)
    assert len(done.applied) == len(batches)
    assert names(inbox) == ["done", "rejected"] and names(inbox / "rejected") == []
    assert names(inbox / "done") == sorted(b.batch_id for b in batches)
    for _name, result in done.applied:
        assert not result.already_applied and result.warnings == []
        assert all(c.skipped == 0 for c in result.counts.values())   # no row older than the stored one

    after = counts(loaded_engine)
    acted = sum(v for k, v in taken.items() if k not in ("skip", "withdrawn"))
    # one event per action, two for a report entered twice, less the copy's when it is withdrawn
    assert after["events"] - before["events"] == acted + taken["duplicate"] - taken["withdrawn"] == 400
    assert after["cases"] - before["cases"] == taken["report"] + taken["rereport"] + taken["duplicate"]
    assert after["closed"] - before["closed"] == taken["close"] - taken["reopen"]
    assert after["open_orders"] - before["open_orders"] == taken["supervise"] - taken["resolve"]
    assert after["returns"] == after["return_events"] == before["returns"] + taken["return"]
    assert after["reopens"] == before["reopens"] + taken["reopen"]
    assert_every_case_follows_the_contract(loaded_engine)
    assert_rollups_exact(loaded_engine)
    with loaded_engine.connect() as conn:
        # the source's events only: none in the dashboard's range; its orders are the source's
        assert conn.execute(select(func.count()).where(case_events.c.seq >= APP_SEQ_BASE)).scalar_one() == 0
        origins = dict(conn.execute(select(supervisions.c.origin, func.count()).group_by(supervisions.c.origin))
                       .all())
        assert set(origins) == {"source"}
        assert conn.execute(select(func.count()).where(supervisions.c.supervision_id.like("LS%"))
                            ).scalar_one() == taken["supervise"]
        # the copies entered twice are gone with their events, the batch log holds every batch
        assert conn.execute(select(func.count()).select_from(sync_batches)
                            .where(sync_batches.c.status == "applied")).scalar_one() == len(batches)
        last = conn.execute(select(func.max(sync_batches.c.produced_at))).scalar_one()
    assert last == batches[-1].produced_at
    # a second run starts from the database as the batches left it, and its batches go through as well
    taken2, batches2 = run(loaded_engine, inbox, steps=60, seed=seed + 100)
    assert batches2[0].produced_at > last
    assert len(process_inbox(inbox, loaded_engine).applied) == len(batches2)
    assert counts(loaded_engine)["cases"] - after["cases"] == (taken2["report"] + taken2["rereport"]
                                                                + taken2["duplicate"])


def test_a_batch_folder_holds_whole_rows_and_batch_json_lists_them(loaded_engine, tmp_path):
    inbox = tmp_path / "inbox"
    _taken, batches = run(loaded_engine, inbox, steps=12, seed=4, batch_steps=12)
    assert len(batches) == 1
    folder = batches[0].path
    info = json.loads((folder / "batch.json").read_text(encoding="utf-8"))
    assert info["batch_id"] == folder.name == batches[0].batch_id
    assert datetime.fromisoformat(info["produced_at"]).utcoffset().total_seconds() == 8 * 3600
    assert set(info["files"]) == {p.name for p in folder.iterdir()} - {"batch.json"}
    assert info["files"]["case_events.csv"] == 12
    header = (folder / "cases.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:3] == ["case_no", "grid_code", "category"] and "due_at" in header and "satisfaction" in header


def test_stopping_while_a_batch_is_written_leaves_nothing_for_the_watcher(loaded_engine, tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    real = live_inbox._write_csv

    def interrupted(path, *args):
        if path.name == "case_events.csv":
            real(path, *args)
            raise KeyboardInterrupt   # Ctrl-C after the cases and the events, before batch.json
        return real(path, *args)

    monkeypatch.setattr(live_inbox, "_write_csv", interrupted)
    lines: list[str] = []
    taken, batches = live_inbox.run_inbox(loaded_engine, inbox, rate=0, steps=20, seed=2, clock=fake_clock(),
                                          batch_steps=5, out=lines.append)
    assert batches == [] and sum(taken.values()) == 5
    assert names(inbox) == [] and pending(inbox) == []
    assert lines[-1].startswith("stopped: 5 action(s) since the last batch were not sent")
    monkeypatch.setattr(live_inbox, "_write_csv", real)
    # a hidden folder a killed run left behind is not a batch, and the next run clears it away
    (inbox / ".live-20260101-000000.tmp").mkdir()
    (inbox / ".live-20260101-000000.tmp" / "cases.csv").write_text("case_no\n", encoding="utf-8")
    assert pending(inbox) == []
    _taken, batches = run(loaded_engine, inbox, steps=10, seed=2)
    assert names(inbox) == [b.batch_id for b in batches]
    assert len(process_inbox(inbox, loaded_engine).applied) == len(batches)


def test_batches_not_applied_yet_stop_a_new_run(loaded_engine, tmp_path):
    inbox = tmp_path / "inbox"
    _taken, batches = run(loaded_engine, inbox, steps=10, seed=5)
    with pytest.raises(live_inbox.InboxProblem, match=r"1 batch\(es\) not applied yet \(live-.*apply them first"):
        run(loaded_engine, inbox, steps=10, seed=6)
    assert names(inbox) == [batches[0].batch_id]


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_command_line_in_inbox_mode_then_the_watcher(loaded_engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GOV_NOW", "2026-03-20T12:00:00")
    url = loaded_engine.url.render_as_string(hide_password=False)
    inbox = tmp_path / "inbox"
    assert live.main(["--db", url, "--inbox", str(inbox), "--steps", "8", "--rate", "0", "--seed", "4",
                      "--speed", "3600", "--batch-steps", "4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("live source for ") and f"batches into {inbox} every 4 actions" in out[0]
    assert sum(line.startswith("batch live-") for line in out) == 2
    assert out[-1].startswith("done: ") and "batches 2" in out[-1]
    totals = {k: int(v) for k, v in (part.split() for part in out[-1][len("done: "):].split(", "))}
    assert sum(v for k, v in totals.items() if k not in ("batches", "withdrawn")) == 8
    monkeypatch.setattr(cli, "_engine", lambda _args: loaded_engine)
    assert cli.main(["sync", "--watch", str(inbox), "--once"]) == 0
    assert len(names(inbox / "done")) == 2
    with loaded_engine.connect() as conn:
        n = conn.execute(select(func.count()).where(cases.c.case_no.like("LD2026032%"))).scalar_one()
    assert n == totals.get("report", 0) + totals.get("rereport", 0) + totals.get("duplicate", 0) > 0


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_bad_input_is_one_line_and_no_traceback(loaded_engine, tmp_path, capsys):
    url = loaded_engine.url.render_as_string(hide_password=False)
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    cases_ = [
        (["--db", url, "--inbox", str(a_file)], f"error: {a_file}: exists and is not a folder"),
        (["--db", url, "--inbox", str(a_file / "inbox")], f"error: {a_file / 'inbox'}: cannot create the folder"),
        (["--db", f"sqlite:///{tmp_path / 'none.db'}", "--inbox", str(tmp_path / "i")],
         f"error: no database at {tmp_path / 'none.db'}"),
        (["--db", "nonsense://x", "--inbox", str(tmp_path / "i")], "error: --db: not a database URL"),
        (["--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "--inbox", str(tmp_path / "i")],
         "error: the database cannot be reached"),
    ]
    for argv, message in cases_:
        assert live.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(message) and "Traceback" not in err, (argv, err)
    assert not (tmp_path / "none.db").exists()   # the feed never makes an empty database
    empty = tmp_path / "empty.db"
    from data_access.core.db import make_engine

    make_engine(f"sqlite:///{empty}").dispose()
    assert live.main(["--db", f"sqlite:///{empty}", "--inbox", str(tmp_path / "i")]) == 2
    assert "error: the database holds no grids or categories: load a dataset first" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        live.main(["--db", url, "--batch-steps", "3"])   # argparse: only with --inbox
    assert "--interval and --batch-steps go with --inbox" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        live.main(["--db", url, "--inbox", str(tmp_path / "i"), "--interval", "0"])
    assert "--interval 0: out of range" in capsys.readouterr().err


def test_a_copy_the_dashboard_issued_an_order_on_is_kept(loaded_engine, tmp_path):
    """A report entered twice is withdrawn one batch later, unless the dashboard issued an order on the copy
    meanwhile (a case with the dashboard's orders is never deleted: the sync would refuse the batch)."""
    from data_access.writes import orders

    inbox = tmp_path / "inbox"
    live_inbox.prepare_inbox(inbox)
    clock = fake_clock()
    store = live_inbox.InboxStore(loaded_engine, inbox, clock())
    feed = live.Feed(loaded_engine, seed=1, clock=clock, store=store)
    for _ in range(2):
        assert feed._duplicate(clock()).action == "duplicate"
    first = store.flush()
    assert first.new_cases == 4 and first.deletions == 0
    copies = sorted(store._withdraw)
    assert len(copies) == 2 and process_inbox(inbox, loaded_engine).applied
    at = datetime(2026, 3, 20, 18, 0)
    orders.issue_supervision(loaded_engine, live.FEED_USER, orders.SupervisionOrder(
        case_no=copies[0], grade="normal", deadline=at + timedelta(days=3), note="请尽快办理"), now=at)
    second = store.flush()
    assert second.deletions == 1 and second.kept == [copies[0]] and "kept " + copies[0] in second.line()
    assert [r[1].counts["cases"].deleted for r in process_inbox(inbox, loaded_engine).applied] == [1]
    with loaded_engine.connect() as conn:
        stored = set(conn.execute(select(cases.c.case_no).where(cases.c.case_no.in_(copies))).scalars())
    assert stored == {copies[0]}
    assert copies[0] in {row[0] for row in store.open_cases(clock())}   # the feed moves it on like any other
    assert store.flush() is None
