"""What kind of database failure an exception is: a query over its time limit, or no database at all.

The two backends report the same situations differently; the UI asks these functions and shows one message
per kind (ui/resilience.py):

- :func:`is_query_timeout` — the statement ran past ``GOV_STATEMENT_TIMEOUT_S``: PostgreSQL cancels it
  (``QueryCanceled``, SQLSTATE 57014); on SQLite the progress handler installed by :mod:`data_access.core.db`
  interrupts it (``OperationalError: interrupted``).  Trying again with the same filter fails again.
- :func:`is_database_unavailable` — the server or file cannot be reached just now: connection refused,
  reset or closed, the server shutting down or starting up (SQLSTATE 57P01/57P02/57P03, class 08), too many
  connections, the connection pool exhausted; SQLite "database is locked", "unable to open database file",
  "disk I/O error".  Trying again later may succeed.
- :func:`is_disk_full` — the disk (or the quota) is full: SQLite ``SQLITE_FULL`` ("database or disk is full"),
  PostgreSQL ``disk_full`` (SQLSTATE 53100), ``OSError`` ENOSPC/EDQUOT.  Nothing was written; a retry succeeds
  once an administrator has freed space.
- :class:`DatabaseFileGone` — the SQLite file the engine opened was renamed, deleted or replaced while the app
  runs (raised by :mod:`data_access.core.db` before a connection is used).  Writing on would go into a file no
  one will ever read again; the app stops reading and writing until the file is back.

Both look through SQLAlchemy's wrapper (``exc.orig``) and the exception chain.  No SQL and no Streamlit
here, except :func:`ping`, the cheapest statement that proves the database answers.
"""
from __future__ import annotations

import errno
import sqlite3

from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc

# SQLSTATEs of a server that is going away or not accepting connections (class 08 is matched by prefix).
_UNAVAILABLE_SQLSTATES = frozenset({
    "57P01",  # admin_shutdown: terminating connection due to administrator command
    "57P02",  # crash_shutdown
    "57P03",  # cannot_connect_now: the database system is starting up / shutting down
    "53300",  # too_many_connections
})
_TIMEOUT_SQLSTATE = "57014"  # query_canceled (statement_timeout)

# Lower-case fragments of driver messages that carry no SQLSTATE (connection-level failures).
_UNAVAILABLE_MESSAGES = (
    # PostgreSQL / libpq / psycopg.  Not "connection failed" / "connection to server": psycopg starts every
    # connect error so, including a wrong password or a missing database, which a retry does not mend.
    "connection refused", "is the server running", "server closed the connection", "connection is closed", "connection is lost", "connection was closed",
    "terminating connection", "the database system is", "connection reset", "broken pipe",
    "no route to host", "network is unreachable", "timeout expired", "could not receive data",
    "could not send data", "ssl syscall error", "consuming input failed", "server conn crashed",
    # SQLite
    "database is locked", "database table is locked", "unable to open database", "disk i/o error",
)

# Exceptions the UI treats as "the data could not be read" (shown as a message, never a traceback).
class ReplicaNotReady(RuntimeError):
    """The read replica (``GOV_DB_READ_URL``) is not at the schema revision the app needs: it has not yet
    replayed the primary's migration.  Counted as "unavailable": it heals by itself once the replica catches up."""


class DatabaseFileGone(OSError):
    """The SQLite file at ``path`` is not the one the engine opened: ``how`` is ``"missing"`` (renamed or
    deleted) or ``"replaced"`` (another file now has its name).  An :class:`OSError`, so every caller that shows
    database failures shows it; :func:`is_database_file_gone` tells it apart."""

    def __init__(self, path: str, how: str):
        self.path, self.how = path, how
        super().__init__(errno.ENOENT if how == "missing" else errno.ESTALE,
                         f"the database file {path} was {'renamed or deleted' if how == 'missing' else 'replaced'}"
                         " while the app was running; nothing more is read or written until it is back", path)


DATABASE_ERRORS: tuple[type[BaseException], ...] = (sa_exc.SQLAlchemyError, sqlite3.Error, OSError, TimeoutError,
                                                    ReplicaNotReady)
try:  # PostgreSQL driver errors raised outside SQLAlchemy (the loader's COPY uses the raw connection)
    import psycopg as _psycopg

    DATABASE_ERRORS += (_psycopg.Error,)
except ImportError:  # pragma: no cover - SQLite-only installs
    _psycopg = None


def _chain(exc: BaseException | None):
    """``exc``, the DBAPI error SQLAlchemy wrapped, and their causes/contexts (each once, at most 8)."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 8:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend([getattr(e, "orig", None), e.__cause__, e.__context__])


def _sqlstate(e: BaseException) -> str | None:
    state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
    if state is None:
        diag = getattr(e, "diag", None)
        state = getattr(diag, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_query_timeout(exc: BaseException | None) -> bool:
    """True when ``exc`` is a statement stopped by the statement timeout (either backend)."""
    for e in _chain(exc):
        if _sqlstate(e) == _TIMEOUT_SQLSTATE:
            return True
        if _psycopg is not None and isinstance(e, _psycopg.errors.QueryCanceled):
            return True
        if isinstance(e, sqlite3.OperationalError) and str(e).strip().lower() == "interrupted":
            return True
    return False


def is_database_unavailable(exc: BaseException | None) -> bool:
    """True when ``exc`` means the database cannot be reached just now (a later retry may succeed)."""
    if is_query_timeout(exc):
        return False
    for e in _chain(exc):
        if isinstance(e, ReplicaNotReady):
            return True
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return True  # SQLAlchemy's dialect recognised a disconnect
        if isinstance(e, sa_exc.TimeoutError):
            return True  # no pooled connection became free in time
        if isinstance(e, ConnectionError):  # refused / reset / aborted / broken pipe at the socket
            return True
        state = _sqlstate(e)
        if state and (state in _UNAVAILABLE_SQLSTATES or state.startswith("08")):
            return True
        if isinstance(e, (sa_exc.OperationalError, sa_exc.InterfaceError, sqlite3.OperationalError,
                          sqlite3.InterfaceError)) or (
                _psycopg is not None and isinstance(e, (_psycopg.OperationalError, _psycopg.InterfaceError))):
            msg = str(e).lower()
            if any(m in msg for m in _UNAVAILABLE_MESSAGES):
                return True
    return False


_DISK_FULL_SQLSTATE = "53100"  # disk_full
_SQLITE_FULL = 13  # sqlite3.SQLITE_FULL (the result code; extended codes keep it in the low byte)


def is_disk_full(exc: BaseException | None) -> bool:
    """True when ``exc`` means the disk (or the user's quota) is full, on either backend or from the OS."""
    for e in _chain(exc):
        if _sqlstate(e) == _DISK_FULL_SQLSTATE:
            return True
        if _psycopg is not None and isinstance(e, _psycopg.errors.DiskFull):
            return True
        if isinstance(e, sqlite3.Error):
            code = getattr(e, "sqlite_errorcode", None)
            if (isinstance(code, int) and code & 0xFF == _SQLITE_FULL) or "database or disk is full" in str(e).lower():
                return True
        if isinstance(e, OSError) and not isinstance(e, DatabaseFileGone) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
    return False


def is_database_file_gone(exc: BaseException | None) -> bool:
    """True when ``exc`` is (or wraps) :class:`DatabaseFileGone`."""
    return any(isinstance(e, DatabaseFileGone) for e in _chain(exc))


def is_database_error(exc: BaseException | None) -> bool:
    """True for any failure of the database layer (the UI shows a message instead of a traceback)."""
    return isinstance(exc, DATABASE_ERRORS)


def ping(engine: Engine) -> None:
    """Raise unless the database answers.

    On SQLite ``SELECT 1`` never touches the file (it answers even while another process holds the file
    locked), so the ping reads the schema table: it needs the same shared lock every query needs."""
    sql = "SELECT count(*) FROM sqlite_master" if engine.dialect.name == "sqlite" else "SELECT 1"
    with engine.connect() as conn:
        conn.execute(text(sql)).scalar()


__all__ = ["DATABASE_ERRORS", "DatabaseFileGone", "is_database_error", "is_database_file_gone", "is_disk_full", "is_database_unavailable", "is_query_timeout", "ping"]
