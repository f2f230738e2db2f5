"""Set-based maintenance of the columns of ``cases`` derived from other columns or rows.

The definitions are in data_access/core/derived.py (this module holds none of its own): here they run as
UPDATEs over many cases — the event counts and the re-report flag (SQL only: they depend on other rows),
and the allowed and per-step hours (the SQL twins of the functions the loader and the writes call one
case at a time).  The loader runs them once after a load; every write path calls them for the cases it
touched, inside its own transaction, so that the supervision centre's numbers stay exact.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    literal_column,
    not_,
    select,
    true,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.orm import aliased

from data_access.core.derived import (
    EVENT_COUNT_COLUMNS,
    STEP_HOUR_COLUMNS,
    allowed_hours_sql,
    bounces_select,
    rereports_sql,
    same_matter_sql,
    step_hours_sql,
)
from data_access.core.keyset import KeySet
from data_access.core.schema import case_bounces, case_events, cases


def derive_event_counts(conn: Connection, case_nos: Sequence[str] | None = None) -> None:
    """Set ``n_returns``, ``n_reassigns`` and ``n_reopens`` from ``case_events`` (all cases, or ``case_nos``).

    For given cases (a batch, a write) the counts are read and compared, and only the cases whose counts
    change are written: returns and reopens are rare, and writing all 10,000 cases of a batch twice (zero, then
    count) cost 4.5 s on PostgreSQL at 1.07 M cases, each update touching every index of ``cases``."""
    e = case_events.c
    if case_nos is not None:
        _recount(conn, list(case_nos))
        return
    counts = (
        select(e.case_no, *[func.sum(sql_case((e.action == action, 1), else_=0)).label(col)
                            for action, col in EVENT_COUNT_COLUMNS.items()])
        .where(e.action.in_(list(EVENT_COUNT_COLUMNS)))
        .group_by(e.case_no)
    )
    sub = counts.subquery("ev")
    conn.execute(update(cases).where(cases.c.case_no == sub.c.case_no)
                 .values(**{col: sub.c[col] for col in EVENT_COUNT_COLUMNS.values()}))


def derive_bounces(conn: Connection, case_nos: Sequence[str] | None = None) -> None:
    """Rewrite ``case_bounces`` (derived.bounces_select) for every case, or for the cases ``case_nos`` (those whose
    events a batch or a write changed, and deleted ones: their rows go).  A case's rows change only with its own
    events, and with the departments (a batch that changes them rewrites all)."""
    if case_nos is None:
        # only the cases with a return have a bounce: their route events alone are read (derive_event_counts sets
        # n_returns first; the partial index ix_cases_returns holds them, ~2 % of cases), not all 4.8 M events of a
        # 1.07 M-case load (8.9 s on SQLite)
        returned = select(cases.c.case_no).where(cases.c.n_returns.op(">")(literal_column("0")))
        conn.execute(delete(case_bounces))
        conn.execute(insert(case_bounces).from_select(_BOUNCE_COLUMNS, bounces_select(lambda col: col.in_(returned))))
        return
    if not case_nos:
        return
    keys = KeySet(conn, case_nos, "bounces")
    conn.execute(delete(case_bounces).where(keys.where(case_bounces.c.case_no)))
    conn.execute(insert(case_bounces).from_select(_BOUNCE_COLUMNS, bounces_select(keys.where)))


_BOUNCE_COLUMNS = ["case_no", "seq", "from_department", "to_department"]


def _recount(conn: Connection, case_nos: list[str]) -> None:
    if not case_nos:
        return
    e = case_events.c
    cols = list(EVENT_COUNT_COLUMNS.values())
    keys = KeySet(conn, case_nos, "recount")   # a batch's 10,000 cases: a temporary table, not IN lists
    counted = {no: dict.fromkeys(cols, 0) for no in keys.values}
    for no, action, n in conn.execute(
            select(e.case_no, e.action, func.count()).where(keys.where(e.case_no),
                                                           e.action.in_(list(EVENT_COUNT_COLUMNS)))
            .group_by(e.case_no, e.action)):
        counted[no][EVENT_COUNT_COLUMNS[action]] = int(n)
    stored = conn.execute(select(cases.c.case_no, *[cases.c[c] for c in cols]).where(keys.where(cases.c.case_no)))
    changed = [{"b_case_no": no, **{f"b_{c}": counted[no][c] for c in cols}}
               for no, *values in stored if list(values) != [counted[no][c] for c in cols]]
    if changed:
        conn.execute(update(cases).where(cases.c.case_no == bindparam("b_case_no"))
                     .values({c: bindparam(f"b_{c}") for c in cols}), changed)


def derive_rereported(conn: Connection, where=None) -> None:
    """Set ``rereported`` for every case (or those matching ``where``): true for a closed case with a reporter
    phone that a later report re-reports (derived.rereports_sql).

    One statement for the load, a batch and a write: each closed case seeks its matter's reports in the month
    after it closed, a range of the index ``ix_cases_same_matter``, so the pass costs what the matches cost
    whatever the phones' distribution.  (Joining the later reports to the earlier ones on the phone — the plan
    SQLite chose with an index on the phone alone — paired every two cases of a phone: 10,000 phones shared
    by 357,000 cases stopped a 1.07 M-case load after 18 minutes, issue 24.)"""
    scope = [] if where is None else [where]
    later = aliased(cases, name="later")
    flag = [cases.c.status == "closed", cases.c.reporter_phone.is_not(None), cases.c.reporter_phone != "",
            exists().where(*rereports_sql(cases, later))]
    # only the rows whose flag changes are written: a flag cleared and set again was two new versions of the row
    # on PostgreSQL, each with an entry in every index of cases (two thirds of a second in a 10,000-case batch)
    conn.execute(update(cases).where(*scope, cases.c.rereported == true(), not_(and_(*flag)))
                 .values(rereported=False))
    conn.execute(update(cases).where(*scope, cases.c.rereported == false(), *flag).values(rereported=True))


def rereport_candidates(conn: Connection, case_no: str) -> list[str]:
    """Closed cases that the case ``case_no`` (just reported) may re-report: same phone, grid and category."""
    new = aliased(cases, name="new")
    rows = conn.execute(
        select(cases.c.case_no)
        .select_from(cases.join(new, and_(new.c.case_no == case_no, *same_matter_sql(cases, new))))
        .where(cases.c.status == "closed", cases.c.case_no != case_no)
    ).scalars().all()
    return list(rows)


def derive_step_hours(conn: Connection, case_nos: Sequence[str] | None = None, where=None) -> None:
    """Set ``allowed_hours`` (due_at − reported_at) and the hours spent reaching each step (all cases, the
    cases ``case_nos``, or those matching ``where``).  Called after anything that moves a timestamp or the
    due time: the load, every workflow write, a time-limit rule change."""
    c = cases.c
    values = {"allowed_hours": allowed_hours_sql(c.reported_at, c.due_at),
              **{col: step_hours_sql(c[a], c[b]) for col, (a, b) in STEP_HOUR_COLUMNS.items()}}
    stmt = update(cases).values(**values)
    if case_nos is not None:
        case_nos = list(case_nos)
        if not case_nos:
            return
        stmt = stmt.where(c.case_no.in_(case_nos))
    if where is not None:
        stmt = stmt.where(where)
    conn.execute(stmt)
