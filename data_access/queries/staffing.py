"""Grid staffing (网格力量): who covers each grid, whether the "3+1+N" structure holds, and how much each grid
worker carries.

Definitions (metrics.py has them in words; the UI's help texts quote them):

- **staff** are the *active* rows of ``staff`` (a post, not a person); an inactive row is a former holder and
  counts for nothing.  A post belongs to its grid (``grid_code``), or to its region when it serves above the
  grids (``region_code``: a chief grid leader serves a township).
- **grids** are top-level grids; **micro-grids** (微网格) belong to a grid and are counted apart.
  Households and residents are the grids' (a micro-grid's residents are part of its grid's).
- **residents per grid worker** = residents of the grids ÷ active grid workers (workers of a micro-grid count
  for its grid); a region without a worker has no ratio.  **covered grids** = grids with at least one
  active grid worker; **coverage** = covered ÷ grids.
- **3+1+N** (总网格长 · 网格长 · 网格员 + 1 名网格联络员 + N 名志愿者): the checks in :data:`GAP_CHECKS`.
- **workload** = cases reported in a grid (its micro-grids included) in the period ÷ its active grid workers
  ÷ months of the period (:func:`period_months`).  Grids without a worker have no workload (they are a
  3+1+N gap).  A grid's **expected** cases are what the median workload of the region's grids would have
  produced there (median × its workers × months).  **Overloaded**: workload above ``overload_multiple`` ×
  the median, *and* so many cases that chance alone would give that many less than once in 100 (the Poisson
  probability of at least the observed count, given the expected, below ``significance``); **quiet**:
  below ``quiet_fraction`` × the median, and so few that chance would give that few less than once in 100.
  With small counts (a short period, a small grid) the test keeps noise from being flagged.

Every query takes a :class:`~data_access.core.filters.Scope` (the jurisdiction and the selected region; the
workload and the grid card also the period), goes through :func:`filters.resolve` (the user's jurisdiction)
and counts in SQL by joining ``node_paths`` (each node's ancestor codes).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from scipy.stats import poisson
from sqlalchemy import BigInteger, ColumnElement, Engine, and_, cast, func, or_, select

from data_access.core.access import User, personal, visible
from data_access.core.clock import now_local
from data_access.core.contract import STAFF_ROLES
from data_access.core.filters import (
    ALL_TIME,
    Period,
    Resolved,
    Scope,
    case_conditions,
    period_parts,
    region_condition,
    resolve,
)
from data_access.core.metrics import coverage, party_share, per_grid_worker
from data_access.core.regions import path_column, served_node
from data_access.core.schema import (
    cases,
    grid_summary,
    grids,
    node_paths,
    staff,
    structure_summary,
    volunteer_teams,
)
from data_access.core.search import contains_any, find_text, name_or_code_match
from data_access.core.sqlfn import no_index
from data_access.core.rollups import grid_measures
from data_access.queries.volunteers import volunteer_summary

DEFAULT_OVERLOAD_MULTIPLE = 2.0
DEFAULT_QUIET_FRACTION = 0.25
SIGNIFICANCE = 0.01

# The 3+1+N checks: key → the level of the nodes checked.
GAP_CHECKS: dict[str, str] = {
    "township_no_chief": "township",  # no active 总网格长
    "grid_no_leader": "grid",  # no active 网格长
    "grid_no_worker": "grid",  # no active 网格员
    "grid_no_liaison": "grid",  # no active 网格联络员
    "micro_no_leader": "micro_grid",  # no active 微网格长
    "village_no_team": "village",  # no volunteer team (the "N")
}
_GAP_ROLE = {"township_no_chief": "chief_grid_leader", "grid_no_leader": "grid_leader",
             "grid_no_worker": "grid_worker", "grid_no_liaison": "grid_liaison",
             "micro_no_leader": "micro_grid_leader"}

COUNT_COLUMNS = ["grids", "micro_grids", "households", "population", *STAFF_ROLES, "staff", "party_members",
                 "grids_covered"]
RATIO_COLUMNS = ["party_share", "residents_per_worker", "households_per_worker", "coverage"]
TABLE_COLUMNS = ["code", "name", "level", *COUNT_COLUMNS, *RATIO_COLUMNS]


# --- where each row lies -----------------------------------------------------------------------------------

def _staff_paths():
    """staff joined to the path of the node it serves (its grid, else its region)."""
    p = node_paths.alias("sp")
    return staff.join(p, p.c.code == served_node(staff)), p


def _active(role: str | None = None) -> ColumnElement:
    cond = staff.c.active.is_(True)
    return and_(cond, staff.c.role == role) if role else cond


# --- staffing by region ------------------------------------------------------------------------------------

def _grouped(engine: Engine, r: Resolved, level: str | None) -> pd.DataFrame:
    """COUNT_COLUMNS per node of ``level`` under the region (key column "key"; NULL = the region itself), added up
    from ``structure_summary`` (one row per node: its grid's residents, its active posts, a grid's grid workers
    with its micro-grids'; core/rollups.structure_select) instead of joining every staff row to its path."""
    ss = structure_summary
    where = [c for c in [region_condition(r, ss)] if c is not None]
    is_grid = ss.c.level == "grid"
    key = [path_column(ss, level).label("key")] if level else []
    stmt = (select(*key, func.count().filter(is_grid).label("grids"),
                   func.count().filter(ss.c.level == "micro_grid").label("micro_grids"),
                   *[_sum(ss.c[c], is_grid).label(c) for c in ("households", "population")],
                   *[_sum(ss.c[c]).label(c) for c in (*STAFF_ROLES, "staff", "party_members")],
                   func.count().filter(and_(is_grid, ss.c.grid_workers_in_grid > 0)).label("grids_covered"))
            .where(*where))
    if level:
        stmt = stmt.group_by(path_column(ss, level))
    with engine.connect() as conn:
        out = pd.DataFrame(conn.execute(stmt).mappings().all(), columns=["key", *COUNT_COLUMNS] if level
                           else COUNT_COLUMNS)
    if not level:
        out["key"] = None
    for c in COUNT_COLUMNS:
        out[c] = out[c].fillna(0).astype("int64")
    return out


def _sum(col, where=None):
    """SUM of an integer column (of the rows ``where`` selects), 0 for none, an integer on both databases."""
    total = func.sum(col) if where is None else func.sum(col).filter(where)
    return cast(func.coalesce(total, 0), BigInteger)


def _with_ratios(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df["party_share"] = [party_share(a, b) for a, b in zip(df["party_members"], df["staff"])]
    df["residents_per_worker"] = [per_grid_worker(a, b) for a, b in zip(df["population"], df["grid_worker"])]
    df["households_per_worker"] = [per_grid_worker(a, b) for a, b in zip(df["households"], df["grid_worker"])]
    df["coverage"] = [coverage(a, b) for a, b in zip(df["grids_covered"], df["grids"])]
    for c in RATIO_COLUMNS:
        df[c] = df[c].astype("float64")
    return df


@dataclass(frozen=True)
class StaffingSummary:
    """The region's staffing: COUNT_COLUMNS and RATIO_COLUMNS as attributes."""

    grids: int = 0
    micro_grids: int = 0
    households: int = 0
    population: int = 0
    chief_grid_leader: int = 0
    grid_leader: int = 0
    grid_worker: int = 0
    grid_liaison: int = 0
    micro_grid_leader: int = 0
    staff: int = 0
    party_members: int = 0
    grids_covered: int = 0

    @property
    def party_share(self) -> float | None:
        return party_share(self.party_members, self.staff)

    @property
    def residents_per_worker(self) -> float | None:
        return per_grid_worker(self.population, self.grid_worker)

    @property
    def households_per_worker(self) -> float | None:
        return per_grid_worker(self.households, self.grid_worker)

    @property
    def coverage(self) -> float | None:
        return coverage(self.grids_covered, self.grids)


def staffing_summary(engine: Engine, scope: Scope) -> StaffingSummary:
    """Grids, micro-grids, residents and active staff by role for the selected region (as of now)."""
    df = _grouped(engine, resolve(engine, scope), None)
    if df.empty:
        return StaffingSummary()
    row = df.iloc[0]
    return StaffingSummary(**{c: int(row[c]) for c in COUNT_COLUMNS})


def staffing_by_child_region(engine: Engine, scope: Scope) -> pd.DataFrame:
    """One row per child of the selected region (all of them, staffed or not): TABLE_COLUMNS."""
    r = resolve(engine, scope)
    base = r.tree.children_frame(r.code, population=False)
    if base.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    level = r.tree.child_level(r.code)
    counts = _grouped(engine, r, level).rename(columns={"key": "code"})
    df = base.merge(counts, on="code", how="left")
    for c in COUNT_COLUMNS:
        df[c] = df[c].fillna(0).astype("int64")
    return _with_ratios(df)[TABLE_COLUMNS]


def columns_without_meaning(level: str) -> set[str]:
    """Columns of :func:`staffing_by_child_region` that say nothing on rows of ``level``: a grid's (or
    micro-grid's) own count of grids, and the chief grid leader (总网格长), who serves a township."""
    return {"grids", "chief_grid_leader"} if level in ("grid", "micro_grid") else set()


# --- 3+1+N --------------------------------------------------------------------------------------------------

GAP_LIST_COLUMNS = ["code", "name", "level", "grid", "village", "township", "county"]


def structure_gaps(engine: Engine, scope: Scope) -> dict[str, pd.DataFrame]:
    """For each 3+1+N check (GAP_CHECKS), the nodes under the selected region that fail it: GAP_LIST_COLUMNS
    (names of the node and of its grid, village, township and county), ordered by code.  A node fails when no
    active post of the role serves at it or below it (a grid: on it or its micro-grids), or no team serves in the
    village: read from ``structure_summary``'s rows grouped by the node checked."""
    r = resolve(engine, scope)
    ss = structure_summary
    where = [c for c in [region_condition(r, ss)] if c is not None]
    failing: dict[str, list[str]] = {}
    with engine.connect() as conn:
        # the three checks of a grid at once: its rows and its micro-grids' (grid_code: the top grid)
        grid_checks = [c for c, level in GAP_CHECKS.items() if level == "grid"]
        sums = [_sum(ss.c[_GAP_ROLE[c]]) for c in grid_checks]
        rows = conn.execute(select(ss.c.grid_code, *sums).where(ss.c.grid_code.is_not(None), *where)
                            .group_by(ss.c.grid_code).having(or_(*[x == 0 for x in sums]), _has_node("grid"))
                            .order_by(ss.c.grid_code)).all()
        for i, check in enumerate(grid_checks):
            failing[check] = [row[0] for row in rows if row[i + 1] == 0]
        for check, level in GAP_CHECKS.items():
            if level == "grid":
                continue
            column = ss.c.teams if check == "village_no_team" else ss.c[_GAP_ROLE[check]]
            if level == "micro_grid":   # a micro-grid's own row
                stmt = select(ss.c.code).where(ss.c.level == level, column == 0, *where).order_by(ss.c.code)
            else:   # a region: its row and every row below it
                key = path_column(ss, level)
                stmt = (select(key).where(key.is_not(None), *where).group_by(key)
                        .having(_sum(column) == 0, _has_node(level)).order_by(key))
            failing[check] = list(conn.execute(stmt).scalars())
    return {check: _named(r, failing[check]) for check in GAP_CHECKS}


def _has_node(level: str) -> ColumnElement:
    """A group of ``structure_summary`` rows by their ``level`` ancestor holds that node's own row: the node lies
    under the selected region (a region below ``level`` selects only some rows of its ancestor's group)."""
    return func.count().filter(structure_summary.c.level == level) > 0


def _named(r: Resolved, codes: list[str]) -> pd.DataFrame:
    rows = []
    for code in codes:
        names = {n.level: n.name for n in r.tree.ancestors(code)}
        node = r.tree.nodes[code]
        rows.append((code, node.name, node.level, names.get("grid"), names.get("village"), names.get("township"),
                     names.get("county")))
    return pd.DataFrame(rows, columns=GAP_LIST_COLUMNS)


def gap_counts(gaps: dict[str, pd.DataFrame]) -> dict[str, int]:
    """The number of nodes failing each 3+1+N check (:func:`structure_gaps`'s lists)."""
    return {check: len(df) for check, df in gaps.items()}


GAP_PLACES = ("grid", "village", "township", "county")


def gap_place_columns(gaps: pd.DataFrame, level: str) -> list[str]:
    """The place columns worth showing beside a gap list of nodes of ``level``: of the grid, village, township
    and county it lies in, those other than its own level that name a place for at least one node."""
    return [c for c in GAP_PLACES if c != level and gaps[c].notna().any()]


# --- workload ----------------------------------------------------------------------------------------------

def period_months(d_from: date | None, d_to: date | None, today: date, first_day: date | None) -> float:
    """Months in the period up to today: whole calendar months count 1, a partial month its share of days.
    An open start begins at ``first_day`` (the first report in the data)."""
    start = d_from or first_day
    end = min(d_to, today) if d_to else today
    if start is None or end < start:
        return 0.0
    months = 0.0
    d = start
    while d <= end:
        dim = calendar.monthrange(d.year, d.month)[1]
        month_end = date(d.year, d.month, dim)
        last = min(month_end, end)
        months += ((last - d).days + 1) / dim
        d = month_end + timedelta(days=1)
    return months


WORKLOAD_COLUMNS = ["code", "name", "village", "township", "workers", "cases", "patrol", "workload", "expected",
                    "flag"]
FLAGS = ("overloaded", "quiet", "ok", "no_worker")
# The thresholds offered on the staffing page: overloaded above × multiple of the median, quiet below × fraction.
OVERLOAD_MULTIPLES = (1.5, DEFAULT_OVERLOAD_MULTIPLE, 3.0)
QUIET_FRACTIONS = (0.1, DEFAULT_QUIET_FRACTION, 0.5)


def poisson_tails(cases: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each grid, under Poisson(``expected``): P(X ≥ cases), how unlikely so many, and P(X ≤ cases), how unlikely
    so few — scipy.stats.poisson's survival function and distribution function, over the arrays at once.  (A
    hand-written sum of the terms, one grid at a time, took 0.6 s for the 39,000 grids tested at the province.)"""
    cases = np.asarray(cases, dtype="float64")
    return poisson.sf(cases - 1, expected), poisson.cdf(cases, expected)


@dataclass(frozen=True)
class Workload:
    grids: pd.DataFrame  # WORKLOAD_COLUMNS, one row per grid under the region, heaviest first
    months: float
    median: float | None  # median workload over grids with a worker
    overload_multiple: float
    quiet_fraction: float
    significance: float
    counts: dict[str, int] = field(default_factory=dict)  # grids per flag

    @property
    def total_cases(self) -> int:
        """The grids' cases together (0: no workload, median or flag says anything)."""
        return int(self.grids["cases"].sum())


def _cases_per_grid(engine: Engine, r: Resolved, now: datetime) -> pd.DataFrame:
    """Cases and patrol reports (columns ``cases``, ``patrol``, indexed by grid code) of each grid under the region
    with any in the period (roll-up plus edge days).  ``r`` resolves a place and a period only (``Scope.cases``),
    as the roll-up answers."""
    g = grid_summary.c
    level_col = {"province": g.province_code, "city": g.city_code, "county": g.county_code,
                 "township": g.township_code, "village": g.village_code, "grid": g.top_grid_code}

    def summary_part(months: tuple[str, str]) -> pd.DataFrame:
        conds = [g.month >= months[0], g.month <= months[1]]
        if r.code is not None:
            conds.append(level_col[r.level] == r.code)
        stmt = (select(g.top_grid_code.label("code"), func.sum(g.n).label("cases"),
                       func.sum(g.n_patrol).label("patrol")).where(*conds).group_by(g.top_grid_code))
        with engine.connect() as conn:
            return conn.execute(stmt).all()

    def raw_part(days) -> pd.DataFrame:
        conds = case_conditions(r, now, dates=days)
        # +top_grid_code on SQLite: grouping must not steer it to skip-scan the grid index over every grid
        # (30–50 ms) instead of reading the few days by report time (5 ms)
        grid = no_index(cases.c.top_grid_code)
        stmt = select(grid.label("code"), *grid_measures(cases)).where(*conds).group_by(grid)
        with engine.connect() as conn:
            return conn.execute(stmt).all()

    # the parts' rows summed per grid in one pass (a dict per row took 0.5 s for the province's 136,000 grids)
    # (plain tuples: pandas asks each SQLAlchemy Row for namedtuple fields, 2.6 s for 140,000 rows)
    rows = [tuple(row) for part in period_parts(r, r.level != "micro_grid", summary_part, raw_part) for row in part]
    df = pd.DataFrame(rows, columns=["code", "cases", "patrol"])
    return (df.fillna({"cases": 0, "patrol": 0}).astype({"cases": "int64", "patrol": "int64"})
            .groupby("code", sort=False)[["cases", "patrol"]].sum())


def first_report_day(engine: Engine) -> date | None:
    with engine.connect() as conn:
        m = conn.execute(select(func.min(grid_summary.c.month))).scalar_one_or_none()
    return date(int(m[:4]), int(m[5:7]), 1) if m else None


def grid_workload(engine: Engine, scope: Scope, period: Period, now: datetime | None = None, *,
                  overload_multiple: float = DEFAULT_OVERLOAD_MULTIPLE, quiet_fraction: float = DEFAULT_QUIET_FRACTION,
                  significance: float = SIGNIFICANCE) -> Workload:
    """Cases per grid worker per month (every case reported in ``period``) for every grid under the selected
    region, flagged (see module doc)."""
    now = now or now_local()
    r = resolve(engine, scope.cases(period))
    if r.level == "micro_grid":  # a micro-grid's workers serve its grid: the grid's workload
        r = resolve(engine, scope.at(r.tree.nodes[r.code].parent).cases(period))
    ss = structure_summary
    where = [c for c in [region_condition(r, ss)] if c is not None]
    with engine.connect() as conn:   # every grid under the region with its grid workers (its micro-grids' too)
        grid_rows = conn.execute(select(ss.c.code, ss.c.grid_workers_in_grid).where(ss.c.level == "grid", *where)
                                 .order_by(ss.c.code)).all()
    months = period_months(period[0], period[1], now.date(), first_report_day(engine))
    per_grid = _cases_per_grid(engine, r, now)
    nodes = r.tree.nodes
    codes = [g for g, _w in grid_rows]
    villages = [nodes.get(nodes[g].parent) for g in codes]
    townships = [nodes.get(v.parent) if v else None for v in villages]
    counted = per_grid.reindex(codes, fill_value=0)   # a grid without cases: 0 and 0
    df = pd.DataFrame({"code": codes, "name": [nodes[g].name for g in codes],
                       "village": [v.name if v else None for v in villages],
                       "township": [t.name if t else None for t in townships],
                       "workers": np.array([w for _g, w in grid_rows], dtype="int64"),
                       "cases": counted["cases"].to_numpy(dtype="int64"),
                       "patrol": counted["patrol"].to_numpy(dtype="int64")},
                      columns=WORKLOAD_COLUMNS[:-2])
    w, n = df["workers"].to_numpy(), df["cases"].to_numpy()
    staffed = w > 0
    # (c / w) / months, as a grid's workload was computed one at a time: the same floats
    load = np.where(staffed & (months > 0), n / np.where(staffed, w, 1) / (months or 1), np.nan)
    df["workload"] = load
    loads = df["workload"].dropna()
    median = float(loads.median()) if len(loads) else None
    expected = median * w * months if median is not None else np.full(len(df), np.nan)
    df["expected"] = np.where(staffed, expected, np.nan) if median is not None else expected
    flag = np.where(staffed, "ok", "no_worker").astype(object)
    if median is not None:
        exp = df["expected"].to_numpy()
        tested = staffed & ~np.isnan(load)
        # the Poisson tail where the workload is past a threshold
        high = np.flatnonzero(tested & (load > overload_multiple * median))
        low = np.flatnonzero(tested & (load < quiet_fraction * median))
        flag[high[poisson_tails(n[high], exp[high])[0] < significance]] = "overloaded"
        flag[low[poisson_tails(n[low], exp[low])[1] < significance]] = "quiet"
    df["flag"] = flag
    df = df.sort_values(["workload", "code"], ascending=[False, True], na_position="last", kind="stable")
    return Workload(grids=df.reset_index(drop=True)[WORKLOAD_COLUMNS], months=months, median=median,
                    overload_multiple=overload_multiple, quiet_fraction=quiet_fraction, significance=significance,
                    counts={k: int((df["flag"] == k).sum()) for k in FLAGS})


# --- a grid's card -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GridCard:
    code: str
    name: str
    level: str  # "grid" or "micro_grid"
    grid: str | None  # a micro-grid's grid (name)
    village: str | None
    township: str | None
    county: str | None
    households: int | None
    population: int | None
    staff: pd.DataFrame  # role, name, party_member, phone (masked for most roles), since, on (grid or micro-grid)
    micro_grids: pd.DataFrame  # code, name, households, population, leader, leader_phone
    teams: pd.DataFrame  # team_code, name, members, leader, founded_on, focus
    recent_cases: pd.DataFrame  # case_no, reported_at, category, status, title (the period's, newest first)
    case_count: int  # the grid's cases in the period

    @property
    def micro_grid_count(self) -> int:
        return len(self.micro_grids)

    @property
    def team_count(self) -> int:
        return len(self.teams)


def grid_card(engine: Engine, scope: Scope, period: Period, code: str, user: User | None, recent: int = 10
              ) -> GridCard | None:
    """Everything about one grid or micro-grid inside the user's jurisdiction (the scope's and the user's
    own), with its cases reported in ``period``; None when it is unknown or outside.  Phones and team leaders
    are shown as ``user`` may see them (access.personal)."""
    r = resolve(engine, scope)
    tree = r.tree
    node = tree.nodes.get(code) if isinstance(code, str) else None
    if node is None or node.level not in ("grid", "micro_grid") or not visible(tree, code, scope.scope_code, user):
        return None
    names = {n.level: n.name for n in tree.ancestors(code)}
    top = code if node.level == "grid" else node.parent
    own = [code] if node.level == "micro_grid" else [code, *tree.children_of.get(code, [])]
    with engine.connect() as conn:
        g = conn.execute(select(grids.c.households, grids.c.population).where(grids.c.code == code)).one()
        st = conn.execute(select(staff.c.role, staff.c.name, staff.c.party_member, staff.c.phone, staff.c.since,
                                 staff.c.grid_code).where(staff.c.grid_code.in_(own), _active())
                          .order_by(staff.c.grid_code, staff.c.role, staff.c.staff_id)).all()
        micro = conn.execute(select(grids.c.code, grids.c.name, grids.c.households, grids.c.population)
                             .where(grids.c.parent_grid_code == code).order_by(grids.c.code)).all()
        teams = conn.execute(select(volunteer_teams.c.team_code, volunteer_teams.c.name, volunteer_teams.c.members,
                                    volunteer_teams.c.leader_name, volunteer_teams.c.founded_on,
                                    volunteer_teams.c.focus)
                             .where(volunteer_teams.c.grid_code.in_(own)).order_by(volunteer_teams.c.team_code)).all()
        # the grid's cases in the period: what the workbench shows for this grid
        area = Resolved(scope.at(code).cases(period), code, node.level, tree)
        conds = case_conditions(area, now_local())
        rc = conn.execute(select(cases.c.case_no, cases.c.reported_at, cases.c.category, cases.c.status,
                                 cases.c.title).where(*conds)
                          .order_by(cases.c.reported_at.desc(), cases.c.case_no).limit(recent)).all()
        n_cases = conn.execute(select(func.count()).select_from(cases).where(*conds)).scalar_one()
    role_rank = {role: i for i, role in enumerate(STAFF_ROLES)}
    staff_df = pd.DataFrame(
        [(s.role, s.name, s.party_member, personal(user, s.phone, "phone"), s.since,
          tree.nodes[s.grid_code].name) for s in st],
        columns=["role", "name", "party_member", "phone", "since", "on"])
    if not staff_df.empty:
        staff_df = staff_df.sort_values("role", key=lambda s: s.map(role_rank), kind="stable").reset_index(drop=True)
    leaders = {s.grid_code: s for s in st if s.role == "micro_grid_leader"}
    micro_df = pd.DataFrame(
        [(m.code, m.name, m.households, m.population, leaders[m.code].name if m.code in leaders else None,
          personal(user, leaders[m.code].phone, "phone") if m.code in leaders else None) for m in micro],
        columns=["code", "name", "households", "population", "leader", "leader_phone"])
    teams_df = pd.DataFrame([(t.team_code, t.name, t.members, personal(user, t.leader_name, "name"), t.founded_on,
                              t.focus) for t in teams],
                            columns=["team_code", "name", "members", "leader", "founded_on", "focus"])
    cases_df = pd.DataFrame([tuple(x) for x in rc], columns=["case_no", "reported_at", "category", "status", "title"])
    return GridCard(code=code, name=node.name, level=node.level,
                    grid=tree.nodes[top].name if node.level == "micro_grid" else None,
                    village=names.get("village"), township=names.get("township"), county=names.get("county"),
                    households=g.households, population=g.population, staff=staff_df, micro_grids=micro_df,
                    teams=teams_df, recent_cases=cases_df, case_count=n_cases)


# --- finding a place -----------------------------------------------------------------------------------------

FIND_COLUMNS = ["code", "name", "level", "village", "township", "matched"]


def find_grids(engine: Engine, scope: Scope, text: str, limit: int = 20) -> pd.DataFrame:
    """Grids and micro-grids under the selected region whose name or code, village name, or active staff
    member's name contains ``text``: FIND_COLUMNS ("matched" says which).  Empty text finds nothing."""
    text = find_text(text)
    if not text:
        return pd.DataFrame(columns=FIND_COLUMNS)
    r = resolve(engine, scope)
    p = node_paths
    where = [c for c in [region_condition(r, p)] if c is not None]
    is_grid = p.c.level.in_(("grid", "micro_grid"))
    sj, sp = _staff_paths()
    s_where = [c for c in [region_condition(r, sp)] if c is not None]
    village_codes = [c for c, n in r.tree.nodes.items() if n.level == "village" and text in n.name]
    with engine.connect() as conn:
        by_grid = conn.execute(name_or_code_match(
            select(grids.c.code).select_from(grids.join(p, p.c.code == grids.c.code)).where(is_grid, *where),
            text, grids.c.name, grids.c.code, limit)).scalars().all()
        by_village = conn.execute(
            select(p.c.code).where(p.c.level == "grid", p.c.village_code.in_(village_codes[:500]), *where)
            .order_by(p.c.code).limit(limit)).scalars().all() if village_codes else []
        by_staff = conn.execute(
            select(sp.c.code, staff.c.name).select_from(sj)
            .where(_active(), sp.c.level.in_(("grid", "micro_grid")), contains_any(text, staff.c.name),
                   *s_where).order_by(sp.c.code, staff.c.staff_id).limit(limit)).all()
    seen: dict[str, str] = {}
    for code in by_grid:
        seen.setdefault(code, "grid")
    for code, name in by_staff:
        seen.setdefault(code, f"staff:{name}")
    for code in by_village:
        seen.setdefault(code, "village")
    rows = []
    for code, matched in list(seen.items())[:limit]:
        names = {n.level: n.name for n in r.tree.ancestors(code)}
        node = r.tree.nodes[code]
        rows.append((code, node.name, node.level, names.get("village"), names.get("township"), matched))
    return pd.DataFrame(rows, columns=FIND_COLUMNS)


# --- the figures the article quotes ----------------------------------------------------------------------

@dataclass(frozen=True)
class StaffingTotals:
    grids: int
    micro_grids: int
    active_grid_workers: int
    households: int
    population: int
    volunteer_teams: int
    volunteer_members: int


def grid_staffing_totals(engine: Engine, region_code: str | None = None) -> StaffingTotals:
    """Grids, micro-grids, active grid workers, residents and volunteer teams under ``region_code``."""
    place = Scope(region_code=region_code)
    s = staffing_summary(engine, place)
    v = volunteer_summary(engine, place, ALL_TIME, None)
    return StaffingTotals(grids=s.grids, micro_grids=s.micro_grids, active_grid_workers=s.grid_worker,
                          households=s.households, population=s.population, volunteer_teams=v.teams,
                          volunteer_members=v.members)
