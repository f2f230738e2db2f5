"""One load or sync at a time, and migrations and the demo build serialised between processes (issue 21, items 10
and 11), on SQLite and PostgreSQL: data_access/core/locks.py."""
from __future__ import annotations

import os
import subprocess
import sys

from data_access import cli
from data_access.core.db import is_empty
from data_access.ingest.watch import sync_lock
from tests.conftest import FIXTURES, ROOT, fresh_engine


def _cli(engine, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    url = engine.url.render_as_string(hide_password=False)
    return subprocess.run([sys.executable, "-m", "data_access", "--db", url, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_a_load_while_another_load_or_a_sync_runs_is_refused_with_its_own_exit_code(db_kind, tmp_path):
    eng = fresh_engine(db_kind, tmp_path)
    dataset = str(FIXTURES / "metrics")
    for holder in ("load", "sync"):
        with sync_lock(eng, holder):
            run = _cli(eng, "load", dataset)
        assert run.returncode == cli.EXIT_LOCKED == 4, run.stderr
        assert f"another {holder} is running" in run.stderr, run.stderr
        assert f"pid {os.getpid()}" in run.stderr and "nothing was loaded" in run.stderr
        assert "Traceback" not in run.stderr and "database is locked" not in run.stderr
        assert is_empty(eng)
    # and a sync while a load runs
    with sync_lock(eng, "load"):
        run = _cli(eng, "sync", str(tmp_path))
    assert run.returncode == 4 and "another load is running" in run.stderr, run.stderr
    # released: the load runs
    run = _cli(eng, "load", dataset)
    assert run.returncode == 0, run.stderr
    assert not is_empty(eng)
    eng.dispose()


def test_the_exit_codes_are_in_the_help():
    text = cli.build_parser().format_help()
    for line in ("0 ", "1 ", "2 ", "4 "):
        assert f"\n  {line}" in text, text
    assert "another load or sync" in text
