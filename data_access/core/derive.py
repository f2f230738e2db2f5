"""Columns of ``cases`` derived from other rows: the event counts and the re-report flag.

The loader fills them once after a load; every write path calls the same functions for the cases it
touched, inside its own transaction, so that the supervision centre's numbers stay exact.
Definitions: data_access/core/metrics.py (returns, reassignments, reopened, re-reported).
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    Connection,
    and_,
    exists,
    func,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased

from data_access.core.metrics import REREPORT_DAYS
from data_access.core.schema import case_events, cases
from data_access.core.sqlfn import hours_between

_COUNTED = {"return": "n_returns", "reassign": "n_reassigns", "reopen": "n_reopens"}


def derive_event_counts(conn: Connection, case_nos: Sequence[str] | None = None) -> None:
    """Set ``n_returns``, ``n_reassigns`` and ``n_reopens`` from ``case_events`` (all cases, or ``case_nos``)."""
    if case_nos is not None:
        case_nos = list(case_nos)
        if not case_nos:
            return
        conn.execute(update(cases).where(cases.c.case_no.in_(case_nos))
                     .values(n_returns=0, n_reassigns=0, n_reopens=0))
    e = case_events.c
    counts = (
        select(e.case_no, *[func.sum(sql_case((e.action == action, 1), else_=0)).label(col)
                            for action, col in _COUNTED.items()])
        .where(e.action.in_(list(_COUNTED)))
        .group_by(e.case_no)
    )
    if case_nos is not None:
        counts = counts.where(e.case_no.in_(case_nos))
    sub = counts.subquery("ev")
    conn.execute(update(cases).where(cases.c.case_no == sub.c.case_no)
                 .values(**{col: sub.c[col] for col in _COUNTED.values()}))


def _same_matter(earlier, later) -> list:
    """The same reporter (phone), grid and category: the join of a re-report to the case it re-reports."""
    return [earlier.c.reporter_phone == later.c.reporter_phone, earlier.c.grid_code == later.c.grid_code,
            earlier.c.category == later.c.category]


def _rereports(earlier, later) -> list:
    """``later`` re-reports the closed case ``earlier``: metrics.py, "re-reported" (the one definition)."""
    return [
        *_same_matter(earlier, later),
        later.c.source.op("<>")(literal_column("'patrol'")),
        earlier.c.status == "closed",
        later.c.reported_at > earlier.c.closed_at,
        hours_between(earlier.c.closed_at, later.c.reported_at) <= REREPORT_DAYS * 24.0,
    ]


def derive_rereported(conn: Connection, where=None) -> None:
    """Set ``rereported`` for closed cases with a reporter phone (all, or those matching ``where``)."""
    base = [cases.c.reporter_phone.is_not(None), cases.c.reporter_phone != ""]
    if where is not None:
        base.append(where)
        conn.execute(update(cases).where(*base, cases.c.rereported == true()).values(rereported=False))
        later = aliased(cases, name="later")
        conn.execute(update(cases).where(*base, exists().where(*_rereports(cases, later)))
                     .values(rereported=True))
        return
    # Every case: start from the later reports, and only those whose phone occurs on more than one case
    # (a GROUP BY over the phone index); probing each closed case instead took minutes at 1.07 M cases.
    conn.execute(update(cases).where(cases.c.rereported == true()).values(rereported=False))
    phone = cases.c.reporter_phone
    # A re-report is a later non-patrol report, so only phones with one count: a grid worker's phone is on
    # every patrol report of the grid (~200 at 5 M cases), and pairing those with each other was quadratic
    # (over 25 minutes at 5 M cases in SQLite, whose plan probes by phone alone).
    shared = (select(phone).where(phone.is_not(None), phone != "").group_by(phone)
              .having(func.count() > 1, func.sum(sql_case((cases.c.source != "patrol", 1), else_=0)) > 0))
    later, earlier = aliased(cases, name="later"), aliased(cases, name="earlier")
    # joined from the later reports on the same matter; SQLite's plan depends even on the operands' order
    # (earlier = later: 7 s at 1.07 M cases; later = earlier or a plain WHERE: 10-11 s)
    pairs = (select(earlier.c.case_no)
             .select_from(later.join(earlier, and_(*_same_matter(earlier, later))))
             .where(later.c.reporter_phone.in_(shared), *_rereports(earlier, later)[3:]))
    conn.execute(update(cases).where(cases.c.case_no.in_(pairs)).values(rereported=True))


def rereport_candidates(conn: Connection, case_no: str) -> list[str]:
    """Closed cases that the case ``case_no`` (just reported) may re-report: same phone, grid and category."""
    new = aliased(cases, name="new")
    rows = conn.execute(
        select(cases.c.case_no)
        .select_from(cases.join(new, and_(new.c.case_no == case_no,
                                          cases.c.reporter_phone == new.c.reporter_phone,
                                          cases.c.grid_code == new.c.grid_code,
                                          cases.c.category == new.c.category)))
        .where(cases.c.status == "closed", cases.c.case_no != case_no)
    ).scalars().all()
    return list(rows)


STEP_HOUR_COLUMNS = {"accept_hours": ("reported_at", "accepted_at"), "dispatch_hours": ("accepted_at", "dispatched_at"),
                     "handle_hours": ("dispatched_at", "handled_at"), "feedback_hours": ("handled_at", "feedback_at")}


def derive_step_hours(conn: Connection, case_nos: Sequence[str] | None = None, where=None) -> None:
    """Set ``allowed_hours`` (due_at − reported_at) and the hours spent reaching each step (all cases, the
    cases ``case_nos``, or those matching ``where``).  Called after anything that moves a timestamp or the
    due time: the load, every workflow write, a time-limit rule change."""
    c = cases.c
    values = {"allowed_hours": hours_between(c.reported_at, c.due_at),
              **{col: hours_between(c[a], c[b]) for col, (a, b) in STEP_HOUR_COLUMNS.items()}}
    stmt = update(cases).values(**values)
    if case_nos is not None:
        case_nos = list(case_nos)
        if not case_nos:
            return
        stmt = stmt.where(c.case_no.in_(case_nos))
    if where is not None:
        stmt = stmt.where(where)
    conn.execute(stmt)
