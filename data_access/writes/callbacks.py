"""Recording a callback (回访): the rating a reporter gave when staff rang them back after their case closed, and
its undo.

:func:`record_callback` checks first and raises :class:`WriteRefused` naming the field (nothing written): the
role (core/access.may_record_callback: staff, leader, admin), the case (known and inside the user's
jurisdiction — said the same way, so an official never learns of a case outside it), its state (closed, not yet
rated), the rating (a whole number on the data's scale, core/callbacks.rating_scale) and the note's length.
Then, in ONE transaction (workflow._transaction: the write lock, the roll-ups' lock): the case's
``satisfaction`` is set (a conditional UPDATE: of two officials rating at once one wins, the other is refused),
the roll-ups change by the case's difference (rollups.contributions before and after, apply_contributions, as
writes/workflow.py does), the ``callbacks`` row and the audit row are written, and the data marked changed.

:func:`undo_callback` (its author or an admin) marks the callback undone and takes its rating off the case
again — only while the case still carries that rating for that closing; a rating the source has sent since
(the source's wins: core/callbacks.py) stays.  Both keep the record: nothing is deleted.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select, update

from data_access.core import audit, meta
from data_access.core.access import User, clean_text, may_record_callback, may_undo_callback
from data_access.core.callbacks import NOTE_MAX, rating_scale
from data_access.core.clock import now_local, wall_now
from data_access.core.regions import region_tree
from data_access.core.rollups import apply_contributions, contributions
from data_access.core.schema import callbacks, cases
from data_access.writes.workflow import WriteRefused, _transaction, checked_text


def _rating(rating) -> int:
    low, high = rating_scale()
    if isinstance(rating, bool) or not isinstance(rating, int) or not low <= rating <= high:
        raise WriteRefused(f"rating: must be a whole number {low}–{high}, got {rating!r}", "cb_rating",
                           rating=rating, low=low, high=high)
    return rating


def _note(note: str | None) -> str | None:
    return checked_text(note, "note", NOTE_MAX, "cb_note") or None


def _case_in_scope(conn: Connection, user: User, case_no: str) -> dict:
    """The case's state; refused when unknown or outside the user's jurisdiction (the same words for both)."""
    c = cases.c
    row = conn.execute(select(c.case_no, c.grid_code, c.status, c.closed_at, c.satisfaction)
                       .where(c.case_no == case_no)).mappings().first()
    if row is None or (user.scope_code is not None
                       and not region_tree(conn.engine).contains(user.scope_code, row["grid_code"])):
        raise WriteRefused(f"case_no: no case {case_no!r} in your jurisdiction", "cb_unknown", case_no=case_no)
    return dict(row)


def _account(user: User) -> str:
    return (user.username or user.name)[:64]


def _stamp() -> dict:
    """The case's ``changed_at`` (an export --since carries the new rating); its row time (``produced_at``) stays
    the source's, so no row the source sends later is held back by a callback (the source's rating wins)."""
    return {"changed_at": wall_now()}


def record_callback(engine: Engine, user: User | None, case_no: str, rating: int, note: str | None = None,
                    now: datetime | None = None) -> int:
    """Record ``rating`` (and ``note``) for closed, unrated case ``case_no``; returns the callback's id."""
    if not may_record_callback(user):
        raise WriteRefused("role: your role may not record callbacks", "cb_role")
    case_no = clean_text(str(case_no or "")).strip()
    rating = _rating(rating)
    text = _note(note)
    now = (now or now_local()).replace(microsecond=0, tzinfo=None)
    c = cases.c
    with _transaction(engine) as conn:
        case = _case_in_scope(conn, user, case_no)
        if case["status"] != "closed":
            raise WriteRefused(f"case_no: case {case_no} is not closed (it is '{case['status']}')", "cb_not_closed",
                               case_no=case_no, status=case["status"])
        if case["satisfaction"] is not None:
            raise WriteRefused(f"case_no: case {case_no} is already rated ({case['satisfaction']})", "cb_rated",
                               case_no=case_no, rating=case["satisfaction"])
        before = contributions(conn, [case_no])
        done = conn.execute(update(cases).where(c.case_no == case_no, c.status == "closed",
                                                c.closed_at == case["closed_at"], c.satisfaction.is_(None))
                            .values(satisfaction=rating, **_stamp())).rowcount
        if done != 1:
            raise WriteRefused(f"case_no: case {case_no} changed at the same moment; please try again", "conflict",
                               case_no=case_no)
        apply_contributions(conn, before, contributions(conn, [case_no]))
        cid = conn.execute(insert(callbacks).values(
            case_no=case_no, closed_at=case["closed_at"], rating=rating, note=text, recorded_by=_account(user),
            recorded_at=now).returning(callbacks.c.callback_id)).scalar_one()
        audit.record(conn, "write", user=user, target=case_no,
                     detail={"action": "callback", "callback_id": cid, "rating": rating, "note": text})
        meta.touch(conn)
    return int(cid)


def undo_callback(engine: Engine, user: User | None, callback_id: int, now: datetime | None = None) -> None:
    """Undo callback ``callback_id`` (its author or an admin): marked undone, and its rating taken off the case
    while the case still carries it for the same closing."""
    try:
        cid = int(callback_id)
    except (TypeError, ValueError):
        raise WriteRefused(f"callback_id: {callback_id!r} is not a callback number", "cb_no_callback",
                           id=callback_id) from None
    if not may_record_callback(user):
        raise WriteRefused("role: your role may not undo callbacks", "cb_role")
    now = (now or now_local()).replace(microsecond=0, tzinfo=None)
    cb, c = callbacks.c, cases.c
    with _transaction(engine) as conn:
        row = conn.execute(select(callbacks).where(cb.callback_id == cid)).mappings().first()
        if row is None:
            raise WriteRefused(f"callback_id: no callback {cid}", "cb_no_callback", id=cid)
        case = _case_in_scope(conn, user, row["case_no"])
        if row["undone_at"] is not None:
            raise WriteRefused(f"callback_id: callback {cid} is already undone", "cb_undone", id=cid)
        if not may_undo_callback(user, row["recorded_by"]):
            raise WriteRefused(f"callback_id: callback {cid} was recorded by {row['recorded_by']}; only its author "
                               "or an admin may undo it", "cb_not_author", id=cid, by=row["recorded_by"])
        done = conn.execute(update(callbacks).where(cb.callback_id == cid, cb.undone_at.is_(None))
                            .values(undone_by=_account(user), undone_at=now)).rowcount
        if done != 1:
            raise WriteRefused(f"callback_id: callback {cid} changed at the same moment; please try again",
                               "conflict")
        cleared = (case["status"] == "closed" and case["closed_at"] == row["closed_at"]
                   and case["satisfaction"] == row["rating"])
        if cleared:
            before = contributions(conn, [row["case_no"]])
            conn.execute(update(cases).where(c.case_no == row["case_no"], c.satisfaction == row["rating"])
                         .values(satisfaction=None, **_stamp()))
            apply_contributions(conn, before, contributions(conn, [row["case_no"]]))
        audit.record(conn, "write", user=user, target=row["case_no"],
                     detail={"action": "undo_callback", "callback_id": cid, "rating": row["rating"],
                             "rating_cleared": cleared})
        meta.touch(conn)
