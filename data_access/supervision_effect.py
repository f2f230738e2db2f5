"""Questions the supervision centre asks about the effect of supervision orders (督办成效).

Definitions:

- **orders in the selection**: supervision orders *issued* in the period (not the cases reported in it: an
  order on last year's case belongs to the month it was issued, which is what a supervisor is accountable
  for), on cases in the region and jurisdiction and matching the filter's other case filters (category,
  status, department …).
- per **grade** (普通 normal / 黄牌 yellow / 红牌 red): **orders**; **cases** (distinct cases with such an
  order); **closed after** = orders whose case was closed at or after the order was issued; **hours to
  close** = hours from the order to the case's close over those orders (median from the hours histogram
  ``metrics.HOUR_BUCKET_EDGES`` like every median of the dashboard, and mean); **still open** = orders whose
  case is still open; **past deadline** = orders not resolved and past their deadline now, plus orders
  resolved after their deadline; **share past deadline** = past deadline ÷ orders.
- **repeat orders** (重复督办): a case with two or more orders in the selection; its **grade** is the worst
  of them (red > yellow > normal).
- **orders past their deadline** (督办逾期): open (unresolved) orders whose deadline has passed — days past
  = now − deadline — and orders resolved late — days past = resolved − deadline.

The supervisions table is small (tens of thousands of orders); every query joins it with ``cases`` by
``case_no`` and applies the jurisdiction through ``resolve`` / ``case_conditions``.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import ColumnElement, Engine, and_, func, literal, or_, select
from sqlalchemy import case as sql_case

from .cases import GRADES, add_place_names
from .clock import now_local
from .filters import CaseFilter, case_conditions, open_condition, resolve
from .metrics import BUCKET_COLUMNS, hour_bucket_sql, median_from_histogram, ratio
from .schema import Timestamp, cases, supervisions
from .sqlfn import hours_between

GRADE_COLUMNS = ["grade", "orders", "cases", "closed_after", "median_hours_to_close", "mean_hours_to_close",
                 "still_open", "past_deadline", "share_past_deadline"]
REPEAT_COLUMNS = ["case_no", "title", "orders", "grade", "first_issued", "last_issued", "status"]
PAST_COLUMNS = ["supervision_id", "case_no", "title", "grade", "issued_at", "deadline", "resolved_at", "state",
                "days_past", "status", "issued_by", "grid_name", "village_name", "township_name"]
_GRADE_RANK = sql_case((supervisions.c.grade == "red", 3), (supervisions.c.grade == "yellow", 2), else_=1)


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time())


def _order_conditions(engine: Engine, f: CaseFilter, now: datetime):
    """(resolved filter, WHERE conditions on supervisions ⋈ cases): orders issued in the period on cases in the
    selection (the period is not applied to the report date)."""
    r = resolve(engine, f)
    conds: list[ColumnElement] = case_conditions(r, now, dates=(None, None))
    if f.date_from is not None:
        conds.append(supervisions.c.issued_at >= _day_start(f.date_from))
    if f.date_to is not None:
        conds.append(supervisions.c.issued_at < _day_start(f.date_to + timedelta(days=1)))
    return r, conds


_JOIN = supervisions.join(cases, cases.c.case_no == supervisions.c.case_no)


def _past_deadline(now: datetime) -> ColumnElement:
    s = supervisions.c
    return or_(and_(s.resolved_at.is_(None), s.deadline < literal(now, Timestamp)), s.resolved_at > s.deadline)


def supervision_effect_by_grade(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """One row per grade (normal, yellow, red, always all three): GRADE_COLUMNS (see the module docstring)."""
    now = now or now_local()
    _r, conds = _order_conditions(engine, f, now)
    s, c = supervisions.c, cases.c
    closed_after = and_(c.status == "closed", c.closed_at >= s.issued_at)
    hours = hours_between(s.issued_at, c.closed_at)
    agg = (select(s.grade, func.count().label("orders"), func.count(func.distinct(s.case_no)).label("cases"),
                  func.coalesce(func.sum(sql_case((closed_after, 1), else_=0)), 0).label("closed_after"),
                  func.sum(sql_case((closed_after, hours), else_=None)).label("sum_hours"),
                  func.coalesce(func.sum(sql_case((open_condition(), 1), else_=0)), 0).label("still_open"),
                  func.coalesce(func.sum(sql_case((_past_deadline(now), 1), else_=0)), 0).label("past_deadline"))
           .select_from(_JOIN).where(*conds).group_by(s.grade))
    b = hour_bucket_sql(hours)
    hist = (select(s.grade, b.label("b"), func.count().label("n")).select_from(_JOIN)
            .where(*conds, closed_after).group_by(s.grade, b))
    with engine.connect() as conn:
        rows = {row["grade"]: row for row in conn.execute(agg).mappings()}
        buckets: dict[str, list[int]] = {g: [0] * len(BUCKET_COLUMNS) for g in GRADES}
        for grade, bucket, n in conn.execute(hist):
            if grade in buckets:
                buckets[grade][int(bucket)] += int(n)
    out = []
    for g in GRADES:
        row = rows.get(g)
        orders = int(row["orders"]) if row else 0
        closed = int(row["closed_after"]) if row else 0
        past = int(row["past_deadline"]) if row else 0
        out.append({"grade": g, "orders": orders, "cases": int(row["cases"]) if row else 0, "closed_after": closed,
                    "median_hours_to_close": median_from_histogram(buckets[g]),
                    "mean_hours_to_close": ratio(row["sum_hours"], closed) if row and closed else None,
                    "still_open": int(row["still_open"]) if row else 0, "past_deadline": past,
                    "share_past_deadline": ratio(past, orders)})
    df = pd.DataFrame(out, columns=GRADE_COLUMNS)
    for col in ("median_hours_to_close", "mean_hours_to_close", "share_past_deadline"):
        df[col] = df[col].astype("float64")
    return df


def _repeat_stmt(conds):
    s = supervisions.c
    return (select(s.case_no, cases.c.title, func.count().label("orders"), func.max(_GRADE_RANK).label("rank"),
                   func.min(s.issued_at).label("first_issued"), func.max(s.issued_at).label("last_issued"),
                   cases.c.status)
            .select_from(_JOIN).where(*conds).group_by(s.case_no, cases.c.title, cases.c.status)
            .having(func.count() >= 2))


def repeat_orders(engine: Engine, f: CaseFilter, limit: int = 100, now: datetime | None = None) -> pd.DataFrame:
    """Cases with two or more orders in the selection (REPEAT_COLUMNS), most orders first, then latest."""
    now = now or now_local()
    _r, conds = _order_conditions(engine, f, now)
    sub = _repeat_stmt(conds).subquery()
    stmt = select(sub).order_by(sub.c.orders.desc(), sub.c.last_issued.desc(), sub.c.case_no).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    df = pd.DataFrame([{**{k: row[k] for k in REPEAT_COLUMNS if k != "grade"}, "grade": GRADES[int(row["rank"]) - 1]}
                       for row in rows], columns=REPEAT_COLUMNS)
    df["orders"] = df["orders"].astype("int64")
    return df


def repeat_order_count(engine: Engine, f: CaseFilter, now: datetime | None = None) -> int:
    """How many cases have two or more orders in the selection."""
    now = now or now_local()
    _r, conds = _order_conditions(engine, f, now)
    sub = _repeat_stmt(conds).subquery()
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(sub)).scalar_one())


def orders_past_deadline(engine: Engine, f: CaseFilter, now: datetime | None = None, limit: int = 200
                         ) -> pd.DataFrame:
    """Orders in the selection past their deadline (PAST_COLUMNS), newest order first: ``state`` 'open' (not
    resolved; days_past until now) or 'resolved_late' (days_past until it was resolved)."""
    now = now or now_local()
    r, conds = _order_conditions(engine, f, now)
    s = supervisions.c
    now_lit = literal(now, Timestamp)
    state = sql_case((s.resolved_at.is_(None), "open"), else_="resolved_late")
    days = hours_between(s.deadline, func.coalesce(s.resolved_at, now_lit)) / 24.0
    stmt = (select(s.supervision_id, s.case_no, cases.c.title, s.grade, s.issued_at, s.deadline, s.resolved_at,
                   state.label("state"), days.label("days_past"), cases.c.status, s.issued_by, cases.c.grid_code)
            .select_from(_JOIN).where(*conds, _past_deadline(now))
            .order_by(s.issued_at.desc(), s.supervision_id).limit(limit))
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(stmt).all(), columns=[
            "supervision_id", "case_no", "title", "grade", "issued_at", "deadline", "resolved_at", "state",
            "days_past", "status", "issued_by", "grid_code"])
    df["days_past"] = df["days_past"].astype("float64")
    df = add_place_names(df, r.tree)
    return df[PAST_COLUMNS]
