"""The shared counting engine: case counts, open and overdue counts and the headline numbers of any selection.

The Overview, the workbench, the export, the ranking and the bulletin count through here.  All counting
happens in SQL: whole months come from ``case_summary``, the
days at the edges of the period (and any filter the summary cannot answer)
from ``cases`` with its indexes; the partial results are added up here.
Every function returns a small DataFrame or a :class:`CaseKpis`.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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
from data_access.core.rollups import outcome_flags
from data_access.core.schema import OUTCOME_COLUMNS, cases
from data_access.core.search import normalise, reading_every_match
from data_access.core.sqlfn import rarely

COUNT_COLUMNS = ["cases", "closed", "on_the_spot", "closed_late", "n_satisfaction", "sum_satisfaction",
                 *BUCKET_COLUMNS, *OUTCOME_COLUMNS]
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


def _raw_counts(conn: Connection, r: Resolved, now: datetime, group_by: Sequence[str], dates,
                histogram: bool) -> pd.DataFrame:
    """Counts straight from ``cases``: SQL groups by the few flags the measures need, pandas adds them up."""
    conds = case_conditions(r, now, dates=dates)
    if normalise(r.f.text):
        reading_every_match(conn)
    gcols = [_raw_group_column(r, g).label(g) for g in group_by]
    b = hour_bucket_sql(cases.c.hours_to_close) if histogram else literal(-1)
    keys = [*gcols, cases.c.status.label("_status"), cases.c.on_the_spot.label("_spot"),
            cases.c.closed_late.label("_late"), b.label("_b")]
    outcomes = [func.coalesce(func.sum(flag), 0).label(col) for col, flag in zip(OUTCOME_COLUMNS, outcome_flags(cases))]
    stmt = select(*keys, func.count().label("n"), func.count(cases.c.satisfaction).label("n_satisfaction"),
                  func.coalesce(func.sum(cases.c.satisfaction), 0).label("sum_satisfaction"), *outcomes,
                  ).where(*conds).group_by(*gcols, cases.c.status, cases.c.on_the_spot, cases.c.closed_late, b)
    raw = pd.DataFrame(conn.execute(stmt).all(),
                       columns=[*group_by, "_status", "_spot", "_late", "_b", "n", "n_satisfaction",
                                "sum_satisfaction", *OUTCOME_COLUMNS])
    if raw.empty:
        return pd.DataFrame(columns=[*group_by, *COUNT_COLUMNS])
    closed = (raw["_status"] == "closed").to_numpy()
    n = raw["n"].to_numpy()
    spot = raw["_spot"].fillna(False).astype(bool).to_numpy()
    late = raw["_late"].fillna(False).astype(bool).to_numpy()
    bucket = raw["_b"].to_numpy()
    cols = {g: raw[g].to_numpy() for g in group_by}
    cols.update({
        "cases": n,
        "closed": np.where(closed, n, 0),
        "on_the_spot": np.where(closed & spot, n, 0),
        "closed_late": np.where(closed & late, n, 0),
        "n_satisfaction": raw["n_satisfaction"].to_numpy(),
        "sum_satisfaction": raw["sum_satisfaction"].to_numpy(),
        **{c: raw[c].to_numpy() for c in OUTCOME_COLUMNS},
    })
    for i, name in enumerate(BUCKET_COLUMNS):
        cols[name] = np.where(closed & (bucket == i), n, 0)
    out = pd.DataFrame(cols)
    return out


def _summary_counts(conn: Connection, r: Resolved, group_by: Sequence[str], months: tuple[str, str],
                    histogram: bool, child_level: str | None) -> pd.DataFrame:
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
    ).where(*summary_conditions(r, months, table))
    if gcols:
        stmt = stmt.group_by(*gcols)
    df = pd.DataFrame(conn.execute(stmt).all(), columns=[*group_by, *COUNT_COLUMNS])
    return df[df["cases"] > 0] if not group_by else df


def case_counts(engine: Engine, f: CaseFilter, group_by: Sequence[str] = (), now: datetime | None = None,
                histogram: bool = True) -> pd.DataFrame:
    """Additive counts (cases, closed, on the spot, closed late, satisfaction, hours histogram, the outcome counts
    of the 三率) by ``group_by``.

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
    df = pd.concat(parts, ignore_index=True)
    if group_by:
        df = df.groupby(group_by, dropna=False, as_index=False)[COUNT_COLUMNS].sum()
    else:
        df = df[COUNT_COLUMNS].sum().to_frame().T
    df[COUNT_COLUMNS] = df[COUNT_COLUMNS].astype("int64")
    return df


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
