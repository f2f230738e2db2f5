"""Engine from one URL, SQLite pragmas, and schema migration (Alembic).

``GOV_DB_URL`` decides the database (e.g. ``postgresql+psycopg://user@host/db``);
without it the embedded default is a SQLite file under ``data/``.
"""
from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select
from sqlalchemy.pool import NullPool

from data_access.core import settings
from data_access.core.errors import DATABASE_ERRORS, DatabaseFileGone, ReplicaNotReady, ping

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "data" / "governance.db"
MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"

# Every query must finish within this many seconds (see issue on resilience).
STATEMENT_TIMEOUT_S = settings.number("GOV_STATEMENT_TIMEOUT_S", 30.0, minimum=0.1, whole=False, unit="seconds")


def replica_url() -> str | None:
    """``GOV_DB_READ_URL``: a read replica for the dashboards' reads, when one is configured (PostgreSQL
    streaming replica, or any copy kept current); writes, sign-in and the case workbench stay on
    :func:`default_url`."""
    url = os.environ.get("GOV_DB_READ_URL", "").strip()
    return url or None


def default_url() -> str:
    """The URL in force: ``GOV_DB_URL`` or the embedded SQLite file."""
    url = os.environ.get("GOV_DB_URL", "").strip()
    if url:
        return url
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA cache_size=-16384")  # 16 MB page cache per connection (RSS budget: 300 MB)
    cur.close()


# --- statement timeout on SQLite ------------------------------------------------------------------------
# PostgreSQL enforces STATEMENT_TIMEOUT_S itself (connect options below).  SQLite has no such setting: each
# connection gets a progress handler, which SQLite calls every PROGRESS_EVERY_OPS virtual-machine
# instructions (well under a millisecond of work; a clock comparison costs nothing next to it), and which
# interrupts the statement once its deadline has passed (sqlite3.OperationalError "interrupted"; see
# data_access.core.errors.is_query_timeout).  The deadline is set when a statement starts (before_cursor_execute),
# so it also bounds fetching that statement's rows, and cleared when the connection returns to the pool.
# Work that may rightly run longer (the loader's bulk load, migrations) lifts it: ``no_statement_timeout(conn)``
# or the execution option ``no_statement_timeout=True``.

PROGRESS_EVERY_OPS = 10_000
_CLOCK = "gov_statement_clock"  # key in the pool record's info dict


class _StatementClock:
    """One SQLite connection's deadline for its running statement; SQLite calls it as progress handler."""

    __slots__ = ("deadline", "lifted")

    def __init__(self) -> None:
        self.deadline: float | None = None  # time.monotonic() after which the statement is interrupted
        self.lifted = 0  # > 0 inside no_statement_timeout()

    def __call__(self) -> int:
        deadline = self.deadline
        return 1 if deadline is not None and time.monotonic() > deadline else 0


def _sqlite_install_clock(dbapi_conn, record) -> None:
    clock = _StatementClock()
    record.info[_CLOCK] = clock
    dbapi_conn.set_progress_handler(clock, PROGRESS_EVERY_OPS)


def _sqlite_start_clock(conn, _cursor, _statement, _parameters, _context, _executemany) -> None:
    clock = conn.connection.info.get(_CLOCK)
    if clock is None:
        return
    limit = STATEMENT_TIMEOUT_S  # read at each statement (tests lower it)
    if clock.lifted or limit <= 0 or conn.get_execution_options().get("no_statement_timeout"):
        clock.deadline = None
    else:
        clock.deadline = time.monotonic() + limit


def _sqlite_stop_clock(_dbapi_conn, record) -> None:
    clock = record.info.get(_CLOCK)
    if clock is not None:
        clock.deadline = None  # raw DBAPI calls after the next checkout must not inherit a stale deadline


@contextmanager
def no_statement_timeout(conn: Connection) -> Iterator[Connection]:
    """Inside, statements on ``conn`` run without the SQLite statement timeout, raw DBAPI calls on
    ``conn.connection.driver_connection`` included (SQLAlchemy's events never see those: the loader's
    executemany).

    SQLite only: on PostgreSQL the limit is a server setting; lift it with ``SET LOCAL statement_timeout = 0``
    inside the transaction, as the loader does."""
    clock = conn.connection.info.get(_CLOCK) if conn.dialect.name == "sqlite" else None
    if clock is None:
        yield conn
        return
    clock.lifted += 1
    clock.deadline = None
    try:
        yield conn
    finally:
        clock.lifted -= 1


# --- a bulk load's session settings -------------------------------------------------------------------------
# A load of a million cases sorts every secondary index and every roll-up's GROUP BY over the whole table once.
# With the settings for many small queries (SQLite: a 16 MB page cache, temporary b-trees on disk; PostgreSQL:
# the server's maintenance_work_mem and work_mem, 64 MB and 4 MB by default) each of those sorts spills to disk in
# many runs.  The load's own connection gets more memory for its transaction, then the usual settings again;
# docs/OPERATIONS.md ("Memory of a load") states the bound.  Issue 24.
def _megabytes(name: str, default: int) -> int:
    """The whole number of megabytes the environment variable ``name`` sets (at least 1), else ``default``; a
    value that is not one is named on stderr and the default is used (a setting of memory never stops a start)."""
    return int(settings.number(name, default, minimum=1, unit="megabytes"))


LOAD_CACHE_MB = _megabytes("GOV_LOAD_CACHE_MB", 1024)              # SQLite page cache of the load
LOAD_MAINTENANCE_MB = _megabytes("GOV_LOAD_MAINTENANCE_MB", 1024)  # PostgreSQL index builds
LOAD_WORK_MB = _megabytes("GOV_LOAD_WORK_MB", 256)                 # PostgreSQL sorts and hashes of a load


@contextmanager
def bulk_load_settings(conn: Connection) -> Iterator[Connection]:
    """Around a bulk load's transaction on ``conn``: SQLite's page cache of LOAD_CACHE_MB and temporary b-trees
    in memory for this connection, put back after (the pool reuses it); enter it before the transaction begins
    (SQLite refuses to change temp_store inside one).  On PostgreSQL nothing here: call
    :func:`bulk_load_transaction_settings` inside the transaction."""
    if conn.dialect.name != "sqlite":
        yield conn
        return
    raw = conn.connection.driver_connection
    # its own PRAGMAs outside the statement limit: after a load stopped by the limit (a caller without the lift)
    # the restore ran on the stale deadline, was interrupted too and hid the load's own error behind its own
    with no_statement_timeout(conn):
        cache = raw.execute("PRAGMA cache_size").fetchone()[0]
        temp = raw.execute("PRAGMA temp_store").fetchone()[0]
        raw.execute(f"PRAGMA cache_size=-{LOAD_CACHE_MB * 1024}")
        raw.execute("PRAGMA temp_store=MEMORY")
    try:
        yield conn
    finally:
        with no_statement_timeout(conn):
            raw.execute(f"PRAGMA cache_size={int(cache)}")
            raw.execute(f"PRAGMA temp_store={int(temp)}")


def bulk_load_transaction_settings(conn: Connection) -> None:
    """Inside a bulk load's transaction on PostgreSQL: no statement timeout, and maintenance_work_mem /
    work_mem for its index builds and its sorts, until the transaction ends (SET LOCAL).  SQLite: nothing."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
    conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{LOAD_MAINTENANCE_MB}MB'")
    conn.exec_driver_sql(f"SET LOCAL work_mem = '{LOAD_WORK_MB}MB'")


# --- the SQLite file stays the one that was opened ----------------------------------------------------------
# A SQLite connection keeps its file open by descriptor, not by name: renamed or deleted under a running app, the
# file goes on taking writes (into a WAL no database will ever read again), and a new connection would make a new,
# empty file at the old name — which the next start filled with demo data and demo accounts.  So the engine
# remembers the file's identity (st_dev, st_ino) once it is migrated, and compares the path's current stat with it
# before opening a connection (``do_connect``, so no new file is created) and before each use of a pooled one
# (``checkout``: every ``engine.connect()``/``engine.begin()``, reads and writes).  A mismatch raises
# DatabaseFileGone; nothing is read or written.  Moved back (same inode), the file is accepted again.  One
# os.stat per checkout: 3.4 µs of CPU, next to ~290 µs for a checkout and SELECT 1.  A file overwritten in
# place (``cp backup db``) keeps its inode and is not noticed: stop the app before restoring a backup
# (docs/OPERATIONS.md).

class _FileWatch:
    __slots__ = ("path", "identity")

    def __init__(self, path: str) -> None:
        self.path = path
        st = os.stat(path)
        self.identity = (st.st_dev, st.st_ino)

    def check(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise DatabaseFileGone(self.path, "missing") from None
        if (st.st_dev, st.st_ino) != self.identity:
            raise DatabaseFileGone(self.path, "replaced")

    def on_connect(self, *_args) -> None:   # do_connect: must return None (the dialect then connects)
        self.check()

    def on_checkout(self, *_args) -> None:
        self.check()


_WATCHES: dict[str, _FileWatch] = {}  # path → the watch of the last engine made on it (read by database_problem)


def _watch_file(engine: Engine, path: str) -> None:
    watch = _FileWatch(os.path.abspath(path))
    engine.gov_file_watch = watch  # type: ignore[attr-defined]  (read by check_database_file)
    _WATCHES[watch.path] = watch
    event.listen(engine, "do_connect", watch.on_connect)
    event.listen(engine, "checkout", watch.on_checkout)


def check_database_file(engine: Engine) -> None:
    """Raise DatabaseFileGone when the engine's SQLite file was renamed, deleted or replaced since the engine was
    made (a stat; nothing is opened).  Nothing to check for PostgreSQL or an in-memory database."""
    watch = getattr(engine, "gov_file_watch", None) or getattr(getattr(engine, "_proxied", None),
                                                               "gov_file_watch", None)
    if watch is not None:
        watch.check()


def database_problem(url: str | None = None) -> str | None:
    """Why the database at ``url`` (default: :func:`default_url`) cannot be read now, in one line; None when it
    can.  The health check's answer (ui/health.py).  A SQLite file is opened read-only (``mode=ro``) and only
    when it exists, so a missing file is reported, never created as an empty one; one renamed or replaced
    under a running engine is reported as the pages report it (DatabaseFileGone).  PostgreSQL: a ``SELECT 1``
    through the process's engine (connect timeout 5 s)."""
    url = url or default_url()
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if not path or path == ":memory:":
                return None
            path = os.path.abspath(path)
            if not os.path.exists(path):
                return f"database file missing: {path}"
            watch = _WATCHES.get(path)
            if watch is not None:
                watch.check()
            con = sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                con.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                con.close()
            return None
        ping(get_engine(url))
    except DatabaseFileGone as e:
        return f"database file {'missing' if e.how == 'missing' else 'replaced'}: {e.path}"
    except DATABASE_ERRORS as e:
        first = (str(e).strip().splitlines() or [""])[0][:200]
        return f"database unavailable: {type(e).__name__}: {first}"
    return None


def make_engine(url: str | None = None) -> Engine:
    """A new engine for ``url`` (default: :func:`default_url`), with the schema migrated."""
    url = url or default_url()
    replica = url == replica_url() and url != default_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, poolclass=NullPool if path == ":memory:" else None)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", _sqlite_install_clock)
        event.listen(engine, "before_cursor_execute", _sqlite_start_clock)
        event.listen(engine, "checkin", _sqlite_stop_clock)
        if replica:
            event.listen(engine, "connect", _sqlite_query_only)
    else:
        engine = create_engine(
            url,
            pool_pre_ping=True,
            # JIT compilation added 50–70 ms to each dashboard query at 1.07 M cases and saved nothing.
            # psycopg prepares a statement after 5 runs, and PostgreSQL may then reuse a plan made without
            # looking at the values (a rare search planned like a common one took 1.8 s instead of 15 ms):
            # plan every execution with its values.
            # A host that drops packets (instead of refusing) must not hang a page for the OS TCP timeout.
            connect_args={"options": f"-c statement_timeout={int(STATEMENT_TIMEOUT_S * 1000)} -c jit=off"
                                     " -c plan_cache_mode=force_custom_plan"
                                     + (" -c default_transaction_read_only=on" if replica else ""),
                          "connect_timeout": 5},
        )
    if replica:
        check_replica_schema(engine)  # a replica follows its primary's schema; it is never migrated from here
    else:
        migrate(engine)
    if engine.dialect.name == "sqlite" and engine.url.database and engine.url.database != ":memory:" \
            and os.path.exists(engine.url.database):
        _watch_file(engine, engine.url.database)
    return engine


def _sqlite_query_only(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only=ON")
    cur.close()


def check_replica_schema(engine: Engine) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        raise ReplicaNotReady(f"the read replica GOV_DB_READ_URL is at schema revision {current}, the app needs "
                              f"{head}: migrate the primary (python -m data_access init) and let the replica "
                              "catch up, or unset GOV_DB_READ_URL")


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (created and migrated once)."""
    return make_engine(url or default_url())


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    # a migration may rebuild a table or an index over a million rows: not held to a query's time limit
    cfg.attributes["engine"] = engine.execution_options(no_statement_timeout=True)
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creates it on an empty database)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from data_access.core.locks import migration_lock

    cfg = alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()

    def current() -> str | None:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    if current() == head:
        return
    # two processes first-starting on an empty database must not both create the schema: the second waits for
    # the first, then finds the schema at head (data_access/core/locks.py)
    with migration_lock(engine):
        if current() != head:
            command.upgrade(cfg, "head")


def is_empty(engine: Engine) -> bool:
    """True when the database holds no cases and no regions (first start)."""
    from data_access.core.schema import regions

    if not inspect(engine).has_table("regions"):
        return True
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(regions)).scalar_one() == 0
