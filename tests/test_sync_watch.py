"""``sync --watch INBOX`` and the one-sync-at-a-time lock (data_access/ingest/watch.py), SQLite and PostgreSQL, on
the batches of tests/test_sync.py (the metrics fixture split into a base load and two batches)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from data_access import cli
from data_access.core import schema
from data_access.ingest.sync import sync_batch
from data_access.ingest.watch import LockHeld, sync_lock
from tests.conftest import ROOT
from tests.test_sync import _rows, _set, base, batch_1, batch_2, write_batch  # noqa: F401  (base: a fixture)


def run_watch(engine, monkeypatch, inbox: Path, *extra: str) -> int:
    monkeypatch.setattr(cli, "_engine", lambda _args: engine)
    return cli.main(["sync", "--watch", str(inbox), "--once", *extra])


def log(engine) -> list[tuple[str, str]]:
    b = schema.sync_batches.c
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(b.batch_id, b.status).where(b.kind == "batch")
                                               .order_by(b.applied_at)).all()]


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def bad_batch(folder: Path) -> Path:
    """Refused: a case on a grid that does not exist (produced between batch 1 and batch 2)."""
    h, rows = _rows("cases.csv", {"c08"})
    return write_batch(folder, "b-bad", "2026-03-15T00:00:00+08:00", {
        "cases.csv": (h, [_set(h, rows[0], grid_code="GX", status="reported", accepted_at="")])})


def test_batches_in_order_of_production_and_a_folder_being_copied_left(base, tmp_path, monkeypatch, capsys):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    batch_2(inbox / "a-second")      # the names sort against the times: the order is produced_at's
    batch_1(inbox / "z-first")
    copying = inbox / "m-copying"    # no batch.json yet: the producer is still writing it
    copying.mkdir()
    (copying / "cases.csv").write_text("case_no\n", encoding="utf-8")
    assert run_watch(base, monkeypatch, inbox) == 0
    assert log(base) == [("b1", "applied"), ("b2", "applied")]
    assert names(inbox) == ["done", "m-copying", "rejected"]
    assert names(inbox / "done") == ["a-second", "z-first"] and names(inbox / "rejected") == []
    out = capsys.readouterr().out
    assert out.index("z-first:\n") < out.index("applied batch b1") < out.index("a-second:\n") \
        < out.index("applied batch b2")


def test_a_refused_batch_goes_to_rejected_with_its_report_and_stops_the_watch(base, tmp_path, monkeypatch, capsys):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    batch_1(inbox / "b1")
    bad_batch(inbox / "bad")
    batch_2(inbox / "b2")
    assert run_watch(base, monkeypatch, inbox) == 1
    assert names(inbox) == ["b2", "done", "rejected"]          # the later batch is not applied
    assert names(inbox / "done") == ["b1"]
    assert names(inbox / "rejected") == ["bad", "bad.report.txt"]
    report = (inbox / "rejected" / "bad.report.txt").read_text(encoding="utf-8")
    assert "cases.csv:2 grid_code: unknown grid 'GX'" in report
    assert log(base) == [("b1", "applied"), ("b-bad", "rejected")]
    err = capsys.readouterr().err
    assert "batch bad was refused" in err and "left in the inbox: b2" in err and "Traceback" not in err
    # corrected, the same batch id goes through, then the one left behind
    shutil.rmtree(inbox / "rejected" / "bad")
    h, rows = _rows("cases.csv", {"c08"})
    write_batch(inbox / "bad-fixed", "b-bad", "2026-03-15T00:00:00+08:00", {
        "cases.csv": (h, [_set(h, rows[0], status="reported", accepted_at="")])})
    assert run_watch(base, monkeypatch, inbox) == 0
    assert names(inbox / "done") == ["b1", "b2", "bad-fixed"]
    assert [s for _b, s in log(base)] == ["applied"] * 3


def test_a_batch_json_being_written_is_waited_for_then_refused(base, tmp_path, monkeypatch, capsys):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    batch_1(inbox / "b1")
    half = batch_2(inbox / "b2")
    (half / "batch.json").write_text('{"batch_id": "b2", "produ', encoding="utf-8")
    assert run_watch(base, monkeypatch, inbox) == 0        # maybe still being written: nothing this round
    assert names(inbox) == ["b1", "b2", "done", "rejected"] and log(base) == []
    old = time.time() - 120                                 # still cut short a while later: broken
    os.utime(half / "batch.json", (old, old))
    assert run_watch(base, monkeypatch, inbox) == 1
    assert names(inbox) == ["b1", "done", "rejected"]
    assert "batch.json:1: not complete JSON" in (inbox / "rejected" / "b2.report.txt").read_text(encoding="utf-8")
    capsys.readouterr()


def test_a_restart_moves_a_batch_applied_before_to_done(base, tmp_path, monkeypatch, capsys):
    """The watcher stopped after applying b1 but before moving it: the database's log recognises it."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sync_batch(batch_1(inbox / "b1"), base)
    batch_2(inbox / "b2")
    assert run_watch(base, monkeypatch, inbox) == 0
    assert names(inbox / "done") == ["b1", "b2"] and names(inbox) == ["done", "rejected"]
    assert log(base) == [("b1", "applied"), ("b2", "applied")]
    out = capsys.readouterr().out
    assert "b1:\nbatch b1 was applied already" in out and "applied batch b2" in out
    # the same folder name sent again is kept beside the first
    batch_1(inbox / "b1")
    assert run_watch(base, monkeypatch, inbox) == 0
    assert names(inbox / "done") == ["b1", "b1.2", "b2"]


def _cli(engine, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    url = engine.url.render_as_string(hide_password=False)
    return subprocess.run([sys.executable, "-m", "data_access", "--db", url, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_never_two_syncs_at_once(base, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    batch_1(inbox / "b1")
    with sync_lock(base):
        with pytest.raises(LockHeld) as exc, sync_lock(base):
            pass
        holder = exc.value.holder
        assert socket.gethostname() in holder and f"pid {os.getpid()}" in holder and "since" in holder
        watcher = _cli(base, "sync", "--watch", str(inbox), "--once")
        plain = _cli(base, "sync", str(inbox / "b1"))
    for run in (watcher, plain):
        assert run.returncode == 4, run.stderr
        assert f"pid {os.getpid()}" in run.stderr and "Traceback" not in run.stderr
    assert "this watcher did not start" in watcher.stderr
    assert names(inbox) == ["b1", "done", "rejected"] and log(base) == []
    # released: the next one runs
    with sync_lock(base):
        pass
    assert _cli(base, "sync", "--watch", str(inbox), "--once").returncode == 0
    assert log(base) == [("b1", "applied")]


def test_a_bad_inbox_is_said_plainly(tmp_path):
    from data_access.core.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    missing = _cli(engine, "sync", "--watch", str(tmp_path / "nowhere"), "--once")
    assert missing.returncode == 1 and "nowhere: not a folder" in missing.stderr
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    a_file = _cli(engine, "sync", "--watch", str(tmp_path / "a-file"), "--once")
    assert a_file.returncode == 1 and "not a folder" in a_file.stderr
    both = _cli(engine, "sync", str(tmp_path), "--watch", str(tmp_path))
    assert both.returncode == 1 and "either" in both.stderr
    no_db = subprocess.run([sys.executable, "-m", "data_access", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none",
                            "sync", "--watch", str(tmp_path), "--once"], cwd=ROOT, capture_output=True, text=True,
                           timeout=60, check=False)
    assert no_db.returncode == 5 and "the database cannot be reached" in no_db.stderr
    for run in (missing, a_file, both, no_db):
        assert "Traceback" not in run.stderr
    engine.dispose()


def test_sigterm_ends_the_watch_cleanly(tmp_path):
    from data_access.core.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    url = engine.url.render_as_string(hide_password=False)
    proc = subprocess.Popen([sys.executable, "-m", "data_access", "--db", url, "sync", "--watch", str(inbox),
                             "--interval", "0.2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "watching" in proc.stdout.readline()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "stopped" in err and "Traceback" not in err
    engine.dispose()


def test_the_service_script_watches_with_the_profile(tmp_path):
    """deploy/run-sync.sh (deploy/gov-sync.service's ExecStart): refuses without a database, else watches."""
    script = ROOT / "deploy" / "run-sync.sh"
    unit = (ROOT / "deploy" / "gov-sync.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/gov/deploy/run-sync.sh" in unit and "Restart=on-failure" in unit
    env = {k: v for k, v in os.environ.items() if k != "GOV_DB_URL"}
    env["PYTHON"] = sys.executable
    no_db = subprocess.run([str(script), "--once"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert no_db.returncode == 2 and "GOV_DB_URL is not set" in no_db.stderr
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    env |= {"GOV_DB_URL": f"sqlite:///{tmp_path / 'w.db'}", "GOV_SYNC_INBOX": str(inbox)}
    run = subprocess.run([str(script), "--once"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert names(inbox) == ["done", "rejected"] and (tmp_path / "w.db.sync.lock").exists()


def test_what_follows_the_commits_runs_once_for_the_batches_applied_in_a_row(base, tmp_path, monkeypatch):
    """The search indexes' merge, the early warnings and the repeat cases' villages (sync.follow_up) ran after
    every batch; the watcher applying a queue (a catch-up after downtime) runs them once with every applied
    batch's stamp — also when a later batch is refused — and the repeat cases see the villages of all of them."""
    from data_access.core import duplicates
    from data_access.ingest import sync, watch

    calls: list[list] = []
    real = sync.follow_up
    monkeypatch.setattr(watch, "follow_up", lambda engine, stamps: calls.append(list(stamps)) or real(engine, stamps))
    seen: list = []
    real_refresh = duplicates.refresh_after_sync_quietly
    monkeypatch.setattr(duplicates, "refresh_after_sync_quietly",
                        lambda engine, stamps: seen.append(list(stamps)) or real_refresh(engine, stamps))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    batch_1(inbox / "b1")
    batch_2(inbox / "b2")
    assert run_watch(base, monkeypatch, inbox) == 0
    assert len(calls) == 1 and len(calls[0]) == 2 and calls[0][0] <= calls[0][1]   # both batches' stamps, once
    assert seen == calls
    with base.connect() as conn:
        stamped = set(conn.execute(select(schema.cases.c.changed_at).distinct()).scalars())
    assert set(calls[0]) <= stamped
    # a refused batch after an applied one: the applied one is followed up all the same
    calls.clear()
    h, rows = _rows("cases.csv", {"c08"})
    write_batch(inbox / "b3", "b3", "2026-03-20T00:00:00+08:00", {
        "cases.csv": (h, [_set(h, rows[0], title="漏水纠纷（补录）")])})
    bad_batch(inbox / "bad")
    (inbox / "bad" / "batch.json").write_text('{"batch_id": "b-bad", "produced_at": "2026-03-21T00:00:00"}',
                                              encoding="utf-8")
    assert run_watch(base, monkeypatch, inbox) == 1
    assert len(calls) == 1 and len(calls[0]) == 1
    # one batch by the command: followed up by itself
    calls.clear()
    assert sync_batch(batch_1(tmp_path / "again"), base).already_applied
    assert calls == []
