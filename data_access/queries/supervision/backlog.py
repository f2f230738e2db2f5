"""Questions the supervision centre asks about the open backlog (在办积案).

The backlog is what is **open now**, whatever the report date: a leader asks
"what is stuck now", and a case reported two years ago that is still open
belongs to it.  So the period of the filter does NOT apply here; every other
filter does (region and the user's scope, categories, sources, departments,
statuses, …), through :func:`filters.case_conditions` with ``dates=(None, None)``.
Open cases are ~1 % of all: every query starts from the partial index
``ix_cases_open`` (``filters.open_condition()``), which also covers the report
and due times and the ancestor codes.

Buckets (the bounds live here only; the UI labels are the i18n keys
``backlog.age.<key>`` and ``backlog.overdue.<key>``):

- **age** = days since the report, whole days (an open case reported exactly
  4 days ago is in ``d4_7``);
- **overdue by** = days past the due time (metrics.py "overdue by"); a bucket
  holds cases overdue by more than its lower bound and at most the next one
  (exactly 1 day overdue is in ``le1``); ``not_overdue`` = due now or later.

The trend of the overdue backlog counts, at each month end, the cases open
then and past their due time then (:func:`filters.open_overdue_at_condition`).
"""
from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine, func, literal, literal_column, select
from sqlalchemy import case as sql_case

from data_access.core.clock import now_local
from data_access.core.filters import (
    CASE_LEVEL_COLUMN,
    CaseFilter,
    Resolved,
    case_conditions,
    open_condition,
    open_now_overdue_at_condition,
    open_overdue_at_condition,
    open_overdue_condition,
    resolve,
)
from data_access.core.metrics import ratio
from data_access.core.schema import Timestamp, cases
from data_access.core.sqlfn import no_index

# (key, lower bound in whole days since the report); a case is in the last bucket whose bound it reaches.
AGE_BUCKETS: tuple[tuple[str, int], ...] = (
    ("d0_3", 0), ("d4_7", 4), ("d8_15", 8), ("d16_30", 16), ("d31_60", 31), ("d61_90", 61), ("d91p", 91),
)
# (key, days past due: more than this, up to the next bound); "not_overdue" = due now or later.
OVERDUE_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("not_overdue", None), ("le1", 0), ("d1_3", 1), ("d3_7", 3), ("d7_15", 7), ("d15_30", 15), ("gt30", 30),
)
AGE_KEYS = tuple(k for k, _ in AGE_BUCKETS)
OVERDUE_KEYS = tuple(k for k, _ in OVERDUE_BUCKETS)

CHILD_COLUMNS = ["code", "name", "level", "open", "open_overdue", "share_overdue", "oldest_days"]
CATEGORY_COLUMNS = ["category", "open", "open_overdue", "share_overdue", "oldest_days"]


def _ts(moment: datetime):
    return literal(moment, Timestamp)


def age_bucket_sql(now: datetime):
    """Index into AGE_BUCKETS of an open case's age at ``now`` (plain timestamp comparisons, both backends)."""
    whens = [(cases.c.reported_at > _ts(now - timedelta(days=AGE_BUCKETS[i + 1][1])), i)
             for i in range(len(AGE_BUCKETS) - 1)]
    return sql_case(*whens, else_=len(AGE_BUCKETS) - 1)


def overdue_bucket_sql(now: datetime):
    """Index into OVERDUE_BUCKETS of how long an open case has been past its due time at ``now``."""
    whens = [(cases.c.due_at >= _ts(now), 0)]
    for i in range(1, len(OVERDUE_BUCKETS) - 1):
        whens.append((cases.c.due_at >= _ts(now - timedelta(days=OVERDUE_BUCKETS[i + 1][1])), i))
    return sql_case(*whens, else_=len(OVERDUE_BUCKETS) - 1)


def _filter_conditions(r: Resolved, now: datetime, *, region_index: bool = False) -> list:
    """Every filter but the period (see the module docstring).

    The region's condition is the one case_conditions would write, but without ``region_index`` its column is
    hidden from SQLite's planner (sqlfn.no_index): with no report-date range, SQLite would otherwise read the
    whole region through a (county, …) index (150,000 rows for a county) instead of the ~1 % that are open."""
    conds = case_conditions(replace(r, code=None, level=None), now, dates=(None, None))
    if r.code is not None:
        col = CASE_LEVEL_COLUMN[r.level]
        conds.append((col if region_index else no_index(col)) == r.code)
    return conds


def _open_conditions(r: Resolved, now: datetime) -> list:
    """Open now (the partial index ix_cases_open), every filter but the period."""
    return [open_condition(), *_filter_conditions(r, now)]


def _overdue_sum(now: datetime):
    return func.coalesce(func.sum(sql_case((open_overdue_condition(now), 1), else_=0)), 0)


def _by_bucket(engine: Engine, f: CaseFilter, now: datetime | None, bucket_expr, keys) -> pd.DataFrame:
    now = now or now_local()
    r = resolve(engine, f)
    b = bucket_expr(now).label("b")
    stmt = (select(b, func.count().label("cases"), _overdue_sum(now).label("overdue"))
            .where(*_open_conditions(r, now)).group_by(b))
    with engine.connect() as conn:
        got = {int(i): (int(n), int(o)) for i, n, o in conn.execute(stmt).all()}
    rows = [(key, *got.get(i, (0, 0))) for i, key in enumerate(keys)]
    return pd.DataFrame(rows, columns=["bucket", "cases", "overdue"]).astype({"cases": "int64", "overdue": "int64"})


def open_backlog_by_age(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """bucket (AGE_KEYS, all of them, in order), cases, overdue — open cases by days since the report."""
    return _by_bucket(engine, f, now, age_bucket_sql, AGE_KEYS)


def open_backlog_by_overdue(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """bucket (OVERDUE_KEYS, all of them, in order), cases — open cases by days past the due time."""
    return _by_bucket(engine, f, now, overdue_bucket_sql, OVERDUE_KEYS)[["bucket", "cases"]]


def _grouped(conn: Connection, r: Resolved, now: datetime, col) -> pd.DataFrame:
    """key, open, open_overdue, oldest_days of the open cases grouped by ``col``."""
    rows = [(k, int(n), int(o), _days(now, oldest)) for k, n, o, oldest in conn.execute(grouped_select(r, now, col))]
    return pd.DataFrame(rows, columns=["key", "open", "open_overdue", "oldest_days"])


def grouped_select(r: Resolved, now: datetime, col):
    """The statement of :func:`_grouped` (bench/plans.py checks its plan).

    Grouped by ``no_index(col)``: grouping by a bare region column, SQLite walks that column's index
    (ix_cases_county_cat_reported) over the region's every case, open or closed, to spare itself the sort of the
    few open ones — 1,071,000 cases read for the city's 107,100 open ones on skewed-full (5.9 s, 2.6 s of CPU);
    without it, the open cases come from the partial index and are sorted (0.07 s)."""
    key = no_index(col)
    return (select(key.label("key"), func.count().label("open"), _overdue_sum(now).label("open_overdue"),
                   func.min(cases.c.reported_at).label("oldest"))
            .where(*_open_conditions(r, now)).group_by(key))


def _days(now: datetime, then) -> float | None:
    if then is None:
        return None
    if isinstance(then, str):  # min() over a subquery may lose the column type on some drivers
        then = datetime.fromisoformat(then)
    return (now - then).total_seconds() / 86400.0


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    df["open"] = df["open"].fillna(0).astype("int64")
    df["open_overdue"] = df["open_overdue"].fillna(0).astype("int64")
    df["share_overdue"] = pd.Series([ratio(o, n) for o, n in zip(df["open_overdue"], df["open"])],
                                    index=df.index, dtype="float64")
    df["oldest_days"] = df["oldest_days"].astype("float64")
    return df


def open_backlog_by_child_region(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """One row per child of the selected region (all of them, also those with nothing open):
    code, name, level, open, open_overdue, share_overdue, oldest_days — most open overdue first."""
    now = now or now_local()
    r = resolve(engine, f)
    base = r.tree.children_frame(r.code, population=False)
    if base.empty:
        return pd.DataFrame(columns=CHILD_COLUMNS)
    with engine.connect() as conn:
        got = _grouped(conn, r, now, CASE_LEVEL_COLUMN[r.tree.child_level(r.code)]).rename(columns={"key": "code"})
    df = _finish(base.merge(got, on="code", how="left"))
    return (df[CHILD_COLUMNS].sort_values(["open_overdue", "open"], ascending=False, kind="stable")
            .reset_index(drop=True))


def open_backlog_by_category(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """category, open, open_overdue, share_overdue, oldest_days — categories with open cases, most open first."""
    now = now or now_local()
    r = resolve(engine, f)
    with engine.connect() as conn:
        df = _grouped(conn, r, now, cases.c.category).rename(columns={"key": "category"})
    if df.empty:
        return pd.DataFrame(columns=CATEGORY_COLUMNS)
    df = _finish(df)
    return (df[CATEGORY_COLUMNS].sort_values(["open", "category"], ascending=[False, True], kind="stable")
            .reset_index(drop=True))


def month_end_points(months: int, now: datetime) -> list[tuple[str, datetime]]:
    """('YYYY-MM', moment) for the last ``months`` months: each past month's last second, then ``now``."""
    out: list[tuple[str, datetime]] = []
    y, m = now.year, now.month
    for back in range(months - 1, 0, -1):
        yy, mm = divmod((y * 12 + m - 1) - back, 12)
        mm += 1
        last = date(yy, mm, calendar.monthrange(yy, mm)[1])
        out.append((f"{yy:04d}-{mm:02d}", datetime(last.year, last.month, last.day, 23, 59, 59)))
    out.append((now.strftime("%Y-%m"), now))
    return out


def overdue_backlog_trend(engine: Engine, f: CaseFilter, months: int = 12, now: datetime | None = None
                          ) -> pd.DataFrame:
    """month, month_end, open_overdue: the cases open and past due at each of the last ``months`` month ends
    (the current month: at ``now``).  Same filters as the rest of the backlog (no period).

    Only a case still open now (~1 %), or one closed late (``late_hours > 0``, ~7 %) after the first month end,
    can have been open and overdue at a month end; the two groups are read once each, with their own indexes
    (``ix_cases_open``; ``ix_cases_late``, or the township's index below county level), and each month end is
    one ``SUM(CASE …)`` column over them.  The closed-late part costs one table read per late case of the
    region (~72,000 for the city at full scale); ``late_hours > 0`` is written with the literal so that a
    partial index on ``(closed_at, due_at, …) WHERE late_hours > 0`` serves it as a range of the last months.
    Closed cases always have ``closed_at`` and open ones never (the data contract), so the parts are disjoint."""
    now = now or now_local()
    if months < 1:
        return pd.DataFrame(columns=["month", "month_end", "open_overdue"])
    r = resolve(engine, f)
    points = month_end_points(months, now)
    def sums(condition):
        return [func.coalesce(func.sum(sql_case((condition(at), 1), else_=0)), 0).label(f"p{i}")
                for i, (_m, at) in enumerate(points)]

    last = max(at for _m, at in points)
    first = min(at for _m, at in points)
    # A case open now has no closing time (the data contract): its test at a month end needs only the report and
    # due times, which ix_cases_open_by_due holds; with the closing time every open case was read from the table
    # (107,100 at the city of skewed-full: 370 ms of CPU).
    still_open = select(*sums(open_now_overdue_at_condition)).where(*_open_conditions(r, now))
    # Closed late: ix_cases_late (late_hours > 0, ~7 % of cases) unless the region is a township or smaller,
    # whose own index is narrower; the due time is hidden from the planner (ix_cases_due would read every case).
    closed_late = select(*sums(open_overdue_at_condition)).where(
        cases.c.late_hours > literal_column("0"), cases.c.closed_at > _ts(first),
        no_index(cases.c.due_at) < _ts(last),
        *_filter_conditions(r, now, region_index=r.level not in (None, "province", "city", "county")))
    with engine.connect() as conn:
        a = conn.execute(still_open).one()
        b = conn.execute(closed_late).one()
    rows = [(m, at, int(a[i] or 0) + int(b[i] or 0)) for i, (m, at) in enumerate(points)]
    return pd.DataFrame(rows, columns=["month", "month_end", "open_overdue"]).astype({"open_overdue": "int64"})
