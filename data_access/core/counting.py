"""The shared counting engine: case counts, open and overdue counts and the headline numbers of any selection.

The Overview, the workbench, the export, the ranking and the bulletin count through here.  All counting
happens in SQL: whole months come from ``case_summary``, the
days at the edges of the period (and any filter the summary cannot answer)
from ``cases`` with its indexes; the partial results are added up here.
Every function returns a small DataFrame or a :class:`CaseKpis`.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Select, func, literal, select
from sqlalchemy import case as sql_case

from data_access.core.clock import now_local
from data_access.core.filters import (
    CASE_LEVEL_COLUMN,
    CaseFilter,
    Resolved,
    case_conditions,
    open_condition,
    period_parts,
    resolve,
    summary_conditions,
    summary_table,
    summary_usable,
)
from data_access.core.metrics import (
    BUCKET_COLUMNS,
    CaseKpis,
    hour_bucket_sql,
    mean_satisfaction,
    median_from_histogram,
    on_time_count,
)
from data_access.core.escalation import step_limit_sql
from data_access.core.rollups import outcome_flags, within_limit_sql
from data_access.core.schema import OUTCOME_COLUMNS, Timestamp, cases
from data_access.core.search import reading_every_match
from data_access.core.sqlfn import hours_between, rarely

# what the roll-ups and the edge days add up; ``open_unaccepted``: open cases not accepted (any status but closed,
# ``accept_hours`` NULL), the response rate's live count starts from it (unaccepted_late)
ADDED_COLUMNS = ["cases", "closed", "on_the_spot", "closed_late", "n_satisfaction", "sum_satisfaction",
                 *BUCKET_COLUMNS, *OUTCOME_COLUMNS, "open_unaccepted"]
# case_counts' columns: the added ones and the response rate's live count (unaccepted_late), as of ``now``
COUNT_COLUMNS = [*ADDED_COLUMNS, "n_unaccepted_late"]
GROUPS = ("month", "status", "resolution_level", "category", "child")


def _raw_group_column(r: Resolved, g: str):
    if g == "month":
        return cases.c.report_month
    if g == "child":
        return CASE_LEVEL_COLUMN[r.tree.child_level(r.code)]
    return cases.c[g]


def _summary_group_column(r: Resolved, g: str, table):
    if g == "child":
        return table.c[f"{r.tree.child_level(r.code)}_code"]
    return table.c[g]


# A partial answer: (group key, counts in ADDED_COLUMNS' order) rows.  Added up in plain Python: the parts are a
# few dozen rows, and pandas' concat, groupby and casts on them cost more than the queries did (5–7 ms of a
# 20–50 ms question at 1.07 M cases, several questions a page; the filter change, issue 24).
Part = list[tuple[tuple, list]]
_N_BUCKETS = len(BUCKET_COLUMNS)
_BUCKETS = range(_N_BUCKETS)
_ACCEPTED = OUTCOME_COLUMNS.index("n_accepted")


def _raw_counts(conn: Connection, r: Resolved, now: datetime, group_by: Sequence[str], dates,
                histogram: bool) -> Part:
    """Counts straight from ``cases``: SQL groups by the few flags the measures need, Python adds them up."""
    common = reading_every_match(conn, r.f.text)
    conds = case_conditions(r, now, dates=dates, text_common=common)
    gcols = [_raw_group_column(r, g).label(g) for g in group_by]
    b = hour_bucket_sql(cases.c.hours_to_close) if histogram else literal(-1)
    keys = [*gcols, cases.c.status.label("_status"), cases.c.on_the_spot.label("_spot"),
            cases.c.closed_late.label("_late"), b.label("_b")]
    outcomes = [func.coalesce(func.sum(flag), 0).label(col) for col, flag in zip(OUTCOME_COLUMNS, outcome_flags(cases))]
    stmt = select(*keys, func.count().label("n"), func.count(cases.c.satisfaction).label("n_satisfaction"),
                  func.coalesce(func.sum(cases.c.satisfaction), 0).label("sum_satisfaction"), *outcomes,
                  ).where(*conds).group_by(*gcols, cases.c.status, cases.c.on_the_spot, cases.c.closed_late, b)
    k = len(group_by)
    out: Part = []
    for row in conn.execute(stmt):
        status, spot, late, bucket, n, n_satisfaction, sum_satisfaction = row[k:k + 7]
        closed = status == "closed"
        hist = [0] * _N_BUCKETS
        if closed and bucket in _BUCKETS:   # (-1: no histogram asked; NULL: no hours)
            hist[int(bucket)] = n
        outcomes = row[k + 7:]
        out.append((tuple(row[:k]), [
            n, n if closed else 0, n if closed and bool(spot) else 0, n if closed and bool(late) else 0,
            n_satisfaction, sum_satisfaction, *hist, *outcomes, 0 if closed else n - outcomes[_ACCEPTED]]))
    return out


def _summary_counts(conn: Connection, r: Resolved, group_by: Sequence[str], months: tuple[str, str],
                    histogram: bool, child_level: str | None) -> Part:
    table = summary_table(r, child_level)
    s = table.c
    hist = [func.coalesce(func.sum(s[name]), 0).label(name) if histogram else literal(0).label(name)
            for name in BUCKET_COLUMNS]
    gcols = [_summary_group_column(r, g, table).label(g) for g in group_by]
    stmt = select(
        *gcols,
        func.coalesce(func.sum(s.n), 0).label("cases"),
        func.coalesce(func.sum(sql_case((s.status == "closed", s.n), else_=0)), 0).label("closed"),
        func.coalesce(func.sum(s.n_on_the_spot), 0).label("on_the_spot"),
        func.coalesce(func.sum(s.n_closed_late), 0).label("closed_late"),
        func.coalesce(func.sum(s.n_satisfaction), 0).label("n_satisfaction"),
        func.coalesce(func.sum(s.sum_satisfaction), 0).label("sum_satisfaction"),
        *hist,
        *[func.coalesce(func.sum(s[c]), 0).label(c) for c in OUTCOME_COLUMNS],
        open_unaccepted_sum(s),
    ).where(*summary_conditions(r, months, table))
    if gcols:
        stmt = stmt.group_by(*gcols)
    k = len(group_by)
    rows = [(tuple(row[:k]), list(row[k:])) for row in conn.execute(stmt)]
    return [row for row in rows if row[1][0] > 0] if not group_by else rows


def _sort_key(key: tuple) -> tuple:
    """Group keys in pandas' groupby order: each value ascending, a NULL after every value."""
    return tuple((v is None, "" if v is None else v) for v in key)


def _added_up(parts: list[Part], group_by: list[str]) -> pd.DataFrame:
    """The parts' rows added up by group key, sorted by key: the frame pandas' concat + groupby(dropna=False)
    + sum + astype("int64") gave (tests/test_counting_fast.py checks it against that, on both databases)."""
    totals: dict[tuple, list] = {}
    for part in parts:
        for key, values in part:
            acc = totals.get(key)
            if acc is None:
                totals[key] = list(values)
            else:
                for i, v in enumerate(values):
                    acc[i] += v
    keys = sorted(totals, key=_sort_key) if group_by else list(totals)
    matrix = np.array([[int(v) for v in totals[key]] for key in keys], dtype="int64").reshape(
        len(keys), len(ADDED_COLUMNS))
    if not group_by:
        return pd.DataFrame(matrix, columns=ADDED_COLUMNS)
    data: dict[str, object] = {g: [key[i] for key in keys] for i, g in enumerate(group_by)}
    data.update({c: matrix[:, j] for j, c in enumerate(ADDED_COLUMNS)})
    return pd.DataFrame(data)


def case_counts(engine: Engine, f: CaseFilter, group_by: Sequence[str] = (), now: datetime | None = None,
                histogram: bool = True) -> pd.DataFrame:
    """Additive counts (cases, closed, on the spot, closed late, satisfaction, hours histogram, the outcome counts
    of the 三率) by ``group_by``, with the response rate's live count as of ``now`` (:func:`unaccepted_late`).

    ``histogram=False`` leaves the hours histogram at zero (cheaper, for charts that show no median)."""
    assert all(g in GROUPS for g in group_by), group_by
    now = now or now_local()
    r = resolve(engine, f)
    group_by = list(group_by)
    if "child" in group_by and r.tree.child_level(r.code) is None:
        return pd.DataFrame(columns=[*group_by, *COUNT_COLUMNS])
    child_level = r.tree.child_level(r.code) if "child" in group_by else None
    with engine.connect() as conn:
        parts = period_parts(r, summary_usable(r, child_level),
                             lambda months: _summary_counts(conn, r, group_by, months, histogram, child_level),
                             lambda days: _raw_counts(conn, r, now, group_by, days, histogram))
    if not parts:
        return pd.DataFrame(columns=[*group_by, *COUNT_COLUMNS])
    df = _added_up(parts, group_by)
    with engine.connect() as conn:
        return unaccepted_late(conn, r, df, [_raw_group_column(r, g).label(g) for g in group_by], now)


def open_unaccepted_sum(s):
    """The open cases not accepted of roll-up rows ``s`` (case_summary's columns): n − n_accepted of every status
    but closed."""
    return func.coalesce(func.sum(sql_case((s.status != "closed", s.n - s.n_accepted), else_=0)), 0)


def within_accept_limit_select(r: Resolved, gcols: Sequence, now: datetime,
                               dates: tuple[date | None, date | None] | None = None):
    """Open cases of the selection not accepted and still within their 受理 limit at ``now`` (metrics.py, response
    rate), by ``gcols`` (labelled group columns), then their count.

    Such a case is not yet due either (the 受理 limit is a share of the allowed time, so it passes before the due
    time), so the read is the range of ix_cases_open_by_due from ``now`` on, as :func:`not_yet_due_select`'s, with
    SQLite told the range is rare; only the rows of that range look up ``accept_hours`` and ``allowed_hours``."""
    hours = hours_between(cases.c.reported_at, literal(now, Timestamp))
    stmt = select(*gcols, func.count().label("within")).where(
        open_condition(), rarely(cases.c.due_at >= now), cases.c.accept_hours.is_(None),
        within_limit_sql(hours, step_limit_sql("accept")),
        *case_conditions(r, now, dates=dates, text_per_row=True))
    return stmt.group_by(*gcols) if gcols else stmt


def unaccepted_late(conn: Connection, r: Resolved, counts: pd.DataFrame, gcols: Sequence, now: datetime,
                    dates: tuple[date | None, date | None] | None = None) -> pd.DataFrame:
    """``counts`` with ``n_unaccepted_late``: its open cases not accepted whose 受理 limit has passed at ``now``,
    the failures the response rate adds to its denominator (metrics.py).  The one place the live count meets the
    roll-up counts: the Overview (case_counts), the ranking and the bulletin (queries/supervision/ranking.py) all
    come through here.

    ``counts`` has ``open_unaccepted`` (open, ``accept_hours`` NULL: from the roll-ups, :func:`open_unaccepted_sum`)
    and one row per group of ``gcols`` (labelled like its key columns; none: one row).  Past the limit = those less
    the ones still within it (:func:`within_accept_limit_select`): the open cases due ahead, not the whole
    backlog, are read, and nothing when no case of the selection is open and unaccepted."""
    out = counts.copy()
    keys = [c.key for c in gcols]
    if out.empty or int(out["open_unaccepted"].sum()) == 0:
        out["n_unaccepted_late"] = 0
        out["n_unaccepted_late"] = out["n_unaccepted_late"].astype("int64")
        return out
    within = {tuple(_key(v) for v in row[:-1]): int(row[-1])
              for row in conn.execute(within_accept_limit_select(r, gcols, now, dates))}
    rows = zip(*[out[k].tolist() for k in keys]) if keys else iter([()] * len(out))
    out["n_unaccepted_late"] = [max(int(n) - within.get(tuple(_key(v) for v in key), 0), 0)
                                for key, n in zip(rows, out["open_unaccepted"].tolist())]
    out["n_unaccepted_late"] = out["n_unaccepted_late"].astype("int64")
    return out


def case_total(engine: Engine, f: CaseFilter, now: datetime | None = None) -> int:
    """How many cases match ``f`` (from the summary where it can answer, else one COUNT)."""
    now = now or now_local()
    r = resolve(engine, f)
    if summary_usable(r):
        counts = case_counts(engine, f, (), now, histogram=False)
        return int(counts["cases"].iloc[0]) if len(counts) else 0
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(cases).where(*case_conditions(r, now))).scalar_one()


OPEN_COLUMNS = ["open", "open_overdue"]


def open_overdue_counts(engine: Engine, f: CaseFilter, group_by: Sequence[str] = (), now: datetime | None = None
                        ) -> pd.DataFrame:
    """Open cases and open overdue cases (filters.open_overdue_condition: due before ``now``) by ``group_by``.

    Open = cases − closed of :func:`case_counts` (the roll-ups); overdue = open − the open cases not yet due,
    which are read from ``cases`` (:func:`not_yet_due_select`).  A caller that has the counts already passes
    them to :func:`open_overdue_from_counts`."""
    now = now or now_local()
    counts = case_counts(engine, f, group_by, now, histogram=False)
    return open_overdue_from_counts(engine, f, counts, group_by, now)


def open_overdue_from_counts(engine: Engine, f: CaseFilter, counts: pd.DataFrame, group_by: Sequence[str],
                             now: datetime) -> pd.DataFrame:
    """Open and open overdue cases by ``group_by`` from ``counts`` (:func:`case_counts` of the same ``f`` and
    ``group_by``): open = cases − closed, open overdue = open − those still within their due time.

    Only the open cases not yet due are read from ``cases`` (through the due-time index, from ``now`` on): the
    intake of the last time limit's days that is still open, not the whole backlog.  Counting every open case
    (:func:`open_overdue_counts_from_cases`, the definition this equals; tests/test_open_counts.py) was most of
    the Overview's time with 7–10 % of cases open (issue 24: ~0.9 s of a 1.9 s render at 1.07 M cases)."""
    group_by = list(group_by)
    r = resolve(engine, f)
    if not group_by:   # one row (zeros for none), as the count from ``cases`` gives
        open_ = int(counts["cases"].sum() - counts["closed"].sum()) if len(counts) else 0
        with engine.connect() as conn:
            not_due = int(conn.execute(not_yet_due_select(r, (), now)).scalar_one()) if open_ else 0
        return pd.DataFrame({"open": [open_], "open_overdue": [open_ - not_due]}, dtype="int64")
    # plain Python over the few groups: pandas' merge and casts cost more than the query (4 of 7 ms)
    keys = zip(*[counts[g].tolist() for g in group_by]) if len(counts) else iter(())
    opens = (counts["cases"] - counts["closed"]).tolist() if len(counts) else []
    rows = [(tuple(_key(v) for v in key), n) for key, n in zip(keys, opens) if n > 0]
    if not rows:
        return pd.DataFrame(columns=[*group_by, *OPEN_COLUMNS])
    with engine.connect() as conn:
        not_due = {tuple(_key(v) for v in row[:-1]): int(row[-1])
                   for row in conn.execute(not_yet_due_select(r, group_by, now))}
    out = pd.DataFrame([(*key, n, n - not_due.get(key, 0)) for key, n in rows], columns=[*group_by, *OPEN_COLUMNS])
    out[OPEN_COLUMNS] = out[OPEN_COLUMNS].astype("int64")
    return out


def _key(v):
    """A group key as SQL gives it: pandas' NaN for a NULL key back to None."""
    return None if v is None or (isinstance(v, float) and v != v) else v


def not_yet_due_select(r: Resolved, group_by: Sequence[str], now: datetime):
    """Open cases of the selection due at or after ``now`` (due_at is never NULL), by ``group_by``: the group
    columns, then ``not_due``.

    Read through ix_cases_open_by_due from ``now`` on (the open cases due ahead: at most the intake of the
    longest time limit), or through a small region's own index when that is smaller.  SQLite is told the due
    condition is rare (sqlfn.rarely): its guess for a range made it walk the open cases by report date or
    every case by county — the whole backlog on the skewed data; PostgreSQL's statistics see it themselves."""
    gcols = [_raw_group_column(r, g).label(g) for g in group_by]
    stmt = select(*gcols, func.count().label("not_due")).where(
        open_condition(), rarely(cases.c.due_at >= now), *case_conditions(r, now, text_per_row=True))
    return stmt.group_by(*gcols) if gcols else stmt


def open_overdue_counts_from_cases(engine: Engine, f: CaseFilter, group_by: Sequence[str] = (),
                                   now: datetime | None = None) -> pd.DataFrame:
    """Open cases and open overdue cases by ``group_by`` counted straight from ``cases`` (every open case of the
    selection read): the definition :func:`open_overdue_counts` is checked against, and the benchmark's
    baseline (bench/open_counts.py)."""
    now = now or now_local()
    r = resolve(engine, f)
    if "child" in group_by and r.tree.child_level(r.code) is None:
        return pd.DataFrame(columns=[*group_by, *OPEN_COLUMNS])
    gcols = [_raw_group_column(r, g).label(g) for g in group_by]
    stmt = select(
        *gcols,
        func.count().label("open"),
        func.coalesce(func.sum(sql_case((cases.c.due_at < now, 1), else_=0)), 0).label("open_overdue"),
    ).where(open_condition(), *case_conditions(r, now, text_per_row=True))  # the open cases: LIKE on each
    if gcols:
        stmt = stmt.group_by(*gcols)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(stmt).all(), columns=[*group_by, *OPEN_COLUMNS])


def kpis_from_counts(counts: pd.Series, open_: int, open_overdue: int) -> CaseKpis:
    hist = [int(counts[c]) for c in BUCKET_COLUMNS]
    return CaseKpis(
        cases=int(counts["cases"]),
        closed=int(counts["closed"]),
        on_time=int(on_time_count(counts["closed"], counts["closed_late"])),
        closed_late=int(counts["closed_late"]),
        open=open_,
        open_overdue=open_overdue,
        on_the_spot=int(counts["on_the_spot"]),
        median_hours_to_close=median_from_histogram(hist),
        satisfaction_avg=mean_satisfaction(counts["sum_satisfaction"], counts["n_satisfaction"]),
        accepted=int(counts["n_accepted"]),
        accepted_in_time=int(counts["n_accepted_in_time"]),
        unaccepted_late=int(counts["n_unaccepted_late"]),
        resolved=int(counts["n_resolved"]),
        rated=int(counts["n_satisfaction"]),
        satisfied=int(counts["n_satisfied"]),
    )


def case_kpis(engine: Engine, f: CaseFilter, now: datetime | None = None) -> CaseKpis:
    """Headline numbers of the selection (see metrics.py for each definition)."""
    now = now or now_local()
    counts = case_counts(engine, f, (), now)
    if counts.empty:
        return CaseKpis()
    oo = open_overdue_from_counts(engine, f, counts, (), now)
    open_ = int(oo["open"].iloc[0]) if len(oo) else 0
    overdue = int(oo["open_overdue"].iloc[0]) if len(oo) else 0
    return kpis_from_counts(counts.iloc[0], open_, overdue)


def rows_of(stmt: Select) -> Select:
    """How many rows ``stmt`` gives (its order and limit dropped): a capped list's total counted through the very
    statement that lists it (ui/capped.py: the list's function called with ``count=True``)."""
    return select(func.count()).select_from(stmt.order_by(None).limit(None).subquery())
