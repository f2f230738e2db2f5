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
- **upgrades by rule** (规则升级): the cases an escalation rule of action 升级 moved one level up
  (``rule_upgrades``), upgraded in the period, on cases in the selection: per rule, **upgrades**, **closed
  after** (the case closed at or after the upgrade) and **still open**.
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

from data_access.queries.cases import GRADES, add_place_names
from data_access.core.clock import now_local
from data_access.core.counting import rows_of
from data_access.core.filters import CaseFilter, case_conditions, open_condition, resolve
from data_access.core.metrics import BUCKET_COLUMNS, hour_bucket_sql, median_from_histogram, ratio
from data_access.core.schema import Timestamp, cases, escalation_rules, rule_upgrades, supervisions
from data_access.core.sqlfn import hours_between, no_index_on

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
    return r, [*(no_index_on(c, cases) for c in case_conditions(r, now, dates=(None, None))), *_issued_conditions(f)]


def _issued_conditions(f: CaseFilter) -> list[ColumnElement]:
    conds = []
    if f.date_from is not None:
        conds.append(supervisions.c.issued_at >= _day_start(f.date_from))
    if f.date_to is not None:
        conds.append(supervisions.c.issued_at < _day_start(f.date_to + timedelta(days=1)))
    return conds


_JOIN = supervisions.join(cases, cases.c.case_no == supervisions.c.case_no)


def _past_deadline(now: datetime) -> ColumnElement:
    s = supervisions.c
    return or_(and_(s.resolved_at.is_(None), s.deadline < literal(now, Timestamp)), s.resolved_at > s.deadline)


ISSUERS = ("source", "hand", "rule")  # the source platform's orders, the dashboard's by hand, by an escalation rule


def issuer_sql() -> ColumnElement:
    """How an order was issued (ISSUERS): by an escalation rule (``rule_id``), by hand in the dashboard
    (``origin`` 'app'), or by the source platform."""
    s = supervisions.c
    return sql_case((s.rule_id.is_not(None), "rule"), (s.origin == "app", "hand"), else_="source")


def supervision_effect(engine: Engine, f: CaseFilter, now: datetime | None = None
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The orders' effect by grade and by way of issuing, from one pass over the orders (the orders view shows
    both): (:func:`supervision_effect_by_grade`'s frame, :func:`supervision_effect_by_issuer`'s frame)."""
    parts = _effect_parts(engine, f, now)
    return _effect_table(parts, "k1", "first1", GRADES, "grade"), _effect_table(parts, "k2", "first2", ISSUERS,
                                                                                "issuer")


def supervision_effect_by_grade(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """One row per grade (normal, yellow, red, always all three): GRADE_COLUMNS (see the module docstring)."""
    return supervision_effect(engine, f, now)[0]


def supervision_effect_by_issuer(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """The same measures per way of issuing (ISSUERS, always all three: the source platform, by hand, by an
    escalation rule), so that automatic orders are told apart from hand-issued ones."""
    return supervision_effect(engine, f, now)[1]


UPGRADE_COLUMNS = ["rule_id", "rule", "upgrades", "closed_after", "still_open"]


def rule_upgrades_by_rule(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """The upgrades (升级) escalation rules made on the selection's cases in the period, one row per rule that
    made any: UPGRADE_COLUMNS, by rule id."""
    now = now or now_local()
    r = resolve(engine, f)
    u, c = rule_upgrades.c, cases.c
    conds = [*(no_index_on(x, cases) for x in case_conditions(r, now, dates=(None, None)))]
    if f.date_from is not None:
        conds.append(u.upgraded_at >= _day_start(f.date_from))
    if f.date_to is not None:
        conds.append(u.upgraded_at < _day_start(f.date_to + timedelta(days=1)))
    stmt = (select(u.rule_id, escalation_rules.c.name, func.count(),
                   func.sum(sql_case((and_(c.status == "closed", c.closed_at >= u.upgraded_at), 1), else_=0)),
                   func.sum(sql_case((open_condition(), 1), else_=0)))
            .select_from(rule_upgrades.join(cases, c.case_no == u.case_no)
                         .outerjoin(escalation_rules, escalation_rules.c.rule_id == u.rule_id))
            .where(*conds).group_by(u.rule_id, escalation_rules.c.name).order_by(u.rule_id))
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return pd.DataFrame([(int(a), b, int(n), int(cl or 0), int(op or 0)) for a, b, n, cl, op in rows],
                        columns=UPGRADE_COLUMNS)


def _effect_parts(engine: Engine, f: CaseFilter, now: datetime | None) -> pd.DataFrame:
    """The orders of the selection summed by grade (``k1``) × way of issuing (``k2``) × hours bucket: orders,
    each key's distinct cases (``first1``, ``first2``), closed after, hours to close, still open, past deadline.

    One pass over the orders: per order its flags and hours (an inner query, fenced with OFFSET 0 so that the
    hours are computed once, not once per histogram bucket), then sums by the keys × hours bucket; distinct
    cases are counted as each case's first order of a key (ROW_NUMBER per key), which keeps every sum additive
    over the other key (:func:`_effect_table` adds them up per key)."""
    now = now or now_local()
    _r, conds = _order_conditions(engine, f, now)
    s, c = supervisions.c, cases.c
    closed_after = and_(c.status == "closed", c.closed_at >= s.issued_at)
    grade, issuer = s.grade, issuer_sql()

    def first(key):
        return sql_case((func.row_number().over(partition_by=[s.case_no, key], order_by=s.supervision_id) == 1, 1),
                        else_=0)

    per_order = (select(grade.label("k1"), issuer.label("k2"), first(grade).label("first1"),
                        first(issuer).label("first2"),
                        sql_case((closed_after, 1), else_=0).label("closed_after"),
                        sql_case((closed_after, hours_between(s.issued_at, c.closed_at)), else_=None).label("hours"),
                        sql_case((open_condition(), 1), else_=0).label("still_open"),
                        sql_case((_past_deadline(now), 1), else_=0).label("past"))
                 .select_from(_JOIN).where(*conds).offset(0).subquery("o"))
    o = per_order.c
    b = sql_case((o.hours.is_(None), -1), else_=hour_bucket_sql(o.hours))
    stmt = (select(o.k1, o.k2, b.label("b"), func.count().label("orders"), func.sum(o.first1).label("first1"),
                   func.sum(o.first2).label("first2"), func.sum(o.closed_after).label("closed_after"),
                   func.sum(o.hours).label("sum_hours"), func.sum(o.still_open).label("still_open"),
                   func.sum(o.past).label("past_deadline"))
            .group_by(o.k1, o.k2, b))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(stmt).all(), columns=[
            "k1", "k2", "b", "orders", "first1", "first2", "closed_after", "sum_hours", "still_open",
            "past_deadline"])


def _effect_table(parts: pd.DataFrame, key: str, first: str, keys: tuple[str, ...], name: str) -> pd.DataFrame:
    """One row per value of ``key`` (``keys``, always all): orders, cases, closed after, hours to close …"""
    out = []
    for g in keys:
        part = parts[parts[key] == g]
        hist = [0] * len(BUCKET_COLUMNS)
        for bucket, n in zip(part["b"], part["orders"]):
            if bucket >= 0:
                hist[int(bucket)] += int(n)
        orders, closed = int(part["orders"].sum()), int(part["closed_after"].sum())
        past = int(part["past_deadline"].sum())
        out.append({name: g, "orders": orders, "cases": int(part[first].sum()), "closed_after": closed,
                    "median_hours_to_close": median_from_histogram(hist),
                    "mean_hours_to_close": ratio(part["sum_hours"].dropna().sum(), closed),
                    "still_open": int(part["still_open"].sum()), "past_deadline": past,
                    "share_past_deadline": ratio(past, orders)})
    df = pd.DataFrame(out, columns=[name, *GRADE_COLUMNS[1:]])
    for col in ("median_hours_to_close", "mean_hours_to_close", "share_past_deadline"):
        df[col] = df[col].astype("float64")
    return df


def _repeat_stmt(f: CaseFilter, r, now: datetime):
    """Cases with ≥ 2 orders in the period and in the selection.  The orders are grouped first (the case
    conditions are the same for every order of a case), so only the few candidate cases are looked up."""
    s = supervisions.c
    per_case = (select(s.case_no, func.count().label("orders"), func.max(_GRADE_RANK).label("rank"),
                       func.min(s.issued_at).label("first_issued"), func.max(s.issued_at).label("last_issued"))
                .where(*_issued_conditions(f)).group_by(s.case_no).having(func.count() >= 2).subquery("rc"))
    return (select(per_case, cases.c.title, cases.c.status)
            .select_from(per_case.join(cases, cases.c.case_no == per_case.c.case_no))
            .where(*case_conditions(r, now, dates=(None, None))))


REPEAT_ROWS = 100  # the repeat-order list shows the first 100 (ui/capped.py offers the rest)
PAST_ROWS = 200  # the orders-past-deadline list shows the newest 200 (ui/capped.py offers the rest)


def repeat_orders(engine: Engine, f: CaseFilter, limit: int | None = REPEAT_ROWS, now: datetime | None = None,
                  count: bool = False) -> pd.DataFrame | int:
    """Cases with two or more orders in the selection (REPEAT_COLUMNS), most orders first, then latest.
    With ``count``: how many rows the whole list has (an int), through the same statement (ui/capped.py)."""
    now = now or now_local()
    sub = _repeat_stmt(f, resolve(engine, f), now).subquery()
    stmt = select(sub).order_by(sub.c.orders.desc(), sub.c.last_issued.desc(), sub.c.case_no)
    with engine.connect() as conn:
        if count:
            return int(conn.execute(rows_of(stmt)).scalar_one())
        rows = conn.execute(stmt.limit(limit)).mappings().all()
    df = pd.DataFrame([{**{k: row[k] for k in REPEAT_COLUMNS if k != "grade"}, "grade": GRADES[int(row["rank"]) - 1]}
                       for row in rows], columns=REPEAT_COLUMNS)
    df["orders"] = df["orders"].astype("int64")
    return df


def repeat_order_count(engine: Engine, f: CaseFilter, now: datetime | None = None) -> int:
    """How many cases have two or more orders in the selection: the length of :func:`repeat_orders`' list."""
    return int(repeat_orders(engine, f, now=now, count=True))


def orders_past_deadline(engine: Engine, f: CaseFilter, now: datetime | None = None, limit: int | None = PAST_ROWS,
                         count: bool = False) -> pd.DataFrame | int:
    """Orders in the selection past their deadline (PAST_COLUMNS), newest order first: ``state`` 'open' (not
    resolved; days_past until now) or 'resolved_late' (days_past until it was resolved).
    With ``count``: how many rows the whole list has (an int), through the same statement (ui/capped.py)."""
    now = now or now_local()
    r, conds = _order_conditions(engine, f, now)
    s = supervisions.c
    now_lit = literal(now, Timestamp)
    state = sql_case((s.resolved_at.is_(None), "open"), else_="resolved_late")
    days = hours_between(s.deadline, func.coalesce(s.resolved_at, now_lit)) / 24.0
    stmt = (select(s.supervision_id, s.case_no, cases.c.title, s.grade, s.issued_at, s.deadline, s.resolved_at,
                   state.label("state"), days.label("days_past"), cases.c.status, s.issued_by, cases.c.grid_code)
            .select_from(_JOIN).where(*conds, _past_deadline(now))
            .order_by(s.issued_at.desc(), s.supervision_id))
    with engine.connect() as conn:
        if count:
            return int(conn.execute(rows_of(stmt)).scalar_one())
        df = pd.DataFrame(conn.execute(stmt.limit(limit)).all(), columns=[
            "supervision_id", "case_no", "title", "grade", "issued_at", "deadline", "resolved_at", "state",
            "days_past", "status", "issued_by", "grid_code"])
    df["days_past"] = df["days_past"].astype("float64")
    df = add_place_names(df, r.tree)
    return df[PAST_COLUMNS]
