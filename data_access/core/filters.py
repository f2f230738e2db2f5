"""The filter objects the queries take, and their translation to SQL.

``CaseFilter`` is what the user chose (plus the jurisdiction they may see);
``Scope`` is only its place (the jurisdiction and the selected region), what
the views that select no cases take: staffing, volunteers, assets and clean
units (which count staff, teams, projects and units, or every case of a
place) and the monthly ranking (whose month is its period).  Their cache key
(ui/data.py) is then only what they read; one that counts by date takes the
period (``CaseFilter.period``) as an argument of its own.  ``resolve`` checks
either against the region tree and the user's scope, so a region outside the
scope can never widen a query, whatever the caller sends.
"""
from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TypeVar

from sqlalchemy import (
    ColumnElement,
    Engine,
    Table,
    and_,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy import case as sql_case

T = TypeVar("T")
Period = tuple[date | None, date | None]  # inclusive report dates (None = open end)
ALL_TIME: Period = (None, None)

from data_access.core.regions import RegionTree, path_column, region_tree
from data_access.core.schema import Timestamp, case_summary, case_summary_county, cases, node_paths, supervisions
from data_access.core.search import normalise, text_condition
from data_access.core.sqlfn import hours_between


@dataclass(frozen=True)
class Scope:
    """A place inside a jurisdiction: what the views that select no cases take instead of a whole CaseFilter
    (``CaseFilter.scope``), so that a category, status or search of the user changes neither their answer nor
    their cache key."""

    scope_code: str | None = None  # the user's jurisdiction (None = the whole tree: admins, scripts)
    region_code: str | None = None  # a region, grid or micro-grid code inside the scope (None = the scope)

    def at(self, region_code: str | None) -> Scope:
        """The same jurisdiction, another region in it (``resolve`` still checks that it lies inside)."""
        return Scope(self.scope_code, region_code)

    def cases(self, period: Period = ALL_TIME) -> CaseFilter:
        """Every case of the place (reported in ``period``): no other condition."""
        return CaseFilter(scope_code=self.scope_code, region_code=self.region_code, date_from=period[0],
                          date_to=period[1])


@dataclass(frozen=True)
class CaseFilter:
    """A selection of cases.  Empty tuples mean "all"; dates are inclusive report dates."""

    scope_code: str | None = None  # the user's jurisdiction (None = the whole tree: admins, scripts)
    region_code: str | None = None  # a region, grid or micro-grid code inside the scope
    date_from: date | None = None
    date_to: date | None = None
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    resolution_levels: tuple[str, ...] = ()
    satisfaction: tuple[int, ...] = ()  # satisfaction scores 1–5 (cases without a score never match)
    overdue: str = ""  # "" all; "open" open and past due; "late" closed late; "any" either (OVERDUE_KINDS)
    supervised_only: bool = False
    text: str = ""  # free text over case number, title and description (see search.py)

    @property
    def scope(self) -> Scope:
        """The place of the filter alone (jurisdiction and region)."""
        return Scope(self.scope_code, self.region_code)

    @property
    def period(self) -> Period:
        """(date_from, date_to)."""
        return self.date_from, self.date_to

    def with_(self, **changes) -> CaseFilter:
        """A copy with ``changes``.  The jurisdiction can be set on a filter without one, never swapped or
        dropped: a page that narrows the frame's filter cannot widen what the user may see."""
        if "scope_code" in changes and self.scope_code is not None and changes["scope_code"] != self.scope_code:
            raise OutOfScope(f"scope_code: a filter for {self.scope_code} cannot be moved to {changes['scope_code']}")
        return replace(self, **changes)

    def previous_period(self) -> CaseFilter | None:
        """The same filter over the period of equal length just before (None without dates)."""
        if self.date_from is None or self.date_to is None:
            return None
        days = (self.date_to - self.date_from).days + 1
        return self.with_(date_from=self.date_from - timedelta(days=days),
                          date_to=self.date_from - timedelta(days=1))


@dataclass(frozen=True)
class Resolved:
    """A filter checked against the tree: the effective node and its level."""

    f: CaseFilter
    code: str | None  # None = every root (whole tree)
    level: str | None
    tree: RegionTree = field(compare=False, hash=False)


class OutOfScope(ValueError):
    """The requested region lies outside the user's jurisdiction."""


# Column of ``cases`` holding the ancestor of each level.
CASE_LEVEL_COLUMN = {
    "province": cases.c.province_code,
    "city": cases.c.city_code,
    "county": cases.c.county_code,
    "township": cases.c.township_code,
    "village": cases.c.village_code,
    "grid": cases.c.top_grid_code,
    "micro_grid": cases.c.grid_code,
}
SUMMARY_LEVELS = ("province", "city", "county", "township")
COUNTY_SUMMARY_LEVELS = ("province", "city", "county")


def resolve(engine: Engine, f: CaseFilter | Scope) -> Resolved:
    """Check ``f`` against the tree and the scope; an unknown or foreign region falls back to the scope.
    A :class:`Scope` resolves as the filter of every case of its place (``Resolved.f`` is always a CaseFilter)."""
    if isinstance(f, Scope):
        f = f.cases()
    tree = region_tree(engine)
    if f.scope_code is not None and f.scope_code not in tree.nodes:
        raise OutOfScope(f.scope_code)  # a jurisdiction gone from the data sees nothing, never everything
    code = f.region_code or f.scope_code
    if code is not None and code not in tree.nodes:
        code = f.scope_code if f.scope_code in tree.nodes else None
    if code is not None and f.scope_code is not None and not tree.contains(f.scope_code, code):
        raise OutOfScope(code)
    level = tree.nodes[code].level if code else None
    return Resolved(f, code, level, tree)


def _day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def case_conditions(r: Resolved, now: datetime, *, dates: tuple[date | None, date | None] | None = None,
                    text_per_row: bool = False, text_common: bool = False) -> list[ColumnElement]:
    """WHERE conditions on ``cases`` for the resolved filter (``dates`` overrides the period;
    ``text_per_row``: the search tested on each row read; ``text_common``: what search.reading_every_match answered
    for a query that reads every match; see search.text_condition)."""
    f = r.f
    conds: list[ColumnElement] = []
    if r.code is not None:
        conds.append(CASE_LEVEL_COLUMN[r.level] == r.code)
    d_from, d_to = dates if dates is not None else (f.date_from, f.date_to)
    if d_from is not None:
        conds.append(cases.c.reported_at >= _day_start(d_from))
    if d_to is not None:
        conds.append(cases.c.reported_at < _day_start(d_to + timedelta(days=1)))
    if f.categories:
        conds.append(cases.c.category.in_(f.categories))
    if f.statuses:
        conds.append(cases.c.status.in_(f.statuses))
    if f.sources:
        conds.append(cases.c.source.in_(f.sources))
    if f.departments:
        conds.append(cases.c.department_code.in_(f.departments))
    if f.resolution_levels:
        conds.append(cases.c.resolution_level.in_(f.resolution_levels))
    if f.overdue:
        conds.append(overdue_condition(f.overdue, now))
    if f.supervised_only:
        # IN (not a correlated EXISTS): the ~2 % of cases with orders drive the query from the small table.
        conds.append(cases.c.case_no.in_(select(supervisions.c.case_no)))
    if f.satisfaction:
        conds.append(cases.c.satisfaction.in_(f.satisfaction))
    text_cond = text_condition(f.text, per_row=text_per_row, common=text_common)
    if text_cond is not None:
        conds.append(text_cond)
    return conds


def region_condition(r: Resolved, p: Table = node_paths) -> ColumnElement | None:
    """``p`` (``node_paths`` or an alias of it, joined to the rows counted: staff, teams, projects, units) lies at
    or below the resolved region; None = no restriction.  The other half of :func:`case_conditions`' region:
    rows that are not cases find their place through ``node_paths``."""
    if r.code is None:
        return None
    return path_column(p, r.level) == r.code


def open_condition() -> ColumnElement:
    # Rendered with the literal (not a bound parameter) so that SQLite can prove the query implies the WHERE
    # clause of the open-case partial indexes (ix_cases_open, ix_cases_open_by_due; schema.py); with
    # ``status <> ?`` it scans by report date.
    return cases.c.status.op("<>")(literal_column("'closed'"))


def open_overdue_condition(now: datetime) -> ColumnElement:
    """Open and past its due time: the one SQL definition of "open overdue"."""
    return and_(open_condition(), cases.c.due_at < now)


OVERDUE_KINDS = ("open", "late", "any")


def overdue_condition(kind: str, now: datetime) -> ColumnElement:
    """The filter's "overdue" choice: ``open`` — still open and past its due time (the backlog to chase, what
    the workbench offers first); ``late`` — closed after its due time; ``any`` — either."""
    if kind == "open":
        return open_overdue_condition(now)
    if kind == "late":
        return cases.c.closed_late.is_(True)
    if kind == "any":
        return or_(open_overdue_condition(now), cases.c.closed_late.is_(True))
    raise ValueError(f"overdue: {kind!r} is not one of {', '.join(OVERDUE_KINDS)}")


def open_overdue_at_condition(at: datetime) -> ColumnElement:
    """Open at the moment ``at`` (reported by then, not closed by then) and past its due time then: the
    overdue backlog at a past moment (month ends, the backlog trend).  Such a case is either still open
    or was closed late, so a fast query ORs :func:`open_condition` with ``late_hours > 0`` branches."""
    at_lit = literal(at, Timestamp)
    return and_(open_now_overdue_at_condition(at), or_(cases.c.closed_at.is_(None), cases.c.closed_at > at_lit))


def open_now_overdue_at_condition(at: datetime) -> ColumnElement:
    """:func:`open_overdue_at_condition` for a case that is still open now (to be ANDed with
    :func:`open_condition`): such a case has no ``closed_at`` (the data contract: closed ⇔ closed_at set), so it
    was open and overdue at ``at`` when it was reported by then and due before then.  Those two columns are in
    the open-case partial index ix_cases_open_by_due, which then answers without reading the table."""
    at_lit = literal(at, Timestamp)
    return and_(cases.c.reported_at <= at_lit, cases.c.due_at < at_lit)


def overdue_hours_expr(now: datetime) -> ColumnElement:
    """Hours past the due time: until ``now`` for an open case, until closing for a closed one.

    Positive means overdue (metrics.py), zero or negative means within the time limit."""
    return sql_case((open_condition(), open_overdue_hours_expr(now)), else_=cases.c.late_hours)


def open_overdue_hours_expr(now: datetime) -> ColumnElement:
    """Hours from the due time to ``now`` (meaningful for open cases)."""
    return hours_between(cases.c.due_at, literal(now, Timestamp))


def summary_usable(r: Resolved, group_level: str | None = None) -> bool:
    """Can ``case_summary`` answer this filter (and grouping by ``group_level``)?"""
    f = r.f
    if (f.sources or f.departments or f.satisfaction or f.overdue or f.supervised_only
            or normalise(f.text)):
        return False
    if r.code is not None and r.level not in SUMMARY_LEVELS:
        return False
    return not (group_level is not None and group_level not in SUMMARY_LEVELS)


def summary_table(r: Resolved, group_level: str | None = None) -> Table:
    """The coarsest summary that can answer: county level for city/county views, else township level."""
    if (r.code is None or r.level in COUNTY_SUMMARY_LEVELS) and (
            group_level is None or group_level in COUNTY_SUMMARY_LEVELS):
        return case_summary_county
    return case_summary


def summary_conditions(r: Resolved, months: tuple[str, str], table: Table) -> list[ColumnElement]:
    f, c = r.f, table.c
    conds: list[ColumnElement] = [c.month >= months[0], c.month <= months[1]]
    if r.code is not None:
        conds.append(c[f"{r.level}_code"] == r.code)
    if f.categories:
        conds.append(c.category.in_(f.categories))
    # a roll-up answers only the filters it has a column for (summary_usable / the caller decides which)
    if f.statuses and "status" in c:
        conds.append(c.status.in_(f.statuses))
    if f.resolution_levels and "resolution_level" in c:
        conds.append(c.resolution_level.in_(f.resolution_levels))
    if f.departments and "department_code" in c:
        conds.append(c.department_code.in_(f.departments))
    return conds


def period_parts(r: Resolved, usable: bool, summary_part: Callable[[tuple[str, str]], T],
                 raw_part: Callable[[tuple[date | None, date | None] | None], T]) -> list[T]:
    """The partial answers of a question the roll-ups keep: whole months of the period from a roll-up
    (``summary_part(months)``), the days at its edges from ``cases`` (``raw_part(days)``); everything from
    ``cases`` (``raw_part(None)``: the filter's own period) when the roll-up cannot answer (``usable``).
    Empty parts are left out; the caller adds the rest up."""
    if not usable:
        parts = [raw_part(None)]
    else:
        months, edges = split_period(r.f.date_from, r.f.date_to)
        parts = ([summary_part(months)] if months is not None else []) + [raw_part(d) for d in edges]
    return [p for p in parts if len(p)]


def split_period(d_from: date | None, d_to: date | None
                 ) -> tuple[tuple[str, str] | None, list[tuple[date | None, date | None]]]:
    """Split a report period into whole months (for the summary) and edge day-ranges (for raw queries).

    Returns ``(months, edges)``: ``months`` is an inclusive ('YYYY-MM', 'YYYY-MM') range or None.
    An open end (None) is served by the summary entirely.
    """
    first_full = d_from
    if d_from is not None and d_from.day != 1:
        first_full = date(d_from.year + (d_from.month == 12), d_from.month % 12 + 1, 1)
    last_full = d_to
    if d_to is not None and d_to.day != calendar.monthrange(d_to.year, d_to.month)[1]:
        last_full = date(d_to.year, d_to.month, 1) - timedelta(days=1)
    if first_full is not None and last_full is not None and first_full > last_full:
        return None, [(d_from, d_to)]
    months = (first_full.strftime("%Y-%m") if first_full else "0000-00",
              last_full.strftime("%Y-%m") if last_full else "9999-99")
    edges: list[tuple[date | None, date | None]] = []
    if d_from is not None and first_full != d_from:
        edges.append((d_from, first_full - timedelta(days=1)))
    if d_to is not None and last_full != d_to:
        edges.append((last_full + timedelta(days=1), d_to))
    return months, edges


