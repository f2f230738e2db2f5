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


# --- item 11: two processes first-starting on an empty database -------------------------------------------------

_AT_ONCE = """
import sys, time
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
{body}
"""


def _at_once(url: str, body: str, n: int = 3, timeout: float = 300) -> list[subprocess.CompletedProcess]:
    """``n`` processes running ``body`` (``url`` is ``sys.argv[1]``) starting at the same instant."""
    import time

    start = time.time() + 3.0   # all of them imported and waiting by then
    code = _AT_ONCE.format(body=body)
    procs = [subprocess.Popen([sys.executable, "-c", code, url, repr(start)], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "GOV_AUTO_DEMO": "0"}) for _ in range(n)]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=timeout)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


def _fresh_url(db_kind: str, tmp_path) -> str:
    import pytest

    from tests.conftest import PG_SKIP_REASON, PG_URL, reset_postgres

    if db_kind == "pg":
        if not PG_URL:
            pytest.skip(PG_SKIP_REASON)
        reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path / 'fresh.db'}"


def test_processes_migrating_an_empty_database_at_once_all_succeed(db_kind, tmp_path):
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine, inspect, text

    from data_access.core.db import alembic_config, make_engine

    url = _fresh_url(db_kind, tmp_path)
    runs = _at_once(url, "from data_access.core.db import make_engine\nmake_engine(sys.argv[1])\nprint('ok')")
    for run in runs:
        assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]
    eng = create_engine(url)
    with eng.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    head = ScriptDirectory.from_config(alembic_config(make_engine(url))).get_current_head()
    assert versions == [head]
    assert inspect(eng).has_table("case_summary")
    eng.dispose()


_DEMO = """
from sample_data import generator
generator.SCALES["tiny-test"] = (400, 50)
import sample_data
from data_access.core.db import make_engine
counts = sample_data.build_demo_if_empty(make_engine(sys.argv[1]), scale="tiny-test")
print("found built" if counts is None else f"built {counts['cases.csv']}")
"""


def test_two_demo_builds_at_once_build_once_and_both_succeed(db_kind, tmp_path):
    from sqlalchemy import create_engine, func, select

    from data_access.core.schema import cases

    url = _fresh_url(db_kind, tmp_path)
    runs = _at_once(url, _DEMO, n=2)
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    said = sorted(run.stdout.strip() for run in runs)
    assert said[1] == "found built" and said[0].startswith("built "), said
    built = int(said[0].split()[1])
    eng = create_engine(url)
    with eng.connect() as conn:
        assert conn.execute(select(func.count()).select_from(cases)).scalar_one() == built > 0
    eng.dispose()


# --- a held lock never outlives its holder ----------------------------------------------------------------------

_HOLD = """
from data_access.core.db import make_engine
from data_access.ingest.watch import sync_lock
with sync_lock(make_engine(sys.argv[1]), "load"):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_killed_holder_leaves_no_lock_and_a_stale_lock_file_is_taken_over(db_kind, tmp_path):
    import signal
    import time

    import pytest

    from data_access.core.locks import LockHeld, lock_file, migration_lock

    eng = fresh_engine(db_kind, tmp_path)
    url = eng.url.render_as_string(hide_password=False)
    holder = subprocess.Popen([sys.executable, "-c", _AT_ONCE.format(body=_HOLD), url, "0"], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == "held", holder.stderr.read()
        with pytest.raises(LockHeld) as exc, sync_lock(eng):
            pass
        assert exc.value.what == "load" and f"pid {holder.pid}" in exc.value.holder
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=30)
    # killed: the kernel dropped its flock, the server ended its session; the lock is free (the server may take a
    # moment to notice the dead connection)
    for attempt in range(50):
        try:
            with sync_lock(eng):
                break
        except LockHeld:
            time.sleep(0.1)
    else:
        pytest.fail("the killed holder's lock was never released")
    if db_kind == "sqlite":
        # the file it left says it holds the lock; nobody does: taken over, then rewritten
        stale = lock_file(eng, "sync")
        stale.write_text("load: host elsewhere pid 1, since 2020-01-01 00:00:00 +0800\n", encoding="utf-8")
        lock_file(eng, "migrate").write_text("garbage", encoding="utf-8")
        with sync_lock(eng, "sync"):
            assert f"sync: host {__import__('socket').gethostname()} pid {os.getpid()}" in stale.read_text()
        with migration_lock(eng):
            pass
        assert stale.read_text() == ""
    eng.dispose()
