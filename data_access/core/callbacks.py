"""Callbacks (回访): the one home of their rules, shared by the write (writes/callbacks.py), the list
(queries/supervision/callbacks.py), the loader and the sync (ingest/loader.py, ingest/sync.py).

A callback is a staff member ringing the reporter of a recently closed case and recording how satisfied they
were, on the data's own scale (:func:`rating_scale`, the contract's ``cases.satisfaction``: 1–5).  The rating
becomes the case's ``satisfaction``, so every satisfaction figure and roll-up counts it; the ``callbacks`` table
keeps the app's record (who, when, the note, and an undo).

Which rating wins (docs/DATA_CONTRACT.md, "Callbacks"): **the source's**.  A load or a sync writes the source's
row; where that row has no rating and an active callback rates the same closing (same ``closed_at``), the
callback's rating is put back on the case (:func:`reapply`).  Where the source sends its own rating, the case
keeps the source's and the callback stays in the record only.  A case reopened and closed again (another
``closed_at``) is no longer rated by an earlier callback: it is due for a new one.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, and_, bindparam, select, update

from data_access.core.contract import BY_NAME
from data_access.core.keyset import KeySet
from data_access.core.schema import callbacks, cases

CALLBACK_DAYS = 30   # "recently closed": the list offers cases closed in the last 30 days (a month's follow-up)
NOTE_MAX = 500       # characters of a callback's note


def rating_scale() -> tuple[int, int]:
    """(lowest, highest) satisfaction score: the contract's bounds of ``cases.satisfaction``."""
    col = next(c for c in BY_NAME["cases.csv"].columns if c.name == "satisfaction")
    return int(col.min), int(col.max)


def active():
    """The condition of a callback in effect (not undone)."""
    return callbacks.c.undone_at.is_(None)


def due_conditions(since, until) -> list:
    """The cases due for a callback: closed between ``since`` and ``until``, with a reporter phone, not rated."""
    c = cases.c
    return [c.status == "closed", c.closed_at >= since, c.closed_at <= until, c.reporter_phone.is_not(None),
            c.reporter_phone != "", c.satisfaction.is_(None)]


def reapply(conn: Connection, case_nos: Iterable[str] | None = None) -> list[str]:
    """Put the rating of each active callback back on its case where the case (as the source now sends it) rates
    none and is still closed at the closing the callback rated; ``case_nos`` limits it to those cases (None:
    every callback, as after a full load).  Returns the case numbers changed (their roll-ups are the caller's:
    the loader rebuilds them after, the sync adds the difference of the cases it touched)."""
    cb, c = callbacks.c, cases.c
    stmt = (select(cb.case_no, cb.rating)
            .join(cases, and_(c.case_no == cb.case_no, c.closed_at == cb.closed_at))
            .where(active(), c.status == "closed", c.satisfaction.is_(None)))
    rows: list[tuple[str, int]] = []
    if case_nos is None:
        rows = [tuple(r) for r in conn.execute(stmt).all()]
    else:
        keys = KeySet(conn, case_nos, "callbacks")   # a batch's cases: one statement (core/keyset.py)
        if keys:
            rows = [tuple(r) for r in conn.execute(stmt.where(keys.where(cb.case_no))).all()]
    if rows:
        conn.execute(update(cases).where(c.case_no == bindparam("no"), c.satisfaction.is_(None))
                     .values(satisfaction=bindparam("rating")),
                     [{"no": no, "rating": rating} for no, rating in rows])
    return sorted(no for no, _ in rows)
