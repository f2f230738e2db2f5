"""Monthly ranking and bulletin (一月一点评、一月一排名、一月一通报).

For one report month and one level (the counties, townships or villages under a chosen parent inside the
user's jurisdiction) every unit gets the measures below, a composite score and a rank; the bulletin adds the
parent's headline numbers, the units named for their overdue backlog and the red-card orders still open.

Definitions (the measures are those of :mod:`data_access.core.metrics`):

- **cut-off** (数据截至): a month's figures are fixed at 24:00 of day ``GOV_BULLETIN_CUTOFF_DAY`` (default 5) of
  the next month (:func:`cutoff_at`): a case closed after the cut-off counts as not closed in that month's
  ranking and bulletin, so November's bulletin reads the same whether it is printed on 8 December or in
  March.  Before the cut-off the status is as of now and the figures are provisional (``Bulletin.final``
  False).  Until then a unit's numbers for a month are the Overview's; after it, fewer closures by as many as
  were closed late after the cut-off (:func:`_closed_after`, subtracted from the roll-up's counts; so are their
  resolved and rated-4–5 counts: a case closed after the cut-off is neither resolved nor rated in that month).
  Acceptance is counted as of now (the response rate): a case accepted after the cut-off is rare (the 受理 limit
  is a tenth of the allowed time) and is not subtracted; the open cases not accepted and past their 受理 limit
  are counted as of now too (core/counting.unaccepted_late, the Overview's count).

- **cases**: cases of the unit *reported* in the month.  **closed**: of those, ``status = 'closed'``.
  **closure rate** = closed ÷ cases.  **on time**: closed and not closed late (``closed_at <= due_at``);
  **on-time rate** = on time ÷ closed.  **satisfaction**: mean score (1–5) of the month's scored cases.
- **end of the month** ("as of"): the month's last second, ``YYYY-MM-<last day> 23:59:59``, or now if that
  is earlier (the month is still running).
- **overdue backlog** (超期积压) of a unit for month M: the unit's cases of *any* report month that were open
  at the end of M and past their due time then (``filters.open_overdue_at_condition``): reported by then,
  not closed by then (``closed_at`` NULL or later), ``due_at`` before it.  A case closed after the end of M
  but due inside it counts; a case closed before the end of M does not.  Such a case is either still open
  now (partial index ``ix_cases_open_by_due``) or closed late (``late_hours > 0``, partial index
  ``ix_cases_late_closed``), so the count is the sum of those two index-friendly, disjoint branches instead of
  a scan of every case (each written so that its index is the planner's only sensible path, whatever its
  statistics: ``python -m bench plans``).
- **components** of the score, each in [0, 1]:
  closure = the LOWER bound of the 95 % Wilson interval of closed ÷ cases;
  on time = the LOWER bound of the 95 % Wilson interval of on time ÷ closed;
  backlog = 1 − backlog ÷ (backlog + cases of the month);
  satisfaction = (mean − 1) ÷ 4;
  response, resolution, satisfaction rate (三率, metrics.py) = the LOWER bound of the 95 % Wilson interval of
  accepted in time ÷ (accepted + open, not accepted, past the 受理 limit), resolved ÷ cases, rated 4–5 ÷ rated.
  The Wilson lower bound (z = 1.96) is what keeps a unit with 3 cases, all closed on time, from topping the
  table: 3 of 3 has a lower bound of 0.44, 95 of 100 one of 0.89.  The table also shows the point
  estimates and both bounds.
- **score** = Σ wᵢ·componentᵢ with the weights of :class:`ScoreWeights` (default closure 0.4, on time 0.3,
  backlog 0.2, satisfaction 0.1, and 0 for the three rates, which a user may weigh in), normalised by their sum.  A component that cannot be computed (no closed
  case → no on-time rate; no scored case → no satisfaction) is left out and the remaining weights are
  normalised again, so a unit is neither rewarded nor punished for a measure it has no data for.
- **ranked**: a unit with at least ``min_cases`` cases in the month (at least 1) and a score.  The others are
  listed (rank NULL, ``reason`` = ``too_few_cases`` / ``no_score``) but not ranked.
- **minimum cases** by default (``min_cases=None``, :func:`auto_min_cases`): the lower quartile of the month's
  case counts of the units at that level that had any case, kept within [5, 30].  A fixed 30 ranked 1 of the
  30 townships of a county whose townships report 2–31 cases a month; the quartile ranks about three units
  in four at every level and in every month, a floor of 5 keeps a rate of 2 or 3 cases out of the table and
  the cap of 30 is the old fixed rule for units that are large anyway.  Each month gets its own minimum, so a
  unit's previous rank is the rank the previous month's bulletin showed.
  **rank**: 1 = best score; equal scores share a rank (1, 2, 2, 4).
- **rank change** = previous month's rank − this month's rank (positive = moved up); NULL when the unit is not
  ranked in one of the two months.
- **named for overdue backlog** (超期积压点名): the ``named_top_n`` units (default 5) with the largest backlog at
  the end of the month, only units with a backlog > 0, and any unit tied with the last of them.
- **red-card orders** (红牌督办): orders of grade ``red`` on cases in the parent's area, issued by the end of the
  month and not resolved by then (``resolved_at`` NULL or later); days past deadline = (end of month −
  deadline) in days, negative while the deadline is still ahead.

Units: every child of the parent at the chosen level (also those without a case).  The jurisdiction is
enforced by ``resolve``: a parent outside ``scope.scope_code`` raises :class:`~data_access.core.filters.OutOfScope`.
The ranking and the bulletin take a :class:`~data_access.core.filters.Scope` (the jurisdiction and the region),
not a whole filter: no period or other filter applies (the month is the period).  Counts of county and
township units come from the ``case_summary`` roll-ups, of village units straight from ``cases`` (indexed by
the parent's code and ``reported_at``).
"""
from __future__ import annotations

import calendar
import math
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy import case as sql_case
from sqlalchemy.sql.visitors import replacement_traverse

from data_access.core.clock import now_local
from data_access.core.filters import (
    CASE_LEVEL_COLUMN,
    Resolved,
    Scope,
    case_conditions,
    open_condition,
    open_now_overdue_at_condition,
    open_overdue_at_condition,
    resolve,
)
from data_access.core.metrics import (
    CaseKpis,
    closure_rate,
    mean_satisfaction,
    on_time_count,
    on_time_rate,
    resolution_rate,
    response_rate,
    satisfaction_rate,
)
from data_access.core.counting import case_counts, kpis_from_counts, open_unaccepted_sum, unaccepted_late
from data_access.core.regions import LEVEL_ORDER, RegionTree, subtree_codes
from data_access.core.rollups import outcome_flags
from data_access.core.schema import OUTCOME_COLUMNS, Timestamp, case_summary, case_summary_county, cases, supervisions
from data_access.core.sqlfn import no_index

LEVELS = ("county", "township", "village")
WILSON_Z = 1.96
DEFAULT_MIN_CASES = 30  # the cap of the automatic minimum (and the old fixed one)
AUTO_MIN_FLOOR = 5
AUTO_MIN_QUANTILE = 0.25
DEFAULT_NAMED_TOP_N = 5
DEFAULT_CUTOFF_DAY = 5
MAX_RED_ORDERS = 1000
_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

RANKING_COLUMNS = [
    "code", "name", "cases", "closed", "closure_rate", "closure_lo", "closure_hi",
    "on_time", "on_time_rate", "on_time_lo", "on_time_hi", "overdue_backlog", "backlog_component",
    "satisfaction_avg", "n_satisfaction", "response_rate", "resolution_rate", "satisfaction_rate",
    "score", "rank", "prev_rank", "rank_change", "ranked", "reason",
    "prev_overdue_backlog",
]
NAMED_COLUMNS = ["code", "name", "overdue_backlog", "prev_overdue_backlog", "cases", "rank"]
RED_ORDER_COLUMNS = ["supervision_id", "case_no", "title", "status", "unit_code", "unit_name", "issued_at",
                     "deadline", "days_past_deadline"]


def wilson_interval(successes: int, n: int, z: float = WILSON_Z) -> tuple[float, float] | None:
    """The Wilson score interval of ``successes`` out of ``n`` (None when n = 0).

    centre = (p + z²/2n) / (1 + z²/n); half width = z / (1 + z²/n) · √(p(1−p)/n + z²/4n²), p = successes / n."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in 0..{n}, got {successes}")
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the score's components (non-negative, sum > 0; normalised by their sum)."""

    closure: float = 0.4
    on_time: float = 0.3
    backlog: float = 0.2
    satisfaction: float = 0.1
    response: float = 0.0            # the 三率 (metrics.py), each as its Wilson lower bound; off by default
    resolution: float = 0.0
    satisfaction_rate: float = 0.0

    COMPONENTS = ("closure", "on_time", "backlog", "satisfaction", "response", "resolution", "satisfaction_rate")

    def __post_init__(self) -> None:
        for name in self.COMPONENTS:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"weight {name}: must be a finite number ≥ 0, got {v!r}")
        if sum(getattr(self, n) for n in self.COMPONENTS) <= 0:
            raise ValueError("weights: their sum must be > 0")

    def normalised(self) -> dict[str, float]:
        total = float(sum(getattr(self, n) for n in self.COMPONENTS))
        return {n: getattr(self, n) / total for n in self.COMPONENTS}


def cutoff_day() -> int:
    """``GOV_BULLETIN_CUTOFF_DAY``: the day of the next month at whose 24:00 a month's figures are fixed (1–28;
    default 5).  A value that is not a whole number in 1–28 is refused with a message naming the setting."""
    raw = os.environ.get("GOV_BULLETIN_CUTOFF_DAY", "").strip()
    if not raw:
        return DEFAULT_CUTOFF_DAY
    if not raw.isdigit() or not 1 <= int(raw) <= 28:
        raise ValueError(f"GOV_BULLETIN_CUTOFF_DAY: expected a day 1–28 of the next month, got {raw!r}")
    return int(raw)


def cutoff_at(month: str, day: int | None = None) -> datetime:
    """The moment a month's figures are fixed: 24:00 of ``day`` (default :func:`cutoff_day`) of the next month,
    i.e. 00:00 of the day after.  '2026-11', 5 → 2026-12-06 00:00 (数据截至 12月5日24时)."""
    day = cutoff_day() if day is None else day
    _, last, _ = month_bounds(month)
    return datetime.combine(last + timedelta(days=1 + day), datetime.min.time())


def auto_min_cases(case_counts) -> int:
    """The default minimum of cases to be ranked: the lower quartile (the ``floor(0.25·(n−1))``-th smallest,
    an actual count) of the counts > 0, kept within [AUTO_MIN_FLOOR, DEFAULT_MIN_CASES]; the floor when no unit
    had a case.  E.g. counts 0, 3, 6, 11, 20 → active 3, 6, 11, 20 → 3 → 5; 12, 40, 50, 60 → 12."""
    active = sorted(int(c) for c in case_counts if c > 0)
    if not active:
        return AUTO_MIN_FLOOR
    q = active[int(AUTO_MIN_QUANTILE * (len(active) - 1))]
    return min(DEFAULT_MIN_CASES, max(AUTO_MIN_FLOOR, q))


def month_bounds(month: str) -> tuple[date, date, datetime]:
    """First day, last day and last second ('YYYY-MM-DD 23:59:59') of a 'YYYY-MM' month."""
    m = _MONTH_RE.match(month or "")
    if not m:
        raise ValueError(f"month: expected YYYY-MM, got {month!r}")
    y, mo = int(m.group(1)), int(m.group(2))
    last = calendar.monthrange(y, mo)[1]
    return date(y, mo, 1), date(y, mo, last), datetime(y, mo, last, 23, 59, 59)


def previous_month(month: str) -> str:
    first, _, _ = month_bounds(month)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def recent_months(today: date, n: int = 13) -> list[str]:
    """The month of ``today`` and the n-1 before it, newest first ('YYYY-MM'): the months a ranking can be
    asked for (the first is still running; the second, the last complete one, is the usual choice)."""
    out, y, m = [], today.year, today.month
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def unit_levels(region_level: str | None) -> list[str]:
    """The LEVELS whose units can be ranked under a region of ``region_level`` (None: the whole tree), i.e.
    those below it; none under a village or anything lower."""
    if region_level is None:
        return list(LEVELS)
    below = LEVEL_ORDER.index(region_level) if region_level in LEVEL_ORDER else len(LEVEL_ORDER)
    return [lv for lv in LEVELS if lv in LEVEL_ORDER and LEVEL_ORDER.index(lv) > below]


def _resolve_parent(engine: Engine, scope: Scope, level: str, parent_code: str | None) -> Resolved:
    """The parent region, checked against the jurisdiction; ``level`` must lie below it."""
    if level not in LEVELS:
        raise ValueError(f"level: must be one of {', '.join(LEVELS)}, got {level!r}")
    r = resolve(engine, scope)
    if parent_code is not None:
        if parent_code not in r.tree.nodes:
            raise ValueError(f"parent_code: no region {parent_code!r}")
        r = resolve(engine, scope.at(parent_code))
    if r.code is not None and LEVEL_ORDER.index(r.level) >= LEVEL_ORDER.index(level):
        raise ValueError(f"level: {level} units do not lie below the {r.level} {r.code}")
    return r


def _units(tree: RegionTree, r: Resolved, level: str) -> pd.DataFrame:
    if r.code is None:
        codes = [n.code for n in tree.nodes.values() if n.level == level]
    else:
        codes = subtree_codes(tree, r.code, level) or []
    codes = sorted(codes)
    return pd.DataFrame({"code": codes, "name": [tree.nodes[c].name for c in codes]}, dtype=object)


_COUNT_COLS = ["code", "cases", "closed", "closed_late", "n_satisfaction", "sum_satisfaction", *OUTCOME_COLUMNS,
               "open_unaccepted"]
# what a case closed after the cut-off takes away from a month's counts (_minus)
_AFTER_CUTOFF = ("closed", "closed_late", "n_satisfaction", "sum_satisfaction", "n_resolved", "n_satisfied")


def _outcome_sums(t=cases) -> list:
    """The sums of the outcome flags (core/rollups.outcome_flags) over rows of ``cases``, as OUTCOME_COLUMNS."""
    return [func.coalesce(func.sum(flag), 0) for flag in outcome_flags(t)]


def _summary_unit_counts(conn: Connection, r: Resolved, level: str, month: str) -> pd.DataFrame:
    """Whole-month counts per county or township from the roll-up the Overview reads."""
    table = case_summary_county if level == "county" else case_summary
    s = table.c
    unit = s[f"{level}_code"]
    conds = [s.month == month]
    if r.code is not None:
        conds.append(s[f"{r.level}_code"] == r.code)
    stmt = select(
        unit.label("code"),
        func.coalesce(func.sum(s.n), 0),
        func.coalesce(func.sum(sql_case((s.status == "closed", s.n), else_=0)), 0),
        func.coalesce(func.sum(s.n_closed_late), 0),
        func.coalesce(func.sum(s.n_satisfaction), 0),
        func.coalesce(func.sum(s.sum_satisfaction), 0),
        *[func.coalesce(func.sum(s[c]), 0) for c in OUTCOME_COLUMNS],
        open_unaccepted_sum(s),
    ).where(*conds).group_by(unit)
    return pd.DataFrame(conn.execute(stmt).all(), columns=_COUNT_COLS)


def _raw_unit_counts(conn: Connection, r: Resolved, level: str, first: date, last: date, now: datetime
                     ) -> pd.DataFrame:
    """Month counts per village straight from ``cases`` (the parent's code + report time are indexed)."""
    unit = CASE_LEVEL_COLUMN[level]
    closed = cases.c.status == "closed"
    stmt = select(
        unit.label("code"),
        func.count(),
        func.coalesce(func.sum(sql_case((closed, 1), else_=0)), 0),
        func.coalesce(func.sum(sql_case((and_(closed, cases.c.closed_late), 1), else_=0)), 0),
        func.count(cases.c.satisfaction),
        func.coalesce(func.sum(cases.c.satisfaction), 0),
        *_outcome_sums(),
        func.coalesce(func.sum(sql_case((and_(~closed, cases.c.accept_hours.is_(None)), 1), else_=0)), 0),
    ).where(*case_conditions(r, now, dates=(first, last))).group_by(unit)
    return pd.DataFrame(conn.execute(stmt).all(), columns=_COUNT_COLS)


def _closed_after(conn: Connection, r: Resolved, level: str | None, first: date, last: date, now: datetime,
                  status_at: datetime) -> pd.DataFrame:
    """The month's cases (per unit at ``level``; None: one row for the whole region) closed after
    ``status_at``: what the counts of now hold that the counts at the cut-off do not (_COUNT_COLS)."""
    return pd.DataFrame(conn.execute(_closed_after_select(r, level, first, last, now, status_at)).all(),
                        columns=_COUNT_COLS)


def _closed_after_select(r: Resolved, level: str | None, first: date, last: date, now: datetime,
                         status_at: datetime) -> Select:
    """The statement of :func:`_closed_after`."""
    # Grouped by ``+unit``: with exact statistics SQLite skip-scanned the unit's (unit, report time) index to
    # get the rows in unit order (a county's townships at 1.07 M: 173 ms, the table read for each case) instead
    # of the parent's range (python -m bench plans checks it).
    unit = no_index(CASE_LEVEL_COLUMN[level]) if level else literal("")
    stmt = select(
        unit.label("code"),
        func.count(),
        func.count(),
        func.coalesce(func.sum(sql_case((cases.c.closed_late, 1), else_=0)), 0),
        func.count(cases.c.satisfaction),
        func.coalesce(func.sum(cases.c.satisfaction), 0),
        *_outcome_sums(),
        literal(0),
    ).where(*case_conditions(r, now, dates=(first, last)), cases.c.status == "closed",
            cases.c.closed_at > literal(status_at, Timestamp)).group_by(unit)
    return stmt


def _minus(counts: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
    """``counts`` less the cases closed after the cut-off (closed, closed late, scored; not the case count)."""
    if later.empty:
        return counts
    later = later.set_index("code")
    out = counts.set_index("code")
    for c in _AFTER_CUTOFF:
        out[c] = out[c].sub(later[c].reindex(out.index).fillna(0)).astype(out[c].dtype)
    return out.reset_index()


def _only_index(cond: ColumnElement, keep: Column) -> ColumnElement:
    """``cond`` with every column of ``cases`` but ``keep`` wrapped in ``no_index`` (SQLite: ``+col``), so the
    planner reads the small index of ``keep`` instead of a report-time range over the whole history."""
    def swap(el):
        if isinstance(el, Column) and el.table is cases and el is not keep:
            return no_index(el)
        return None
    return replacement_traverse(cond, {}, swap)


def _backlog_selects(r: Resolved, level: str, ats: list[datetime]) -> list[Select]:
    """The two disjoint branches of :func:`_backlog_counts`, each ``unit, b0, b1…`` grouped by unit: still open
    now, and closed late (every case overdue-open at a past moment is one of the two).  Each is written so that
    one access path is the only one the planner can take, whatever its statistics (tests/test_ranking_plan.py,
    ``python -m bench plans``)."""
    unit = CASE_LEVEL_COLUMN[level]
    region = [CASE_LEVEL_COLUMN[r.level] == r.code] if r.code is not None else []
    last = literal(max(ats), Timestamp)
    # Still open now: the open cases due before the latest moment, one range of the open-case partial index
    # ix_cases_open_by_due, which holds every column asked (covering: the table is not read).  Every other
    # column is hidden from SQLite's planner: given a region column it chose by its statistics between
    # (county, report time) — 31 ms for 娄星区 at 1.07 M, every case of its history — and a skip-scan of
    # (township, report time) that a full ANALYZE made look cheaper, 2.5 s (issue 24).  On PostgreSQL the
    # partial index is the cheap path by its own size.
    now_conds = [open_now_overdue_at_condition(at) for at in ats]
    still_open = (select(no_index(unit), *[func.coalesce(func.sum(sql_case((c, 1), else_=0)), 0) for c in now_conds])
                  .where(open_condition(), cases.c.due_at < last,
                         _only_index(and_(or_(*now_conds), *region), cases.c.due_at))
                  .group_by(no_index(unit)))
    # Closed late (~7 %) and closed after the earliest moment: a range of the last months of the partial
    # covering index ix_cases_late_closed (``late_hours > 0`` as a literal, so that SQLite sees the index's
    # own condition; every other column hidden from the planner).  Reading every late case of the region
    # through ix_cases_late instead cost one table read each: 2.2 s at 5 M cases, growing with the history.
    # (Grouping by ``+unit`` too: else SQLite walks a whole index in unit order to skip the sort.)
    conds = [open_overdue_at_condition(at) for at in ats]
    late = and_(cases.c.late_hours > literal_column("0"), cases.c.closed_at > literal(min(ats), Timestamp),
                _only_index(and_(or_(*conds), cases.c.reported_at <= last, *region), cases.c.closed_at))
    closed_late = (select(no_index(unit), *[func.coalesce(func.sum(sql_case((c, 1), else_=0)), 0) for c in conds])
                   .where(late).group_by(no_index(unit)))
    return [still_open, closed_late]


def _backlog_counts(conn: Connection, r: Resolved, level: str, ats: list[datetime]) -> pd.DataFrame:
    """Overdue backlog per unit at each moment of ``ats`` (columns ``b0``, ``b1``…), in one pass per branch:
    still open now + closed late (:func:`_backlog_selects`)."""
    cols = ["code", *[f"b{i}" for i in range(len(ats))]]
    rows = [row for stmt in _backlog_selects(r, level, ats) for row in conn.execute(stmt).all()]
    df = pd.DataFrame(rows, columns=cols)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c == "code" else "int64") for c in cols})
    return df.groupby("code", as_index=False)[cols[1:]].sum()


def _as_of(month: str, now: datetime) -> datetime:
    return min(month_bounds(month)[2], now)


def status_at(month: str, now: datetime, day: int | None = None) -> datetime:
    """The moment whose case status a month's figures count: its cut-off, or now before it."""
    return min(cutoff_at(month, day), now)


def _month_measures(conn: Connection, r: Resolved, level: str, units: pd.DataFrame, month: str,
                    now: datetime, backlog: pd.Series, day: int | None = None) -> pd.DataFrame:
    """Counts of every unit for one month as of its cut-off (units without cases get zeros), with its
    ``backlog`` (by code)."""
    first, last, _ = month_bounds(month)
    if level in ("county", "township"):
        counts = _summary_unit_counts(conn, r, level, month)
    else:
        counts = _raw_unit_counts(conn, r, level, first, last, now)
    at = status_at(month, now, day)
    if at < now:
        counts = _minus(counts, _closed_after(conn, r, level, first, last, now, at))
    counts = unaccepted_late(conn, r, counts, [CASE_LEVEL_COLUMN[level].label("code")], now, (first, last))
    df = units.merge(counts, on="code", how="left")
    df["overdue_backlog"] = df["code"].map(backlog)
    for c in [*_COUNT_COLS[1:], "n_unaccepted_late", "overdue_backlog"]:
        df[c] = df[c].fillna(0).astype("int64")
    return df


def _score_frame(df: pd.DataFrame, weights: ScoreWeights, min_cases: int | None) -> tuple[pd.DataFrame, int]:
    """Rates, Wilson bounds, components, score, rank and reason from the counts; and the minimum applied
    (``min_cases``, or :func:`auto_min_cases` of the counts when None)."""
    if min_cases is None:
        min_cases = auto_min_cases(df["cases"])
    w = weights.normalised()
    rows = []
    for cases_n, closed, late, n_sat, sum_sat, backlog, accepted, in_time, resolved, satisfied, unacc_late in zip(
            df["cases"], df["closed"], df["closed_late"], df["n_satisfaction"], df["sum_satisfaction"],
            df["overdue_backlog"], *[df[c] for c in OUTCOME_COLUMNS], df["n_unaccepted_late"]):
        cases_n, closed, late, n_sat, backlog = int(cases_n), int(closed), int(late), int(n_sat), int(backlog)
        accepted, in_time, resolved, satisfied = int(accepted), int(in_time), int(resolved), int(satisfied)
        responded = accepted + int(unacc_late)   # the response rate's denominator (metrics.response_rate)
        resp, res, sat_r = wilson_interval(in_time, responded), wilson_interval(resolved, cases_n), \
            wilson_interval(satisfied, n_sat)
        on_time = on_time_count(closed, late)
        cl = wilson_interval(closed, cases_n)
        ot = wilson_interval(on_time, closed)
        sat = mean_satisfaction(sum_sat, n_sat)
        backlog_comp = 1 - backlog / (backlog + cases_n) if backlog + cases_n else None
        comps = {"closure": cl[0] if cl else None, "on_time": ot[0] if ot else None, "backlog": backlog_comp,
                 "satisfaction": (sat - 1) / 4 if sat is not None else None,
                 "response": resp[0] if resp else None, "resolution": res[0] if res else None,
                 "satisfaction_rate": sat_r[0] if sat_r else None}
        avail = {k: v for k, v in comps.items() if v is not None and w[k] > 0}
        wsum = sum(w[k] for k in avail)
        score = sum(w[k] * v for k, v in avail.items()) / wsum if wsum > 0 else None
        if cases_n < max(min_cases, 1):
            reason = "too_few_cases"
        elif score is None:
            reason = "no_score"
        else:
            reason = None
        rows.append({
            "on_time": on_time,
            "closure_rate": closure_rate(closed, cases_n),
            "closure_lo": cl[0] if cl else None, "closure_hi": cl[1] if cl else None,
            "on_time_rate": on_time_rate(on_time, closed),
            "on_time_lo": ot[0] if ot else None, "on_time_hi": ot[1] if ot else None,
            "backlog_component": backlog_comp, "satisfaction_avg": sat, "score": score,
            "response_rate": response_rate(in_time, accepted, int(unacc_late)),
            "resolution_rate": resolution_rate(resolved, cases_n),
            "satisfaction_rate": satisfaction_rate(satisfied, n_sat),
            "ranked": reason is None, "reason": reason,
        })
    out = pd.concat([df.reset_index(drop=True), pd.DataFrame(rows, index=range(len(df)))], axis=1)
    for c in ("closure_rate", "closure_lo", "closure_hi", "on_time_rate", "on_time_lo", "on_time_hi",
              "backlog_component", "satisfaction_avg", "score", "response_rate", "resolution_rate",
              "satisfaction_rate"):
        out[c] = out[c].astype("float64")
    out["ranked"] = out["ranked"].astype(bool)
    out["reason"] = pd.Series([x if isinstance(x, str) else None for x in out["reason"]], dtype=object,
                              index=out.index)
    key = out["score"].round(12).where(out["ranked"])
    out["rank"] = key.rank(method="min", ascending=False).astype("Int64")
    return out, max(int(min_cases), 1)


def monthly_ranking(engine: Engine, scope: Scope, month: str, level: str, parent_code: str | None = None,
                    weights: ScoreWeights = ScoreWeights(), min_cases: int | None = None,
                    now: datetime | None = None, cutoff: int | None = None) -> pd.DataFrame:
    """One row per unit (``RANKING_COLUMNS``), sorted by rank (unranked last) then name.  See the module doc.
    ``min_cases`` None: each month's :func:`auto_min_cases`.  The minimum applied is in
    ``attrs["min_cases"]`` (this month) and ``attrs["prev_min_cases"]``.  ``cutoff``: the cut-off day
    (default :func:`cutoff_day`)."""
    now = now or now_local()
    if min_cases is not None and min_cases < 0:
        raise ValueError("min_cases: must be ≥ 0")
    r = _resolve_parent(engine, scope, level, parent_code)
    units = _units(r.tree, r, level)
    prev = previous_month(month)
    with engine.connect() as conn:
        backlog = _backlog_counts(conn, r, level, [_as_of(month, now), _as_of(prev, now)]).set_index("code")
        cur, applied = _score_frame(_month_measures(conn, r, level, units, month, now, backlog["b0"], cutoff),
                                    weights, min_cases)
        before, prev_applied = _score_frame(
            _month_measures(conn, r, level, units, prev, now, backlog["b1"], cutoff), weights, min_cases)
    cur["prev_rank"] = before["rank"]  # same units in the same order (both frames come from ``units``)
    cur["prev_overdue_backlog"] = before["overdue_backlog"]
    cur["rank_change"] = (cur["prev_rank"] - cur["rank"]).astype("Int64")
    cur["_unranked"] = cur["rank"].isna()
    cur = cur.sort_values(["_unranked", "rank", "name", "code"], kind="stable").reset_index(drop=True)
    out = cur[RANKING_COLUMNS].copy()
    out.attrs.update(min_cases=applied, prev_min_cases=prev_applied, min_cases_auto=min_cases is None)
    return out


@dataclass
class Bulletin:
    """Everything the month's bulletin shows (built by :func:`bulletin_data`, rendered by ui/bulletin.py)."""

    parent_code: str | None
    parent_name: str
    level: str
    month: str
    prev_month: str
    as_of: datetime  # the end of the month (or now, for the running month)
    generated_at: datetime
    cutoff: datetime  # the month's figures count case status at this moment (24:00 of the cut-off day)
    weights: ScoreWeights
    min_cases: int  # the minimum applied this month (at least 1)
    named_top_n: int
    kpis: CaseKpis
    prev_kpis: CaseKpis
    overdue_backlog: int  # of the whole parent at the end of the month
    prev_overdue_backlog: int
    ranking: pd.DataFrame = field(repr=False)
    named_for_backlog: pd.DataFrame = field(repr=False)
    red_orders: pd.DataFrame = field(repr=False)

    @property
    def n_units(self) -> int:
        return len(self.ranking)

    min_cases_auto: bool = False  # the minimum is the automatic one (auto_min_cases), not chosen

    @property
    def final(self) -> bool:
        """The cut-off has passed: the figures no longer change (else they are provisional)."""
        return self.generated_at >= self.cutoff

    @property
    def n_ranked(self) -> int:
        return int(self.ranking["ranked"].sum())

    @property
    def n_no_cases(self) -> int:
        """Units left out because they had no case in the month."""
        return int((self.ranking["cases"] == 0).sum())

    @property
    def n_too_few(self) -> int:
        """Units left out because they had some cases but fewer than the minimum."""
        return int(((self.ranking["reason"] == "too_few_cases") & (self.ranking["cases"] > 0)).sum())


def named_for_backlog(ranking: pd.DataFrame, top_n: int = DEFAULT_NAMED_TOP_N) -> pd.DataFrame:
    """The units with the largest overdue backlog (> 0): the first ``top_n`` and any tied with the last."""
    df = ranking[ranking["overdue_backlog"] > 0]
    df = df.sort_values(["overdue_backlog", "name", "code"], ascending=[False, True, True], kind="stable")
    if top_n <= 0 or df.empty:
        return df.iloc[0:0][NAMED_COLUMNS].reset_index(drop=True)
    if len(df) > top_n:
        cut = df["overdue_backlog"].iloc[top_n - 1]
        df = df[df["overdue_backlog"] >= cut]
    return df[NAMED_COLUMNS].reset_index(drop=True)


def top_and_bottom(ranked_names: list[str], most: int = 3) -> tuple[list[str], list[str]]:
    """The units a bulletin names as leading (综合得分前列) and trailing (靠后), from names in rank order: at most
    ``most`` each and never the same unit in both — k = min(most, n // 2) from each end (the last first); a single
    ranked unit only leads."""
    names = list(ranked_names)
    if len(names) == 1:
        return names, []
    k = min(most, len(names) // 2)
    return names[:k], names[::-1][:k]


def red_orders_open_at(engine: Engine, r: Resolved, level: str, at: datetime) -> pd.DataFrame:
    """Red-card orders on cases in ``r``'s area, issued by ``at`` and not resolved by then."""
    s = supervisions.c
    unit = CASE_LEVEL_COLUMN[level]
    rc = resolve(engine, Scope(r.f.scope_code, r.code))
    stmt = (select(s.supervision_id, s.case_no, cases.c.title, cases.c.status, unit.label("unit_code"),
                   s.issued_at, s.deadline)
            # the orders first, each case by its number: SQLite walked every case of a county to probe its
            # orders (~0.4 s CPU at 1.07 M for 24,000 orders; callbacks.py has the same turn)
            .select_from(supervisions.join(cases, cases.c.case_no == no_index(s.case_no)))
            .where(s.grade == "red", s.issued_at <= at, or_(s.resolved_at.is_(None), s.resolved_at > at),
                   *case_conditions(rc, at))
            .order_by(s.deadline, s.supervision_id).limit(MAX_RED_ORDERS))
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(stmt).all(), columns=["supervision_id", "case_no", "title", "status",
                                                             "unit_code", "issued_at", "deadline"])
    df["unit_name"] = [r.tree.nodes[c].name if c in r.tree.nodes else (c or "") for c in df["unit_code"]]
    # only an order past its deadline at ``at`` has days past it; one not yet due has none (NaN), not a negative
    df["days_past_deadline"] = pd.Series([(at - d).total_seconds() / 86400 if d < at else float("nan")
                                          for d in df["deadline"]], dtype="float64", index=df.index)
    return df[RED_ORDER_COLUMNS]


def bulletin_data(engine: Engine, scope: Scope, month: str, level: str, parent_code: str | None = None,
                  weights: ScoreWeights = ScoreWeights(), min_cases: int | None = None,
                  now: datetime | None = None, named_top_n: int = DEFAULT_NAMED_TOP_N,
                  cutoff: int | None = None) -> Bulletin:
    """The month's bulletin for the units at ``level`` under ``parent_code`` (see the module doc)."""
    now = now or now_local()
    cutoff = cutoff_day() if cutoff is None else cutoff
    r = _resolve_parent(engine, scope, level, parent_code)
    ranking = monthly_ranking(engine, scope, month, level, r.code, weights, min_cases, now, cutoff)
    prev = previous_month(month)
    at = _as_of(month, now)

    def kpis(m: str) -> CaseKpis:
        """The parent's headline numbers of month ``m`` as of its cut-off."""
        first, last, _ = month_bounds(m)
        f = scope.at(r.code).cases((first, last))
        counts = case_counts(engine, f, (), now)
        if counts.empty:
            return CaseKpis()
        at_status = status_at(m, now, cutoff)
        if at_status < now:
            with engine.connect() as conn:
                later = _closed_after(conn, resolve(engine, f), None, first, last, now, at_status)
            counts = counts.copy()
            for c in _AFTER_CUTOFF:
                counts[c] = counts[c] - (int(later[c].sum()) if len(later) else 0)
        return kpis_from_counts(counts.iloc[0], 0, 0)

    return Bulletin(
        parent_code=r.code,
        parent_name=r.tree.nodes[r.code].name if r.code else "",
        level=level, month=month, prev_month=prev, as_of=at, generated_at=now, cutoff=cutoff_at(month, cutoff),
        weights=weights,
        min_cases=ranking.attrs["min_cases"], min_cases_auto=min_cases is None, named_top_n=named_top_n,
        kpis=kpis(month), prev_kpis=kpis(prev),
        overdue_backlog=int(ranking["overdue_backlog"].sum()),
        prev_overdue_backlog=int(ranking["prev_overdue_backlog"].sum()),
        ranking=ranking,
        named_for_backlog=named_for_backlog(ranking, named_top_n),
        red_orders=red_orders_open_at(engine, r, level, at),
    )
