"""Maintenance of ``case_summary``, the roll-up that keeps the Overview fast.

The summary holds, per report month × township × category × status ×
resolution level, the additive counts the measures in :mod:`metrics` need
(including the hours-to-close histogram).  Whole rebuild after a load; a
slice rebuild (month, township) after any write that touches a case.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, and_, case as sql_case, delete, func, insert, select

from .metrics import BUCKET_COLUMNS, hour_bucket_sql
from .schema import case_summary, case_summary_county, cases

_DIMS = ("report_month", "province_code", "city_code", "county_code", "township_code",
         "category", "status", "resolution_level")


def _summary_select(where=None):
    bucket = hour_bucket_sql(cases.c.hours_to_close).label("b")
    inner = select(
        *[cases.c[d] for d in _DIMS],
        cases.c.on_the_spot,
        cases.c.closed_late,
        cases.c.hours_to_close,
        cases.c.satisfaction,
        bucket,
    )
    if where is not None:
        inner = inner.where(where)
    s = inner.subquery("c")
    closed = s.c.status == "closed"
    cols = [s.c[d] for d in _DIMS]
    measures = [
        func.count().label("n"),
        func.coalesce(func.sum(_when(and_(closed, s.c.on_the_spot), 1)), 0).label("n_on_the_spot"),
        func.coalesce(func.sum(_when(and_(closed, s.c.closed_late), 1)), 0).label("n_closed_late"),
        func.coalesce(func.sum(s.c.hours_to_close), 0.0).label("sum_hours"),
        func.count(s.c.satisfaction).label("n_satisfaction"),
        func.coalesce(func.sum(s.c.satisfaction), 0).label("sum_satisfaction"),
    ] + [
        func.coalesce(func.sum(_when(and_(closed, s.c.b == i), 1)), 0).label(name)
        for i, name in enumerate(BUCKET_COLUMNS)
    ]
    return select(*cols, *measures).group_by(*cols)


def _when(cond, value):
    return sql_case((cond, value), else_=0)


_TARGET_COLS = ["month", "province_code", "city_code", "county_code", "township_code",
                "category", "status", "resolution_level", "n", "n_on_the_spot", "n_closed_late",
                "sum_hours", "n_satisfaction", "sum_satisfaction", *BUCKET_COLUMNS]


_COUNTY_DIMS = ["month", "province_code", "city_code", "county_code", "category", "status", "resolution_level"]
_MEASURES = [c for c in _TARGET_COLS if c not in _DIMS and c != "month"]


def _county_select(where=None):
    s = case_summary.c
    stmt = select(*[s[d] for d in _COUNTY_DIMS], *[func.sum(s[m]) for m in _MEASURES])
    if where is not None:
        stmt = stmt.where(where)
    return stmt.group_by(*[s[d] for d in _COUNTY_DIMS])


def rebuild_county_summary(conn: Connection) -> None:
    """Rebuild ``case_summary_county`` from ``case_summary``."""
    conn.execute(delete(case_summary_county))
    conn.execute(insert(case_summary_county).from_select([*_COUNTY_DIMS, *_MEASURES], _county_select()))


def rebuild_case_summary(conn: Connection) -> int:
    """Rebuild both summaries from ``cases``; returns the township-level row count."""
    conn.execute(delete(case_summary))
    conn.execute(insert(case_summary).from_select(_TARGET_COLS, _summary_select()))
    rebuild_county_summary(conn)
    return conn.execute(select(func.count()).select_from(case_summary)).scalar_one()


def _eq(col, value):
    return col == value if value is not None else col.is_(None)


def refresh_case_summary(conn: Connection, slices: Iterable[tuple[str, str | None, str | None]]) -> None:
    """Rebuild the (report month, county, township) slices touched by a write, in the caller's transaction."""
    slices = sorted(set(slices), key=lambda s: (s[0], s[1] or "", s[2] or ""))
    for month, _county, township in slices:
        t_sum = (case_summary.c.township_code == township) if township is not None \
            else case_summary.c.township_code.is_(None)
        t_case = (cases.c.township_code == township) if township is not None \
            else cases.c.township_code.is_(None)
        conn.execute(delete(case_summary).where(case_summary.c.month == month, t_sum))
        conn.execute(insert(case_summary).from_select(
            _TARGET_COLS, _summary_select(and_(cases.c.report_month == month, t_case))))
    for month, county in sorted({(m, c) for m, c, _t in slices}, key=lambda s: (s[0], s[1] or "")):
        conn.execute(delete(case_summary_county).where(case_summary_county.c.month == month,
                                                       _eq(case_summary_county.c.county_code, county)))
        conn.execute(insert(case_summary_county).from_select(
            [*_COUNTY_DIMS, *_MEASURES],
            _county_select(and_(case_summary.c.month == month, _eq(case_summary.c.county_code, county)))))
