"""Locks between processes on the same database: one home for the sync/load lock (refuses a second holder, naming
the first) and the migration and demo-build locks (a second one waits, then finds the work done).

On PostgreSQL a session advisory lock on a connection of its own (the holder's purpose, host and pid in its
``application_name``, the time from ``pg_stat_activity``); it ends with the session, so a killed holder never
leaves it behind.  On SQLite ``fcntl.flock`` on ``<database>.<name>.lock`` next to the database file (the holder
written into it); the kernel releases a flock when its process dies, so a lock file left by a killed process is
only a stale file: the next one takes the lock and overwrites it.  An in-memory SQLite database belongs to one
process: no lock.
"""
from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, text

APP_PREFIX = "gov-lock"
# advisory lock keys (PostgreSQL); the sync/load lock's key lives with the sync (data_access/ingest/watch.py)
MIGRATE_LOCK_KEY = 0x4D49_4752   # "MIGR"
SETUP_LOCK_KEY = 0x4445_4D4F     # "DEMO"
ESCALATE_LOCK_KEY = 0x4553_4341  # "ESCA"


class LockHeld(Exception):
    """Another process holds the lock; ``what`` it is doing (``load``, ``sync``…), ``holder`` who (host, pid, since
    when)."""

    def __init__(self, holder: str, what: str = "sync"):
        self.holder, self.what = holder, what
        super().__init__(f"another {what} is running ({holder})")


def _me() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()


def lock_file(engine: Engine, name: str) -> Path | None:
    """``<database>.<name>.lock`` for a SQLite file; None for PostgreSQL or an in-memory database."""
    if engine.dialect.name != "sqlite":
        return None
    path = engine.url.database
    if not path or path == ":memory:":
        return None
    return Path(str(path) + f".{name}.lock")


@contextmanager
def process_lock(engine: Engine, name: str, key: int, *, purpose: str, wait: bool) -> Iterator[None]:
    """Hold lock ``name`` (advisory ``key`` on PostgreSQL) for the block.  ``wait``: block until it is free;
    otherwise :class:`LockHeld` at once when another process holds it."""
    if engine.dialect.name == "postgresql":
        with _pg_lock(engine, key, purpose, wait):
            yield
        return
    path = lock_file(engine, name)
    if path is None:
        yield          # a database of this process only: nobody else can write into it
        return
    with _file_lock(path, purpose, wait):
        yield


def _split(record: str, default: str) -> tuple[str, str]:
    """``"load: host h pid 1"`` → ``("load", "host h pid 1")``."""
    what, sep, who = record.partition(": ")
    return (what, who) if sep and what and " " not in what else (default, record)


@contextmanager
def _pg_lock(engine: Engine, key: int, purpose: str, wait: bool) -> Iterator[None]:
    host, pid = _me()
    conn = engine.connect()
    try:
        if wait:
            # a migration elsewhere may take longer than a query's time limit: wait for it as long as it takes
            conn.execute(text("SET statement_timeout = 0"))
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        elif not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one():
            row = conn.execute(text(
                "SELECT a.application_name, a.pid, a.client_addr, a.backend_start FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.classid::text::bigint = 0 AND l.objid::text::bigint = :k AND l.objsubid = 1 "
                # advisory locks are per database: not the holder of the same key in another database of the server
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                {"k": key}).first()
            conn.rollback()
            if row is None:
                raise LockHeld("the holder is not visible to this database user", purpose)
            name, backend, addr, since = row
            if name and name.startswith(APP_PREFIX + " "):
                what, who = _split(name[len(APP_PREFIX) + 1:], purpose)
            else:
                what, who = purpose, f"session {backend}{f' from {addr}' if addr else ''}"
            raise LockHeld(f"{who}, since {since:%Y-%m-%d %H:%M:%S %Z}".rstrip(), what)
        conn.execute(text("SELECT set_config('application_name', :n, false)"),
                     {"n": f"{APP_PREFIX} {purpose}: host {host} pid {pid}"[:63]})
        conn.commit()
        try:
            yield
        finally:
            # released now, not when the server notices the closed connection (a next holder may come at once)
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
            except Exception:  # noqa: BLE001 - the connection is gone: so is its session, and the lock with it
                pass
    finally:
        # the session ends with the connection: the lock and the application_name go with it
        conn.invalidate()
        conn.close()


@contextmanager
def _file_lock(path: Path, purpose: str, wait: bool) -> Iterator[None]:
    import fcntl

    host, pid = _me()
    f = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            f.seek(0)
            what, who = _split(f.read().strip(), purpose)
            raise LockHeld(f"{who or 'holder unknown'}; lock file {path}", what) from None
        f.seek(0)
        f.truncate()
        f.write(f"{purpose}: host {host} pid {pid}, since {datetime.now().astimezone():%Y-%m-%d %H:%M:%S %z}\n")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            f.flush()
            fcntl.flock(f, fcntl.LOCK_UN)
    finally:
        f.close()


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """One schema migration at a time: a second process waits, then finds the schema at head."""
    with process_lock(engine, "migrate", MIGRATE_LOCK_KEY, purpose="migration", wait=True):
        yield


@contextmanager
def setup_lock(engine: Engine) -> Iterator[None]:
    """One demo build at a time: a second process waits, then finds the data built."""
    with process_lock(engine, "setup", SETUP_LOCK_KEY, purpose="demo build", wait=True):
        yield


@contextmanager
def escalation_lock(engine: Engine) -> Iterator[None]:
    """One escalation pass at a time (after a sync and on a timer they may meet): a second waits, then finds the
    orders issued (each case gets one per rule)."""
    with process_lock(engine, "escalate", ESCALATE_LOCK_KEY, purpose="escalation", wait=True):
        yield


__all__ = ["LockHeld", "escalation_lock", "lock_file", "migration_lock", "process_lock", "setup_lock"]
