"""Pages that survive the database going away, and one message per kind of database failure.

Five kinds (classified by :mod:`data_access.core.errors`), the same messages wherever they are caught —
around the whole page (:func:`guard_page`, used by the router), around a block (``ui.setup.friendly_errors``) or
by a form that keeps what was typed (the workbench's order form calls :func:`show_error` itself):

- **unavailable** (server stopped or unreachable, SQLite file locked or unreadable): a warning
  "数据库暂时无法连接，正在重试…" with the time of the last attempt, a "retry now" button, and a fragment that
  asks the database every :data:`RETRY_SECONDS` whether it answers; once it does, the whole app reruns and the
  page shows its data again — no restart, no traceback.  The engine needs no rebuilding: on PostgreSQL
  ``pool_pre_ping`` replaces pooled connections that died with the server, and after a disconnect
  SQLAlchemy invalidates the rest of the pool itself.
- **timeout** (a query ran past ``GOV_STATEMENT_TIMEOUT_S``): ask for a narrower region or period; retrying
  the same selection would only time out again.
- **disk full** (SQLite ``SQLITE_FULL``, PostgreSQL SQLSTATE 53100, ``OSError`` ENOSPC): say so — nothing was
  saved, an administrator must free space — with a "retry" button; a form's typed values stay where they were.
- **database file gone** (the SQLite file renamed, deleted or replaced under the running app; checked by
  :mod:`data_access.core.db` before every connection is used, and by :func:`check_database_file` at each page
  run, so that cached answers are not shown either): the page stops with what happened and what to do (put the
  file back and restart); nothing is read or written meanwhile.
- **other database errors**: the generic ``frame.error`` message.

Around the whole page, anything else (a defect) becomes a translated "something went wrong" with a short
reference, and the traceback goes to the server's log under that reference, so a user can quote it and an
administrator can find it (Streamlit's own message for this is in English whatever the page's language).  With
``GOV_RAISE_ERRORS=1`` (the tests set it) such an error is raised as before, so that no test can pass over it.
Streamlit's own control flow is never caught (``st.rerun``, ``st.stop`` and ``st.switch_page`` raise
``BaseException`` subclasses, which ``except Exception`` never sees).
"""
from __future__ import annotations

import functools
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import streamlit as st
from streamlit.errors import DuplicateWidgetID

from data_access.core.clock import TZ
from data_access.core.db import check_database_file as _check_file
from data_access.core.errors import (
    is_database_error,
    is_database_file_gone,
    is_database_unavailable,
    is_disk_full,
    is_query_timeout,
    ping,
)

from . import data, fmt
from .state import t

RETRY_SECONDS = 5  # how often the waiting page asks the database whether it is back
_LAST_ATTEMPT = "_db_last_attempt"  # session key: epoch seconds of the last failed attempt to reach it

log = logging.getLogger(__name__)

UNAVAILABLE, TIMEOUT, DISK_FULL, FILE_GONE, ERROR = "unavailable", "timeout", "disk_full", "file_gone", "error"


def failure_kind(exc: BaseException | None) -> str | None:
    """``"unavailable"``, ``"timeout"``, ``"disk_full"``, ``"file_gone"`` or ``"error"`` for a database failure;
    None for anything else."""
    if exc is None or not is_database_error(exc):
        return None
    if is_database_file_gone(exc):
        return FILE_GONE
    if is_query_timeout(exc):
        return TIMEOUT
    if is_disk_full(exc):
        return DISK_FULL
    if is_database_unavailable(exc):
        return UNAVAILABLE
    return ERROR


def check_database_file() -> None:
    """At each page run (app.py): raise DatabaseFileGone when the primary's or the replica's SQLite file was
    renamed, deleted or replaced — before any cached answer of it is shown.  A stat per engine, no query."""
    _check_file(data.engine())
    if data.read_url() != data.db_url():
        _check_file(data.get_engine(data.read_url()))


def show_error(exc: BaseException) -> bool:
    """Show the message for a database failure where the caller is; False (nothing shown) for anything else."""
    kind = failure_kind(exc)
    if kind is None:
        return False
    detail = _brief(exc)
    if kind == UNAVAILABLE:
        log.warning("database unavailable: %s", detail)
        _note_attempt()
        unavailable_panel()
    elif kind == TIMEOUT:
        log.warning("query timed out: %s", detail)
        st.warning(t("frame.db_timeout"), icon=":material/timer_off:")
    elif kind == DISK_FULL:
        log.error("disk full, nothing written: %s", detail)
        st.error(t("frame.disk_full"), icon=":material/hard_drive:")
        _retry_button()
    elif kind == FILE_GONE:
        log.error("database file gone: %s", detail)
        st.error(t("frame.db_file_gone", path=fmt.plain(getattr(_gone(exc), "path", "?"))), icon=":material/folder_off:")
        _retry_button()
    else:
        log.warning("database error: %s: %s", type(exc).__name__, detail)
        st.error(t("frame.error", detail=type(exc).__name__), icon=":material/error:")
    return True


def _gone(exc: BaseException):
    """The DatabaseFileGone in ``exc``'s chain (SQLAlchemy may wrap it)."""
    from data_access.core.errors import DatabaseFileGone

    e, seen = exc, 0
    while e is not None and seen < 8:
        if isinstance(e, DatabaseFileGone):
            return e
        e, seen = getattr(e, "orig", None) or e.__cause__ or e.__context__, seen + 1
    return None


def _retry_button() -> None:
    """"Retry now": runs the whole app again (a form keeps its typed values; submit it again to retry a write)."""
    try:
        clicked = st.button(t("frame.db_retry_now"), icon=":material/refresh:", key=None)
    except DuplicateWidgetID:  # a second message in the same place of this run: the first one has the button
        clicked = False
    if clicked:
        st.rerun(scope="app")


def _brief(exc: BaseException) -> str:
    """The driver's message on one line, without SQLAlchemy's statement and parameters (personal data)."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]


_CALLBACK_ERROR = "_callback_error"  # session key: an exception a widget callback raised, shown by guard_page


def guarded_callback(fn: Callable[..., None]) -> Callable[..., None]:
    """A widget callback (``on_click``/``on_change``) that fails like a page does.  Streamlit runs callbacks
    before the script, outside :func:`guard_page`, so an error there (the database locked or the disk full
    while signing in) became its own English "This app has encountered an error" and a blank page.  Here the
    exception is kept for this run and :func:`guard_page` shows it: the same message, the same retrying panel,
    the same reference for a defect.  Streamlit's control flow (``BaseException``) passes through."""

    @functools.wraps(fn)
    def run(*args, **kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown by guard_page on this run
            st.session_state[_CALLBACK_ERROR] = exc

    return run


# --- what was typed outlives a run that could not draw it ------------------------------------------------------
# Streamlit forgets a widget's value when a run does not draw the widget: a page stopped by a database failure
# (the file gone) before its form dropped the note just typed into it.  A form names such a text widget with
# keep_typed(key) before drawing it; guard_page copies the value at the start of every run (the submitted value
# is there before anything can fail), and keep_typed puts it back once the form is drawn again.

_TYPED = "_typed_keys"


def keep_typed(key: str) -> None:
    """Before drawing the text widget ``key``: keep its value across runs that fail before drawing it, and put a
    value such a run dropped back."""
    st.session_state.setdefault(_TYPED, set()).add(key)
    copy = f"_typed:{key}"
    if key not in st.session_state and st.session_state.get(copy):
        st.session_state[key] = st.session_state[copy]


def forget_typed(key: str) -> None:
    """The value was used (the write went through): nothing to put back."""
    st.session_state.pop(f"_typed:{key}", None)
    st.session_state.get(_TYPED, set()).discard(key)


def _save_typed() -> None:
    for key in st.session_state.get(_TYPED, ()):
        if key in st.session_state:
            st.session_state[f"_typed:{key}"] = st.session_state[key]


@contextmanager
def guard_page() -> Iterator[None]:
    """Run a page (``with guard_page(): nav.run()``): a database failure becomes its message, any other error
    the "unexpected error" message with a reference (see the module's doc); never a traceback.  A failure of a
    :func:`guarded_callback` in this run is shown first, above the page, which then runs as usual (the sign-in
    form stays, to try again)."""
    _save_typed()
    pending = st.session_state.pop(_CALLBACK_ERROR, None)
    if pending is not None:
        _show_failure(pending)
    try:
        yield
    except Exception as exc:
        _show_failure(exc)


def _show_failure(exc: Exception) -> None:
    if show_error(exc):
        return
    if os.environ.get("GOV_RAISE_ERRORS") == "1":
        raise exc
    ref = secrets.token_hex(4)
    log.error("unexpected error, reference %s", ref, exc_info=exc)
    st.error(t("frame.unexpected", ref=ref), icon=":material/error:")


# --- waiting for the database ----------------------------------------------------------------------------

def _note_attempt() -> None:
    st.session_state[_LAST_ATTEMPT] = time.time()


def reconnect_due(last_attempt: float | None, now: float) -> bool:
    """Whether the waiting panel should ask the database again (not in the run whose page just failed)."""
    return last_attempt is None or now - last_attempt >= RETRY_SECONDS * 0.8


def database_answers() -> bool:
    """Ask the database once (the engine in use, created on the way if it never was)."""
    try:
        ping(data.engine())
        if data.read_url() != data.db_url():  # the dashboards' read replica, when one is configured
            ping(data.get_engine(data.read_url()))
    except Exception as exc:  # noqa: BLE001 - any failure means "not back yet"
        if not is_database_unavailable(exc):
            log.warning("database ping failed: %s", _brief(exc))
        return False
    return True


@st.fragment(run_every=RETRY_SECONDS)
def unavailable_panel() -> None:
    """The "retrying…" warning; every RETRY_SECONDS it pings the database and reruns the app once it answers."""
    if reconnect_due(st.session_state.get(_LAST_ATTEMPT), time.time()):
        if database_answers():
            st.session_state.pop(_LAST_ATTEMPT, None)
            st.rerun(scope="app")
        _note_attempt()
    last = st.session_state.get(_LAST_ATTEMPT) or time.time()
    ts = datetime.fromtimestamp(last, TZ).strftime("%H:%M:%S")  # the real clock (GOV_NOW freezes only the data's)
    st.warning(f"**{t('frame.db_unavailable')}**  \n{t('frame.db_last_attempt', ts=ts, s=RETRY_SECONDS)}",
               icon=":material/cloud_off:")
    try:
        clicked = st.button(t("frame.db_retry_now"), icon=":material/refresh:")
    except DuplicateWidgetID:  # a second panel in the same place of this run: the first one has the button
        clicked = False
    if clicked:
        st.rerun(scope="app")


__all__ = ["RETRY_SECONDS", "check_database_file", "database_answers", "failure_kind", "guard_page", "guarded_callback",
           "forget_typed", "keep_typed", "reconnect_due", "show_error",
           "unavailable_panel"]
