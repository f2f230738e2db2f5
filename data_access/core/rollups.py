"""Maintenance of the roll-ups that keep the Overview and the supervision centre fast.

``case_summary`` holds, per report month × township × category × status ×
resolution level, the additive counts the measures in :mod:`metrics` need
(including the hours-to-close histogram and the integrity checks);
``case_summary_county`` is the same one level coarser.  ``process_summary``
holds, per report month × township × category × department, the step times
against their limits and the returns and reassignments.  ``grid_summary``: report month × top grid;
``case_day_counts``: report day × county × township × village × top grid × category, the early warnings'
daily counts (core/warnings.py).  Whole rebuild after
a load (:func:`rebuild_all_summaries`); a slice rebuild (month, township)
after any write or batch that touches a case (:func:`refresh_case_summary`).

The measure expressions are public (:func:`integrity_measures`,
:func:`process_measures`) so that a query the roll-ups cannot answer
computes the very same numbers straight from ``cases``.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy import case as sql_case

from sqlalchemy.schema import CreateTable

from data_access.core.bulk import insert_rows
from data_access.core.derived import STEP_HOUR_COLUMNS
from data_access.core.metrics import (
    BOUNCE_RETURNS,
    BUCKET_COLUMNS,
    EDGE_SLACK_HOURS,
    FAST_CLOSE_HOURS,
    RATIO_BUCKET_EDGES,
    SATISFIED_MIN,
    STEP_SHARES,
    UNSATISFIED_MAX,
    hour_bucket_sql,
)
from data_access.core.escalation import step_limit_sql
from data_access.core.schema import (
    INTEGRITY_COLUMNS,
    OUTCOME_COLUMNS,
    N_RATIO_BUCKETS,
    PROCESS_STEPS,
    Timestamp,
    case_day_counts,
    case_summary,
    case_summary_county,
    cases,
    grid_summary,
    grids,
    node_paths,
    process_summary,
    staff,
    structure_summary,
    team_summary,
    volunteer_activities,
    volunteer_teams,
)
from data_access.core.contract import STAFF_ROLES
from data_access.core.metrics import REGION_LEVELS
from data_access.core.regions import served_node
from data_access.core.sqlfn import ValueList, day_of, in_values

# The timestamp each process step starts from and the one that ends it.
STEP_SPANS = {col.removesuffix("_hours"): span for col, span in STEP_HOUR_COLUMNS.items()}

_DIMS = ("report_month", "province_code", "city_code", "county_code", "township_code",
         "category", "status", "resolution_level")


def _summary_select(where=None, flip_rereported: bool = False):
    """case_summary's rows of the cases ``where`` selects; ``flip_rereported``: as they were with the other
    re-report flag (the old contribution of a case whose flag alone flipped: :func:`contributions`)."""
    src, where = _source(where, flip_rereported)
    bucket = hour_bucket_sql(src.c.hours_to_close).label("b")
    inner = select(
        *[src.c[d] for d in _DIMS],
        src.c.on_the_spot,
        src.c.closed_late,
        src.c.hours_to_close,
        src.c.satisfaction,
        bucket,
        *integrity_flags(src),
        *outcome_flags(src),
    )
    if where is not None:
        inner = inner.where(where)
    s = _per_case(inner, "c")
    closed = s.c.status == "closed"
    cols = [s.c[d] for d in _DIMS]
    measures = [
        func.count().label("n"),
        func.coalesce(func.sum(_when(and_(closed, s.c.on_the_spot), 1)), 0).label("n_on_the_spot"),
        func.coalesce(func.sum(_when(and_(closed, s.c.closed_late), 1)), 0).label("n_closed_late"),
        int_sum(seconds_sql(s.c.hours_to_close)).label("sum_seconds"),
        func.count(s.c.satisfaction).label("n_satisfaction"),
        func.coalesce(func.sum(s.c.satisfaction), 0).label("sum_satisfaction"),
    ] + [
        func.coalesce(func.sum(_when(and_(closed, s.c.b == i), 1)), 0).label(name)
        for i, name in enumerate(BUCKET_COLUMNS)
    ] + integrity_measures(s) + outcome_measures(s)
    return select(*cols, *measures).group_by(*cols)


def _per_case(inner, name: str):
    """``inner`` (a case's flags and buckets, one row per case) as the subquery its roll-up's sums read, each row
    computed once.  Without the fence (OFFSET 0) both databases flatten the subquery into the GROUP BY and compute
    a case's hour bucket again inside each of the 24 sums that read it, and SQLite, once it has statistics, walks
    ``cases`` by an index in place of a plain scan.  A whole rebuild on an analysed database (a time-limit change)
    at 1.07 M skewed cases: the case_summary select 24.9 -> 17.1 s of CPU, process_summary's 27.2 -> 19.4 s, the
    same rows; a load (no statistics yet, a plain scan either way) is not changed (PERFORMANCE.md, "The load, phase
    by phase")."""
    return inner.offset(0).subquery(name)


def _source(where, flip_rereported: bool):
    """``cases`` and the condition on it; ``flip_rereported``: instead, the cases ``where`` selects as they were
    with the other re-report flag (the old contribution of a case whose flag alone flipped: :func:`contributions`)."""
    if not flip_rereported:
        return cases, where
    flipped = sql_case((cases.c.rereported.is_(True), literal(False)), else_=literal(True)).label("rereported")
    return (select(*[c for c in cases.c if c.name != "rereported"], flipped).where(where).subquery("f"), None)


def integrity_flags(t) -> list:
    """Per-case 0/1 flags (and counts) of the integrity checks (metrics.py), labelled for :func:`integrity_measures`."""
    c = t.c
    closed = c.status == "closed"
    not_spot = c.on_the_spot.is_not(True)
    fast = and_(closed, not_spot, c.hours_to_close < FAST_CLOSE_HOURS)
    no_feedback = and_(closed, not_spot, c.feedback_at.is_(None))
    reopened = and_(closed, c.n_reopens > 0)
    rereported = c.rereported.is_(True)
    flagged = and_(closed, (fast | no_feedback | reopened | rereported))
    return [
        _when(fast, 1).label("f_fast"),
        _when(no_feedback, 1).label("f_no_feedback"),
        _when(reopened, 1).label("f_reopened"),
        _when(and_(closed, rereported), 1).label("f_rereported"),
        _when(flagged, 1).label("f_flagged"),
        _when(c.n_returns > 0, 1).label("f_returned"),
        _when(c.n_returns >= BOUNCE_RETURNS, 1).label("f_bounced"),
        c.n_returns.label("f_returns"),
        c.n_reassigns.label("f_reassigns"),
    ]


_FLAG_OF = dict(zip(INTEGRITY_COLUMNS, ("f_fast", "f_no_feedback", "f_reopened", "f_rereported", "f_flagged",
                                        "f_returned", "f_bounced", "f_returns", "f_reassigns")))


def integrity_measures(s) -> list:
    """Sums of :func:`integrity_flags` over a subquery ``s`` that selected them, named as INTEGRITY_COLUMNS."""
    return [func.coalesce(func.sum(s.c[flag]), 0).label(col) for col, flag in _FLAG_OF.items()]


def outcome_flags(t) -> list:
    """Per-case 0/1 flags of the outcome rates (三率, metrics.py), labelled for :func:`outcome_measures`:
    reached acceptance (受理: ``accept_hours`` set), accepted within the 受理 step's limit (its share of the
    allowed time, escalation.step_limit_sql; within as the supervision centre's step time, :func:`within_limit_sql`),
    resolved (closed, never reopened, not rated unsatisfied), rated satisfied (4–5)."""
    c = t.c
    accepted = c.accept_hours.is_not(None)
    unsatisfied = and_(c.satisfaction.is_not(None), c.satisfaction <= UNSATISFIED_MAX)
    resolved = and_(c.status == "closed", func.coalesce(c.n_reopens, 0) == 0, ~unsatisfied)
    return [
        _when(accepted, 1).label("o_accepted"),
        _when(and_(accepted, within_limit_sql(c.accept_hours, step_limit_sql("accept", t))), 1)
        .label("o_accepted_in_time"),
        _when(resolved, 1).label("o_resolved"),
        _when(c.satisfaction >= SATISFIED_MIN, 1).label("o_satisfied"),
    ]


_OUTCOME_FLAG_OF = dict(zip(OUTCOME_COLUMNS, ("o_accepted", "o_accepted_in_time", "o_resolved", "o_satisfied")))


def outcome_measures(s) -> list:
    """Sums of :func:`outcome_flags` over a subquery ``s`` that selected them, named as OUTCOME_COLUMNS."""
    return [func.coalesce(func.sum(s.c[flag]), 0).label(col) for col, flag in _OUTCOME_FLAG_OF.items()]


def _when(cond, value):
    return sql_case((cond, value), else_=0)


def seconds_sql(hours):
    """Whole seconds of an hours value (NULL stays NULL).  The roll-ups add up times as these integers, never as
    float hours: a sum of integers is the same in any order, so a slice maintained by difference (a case's old
    contribution taken away, its new one added: :func:`apply_contributions`), a slice rebuilt and a whole
    rebuild give exactly the same rows on SQLite and PostgreSQL.  Readers divide by 3600 (hours) when they
    show a mean."""
    return cast(func.round(hours * 3600), BigInteger)


def int_sum(x):
    """SUM of an integer expression, 0 for none, as an integer on both databases (PostgreSQL's SUM of a bigint
    is a numeric)."""
    return cast(func.coalesce(func.sum(x), 0), BigInteger)


_TARGET_COLS = ["month", "province_code", "city_code", "county_code", "township_code",
                "category", "status", "resolution_level", "n", "n_on_the_spot", "n_closed_late",
                "sum_seconds", "n_satisfaction", "sum_satisfaction", *BUCKET_COLUMNS, *INTEGRITY_COLUMNS,
                *OUTCOME_COLUMNS]


_COUNTY_DIMS = ["month", "province_code", "city_code", "county_code", "category", "status", "resolution_level"]
_MEASURES = [c for c in _TARGET_COLS if c not in _DIMS and c != "month"]


def _county_select(where=None):
    s = case_summary.c
    stmt = select(*[s[d] for d in _COUNTY_DIMS], *[int_sum(s[m]) for m in _MEASURES])
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


def refresh_case_summary(conn: Connection, slices: Iterable[tuple[str, str | None, str | None]]) -> None:
    """Rebuild the (report month, county, township) slices of every roll-up touched by a write, in the caller's
    transaction.

    Each statement is built once (:func:`_slice_statements`, bound parameters) and run for all the slices at once
    (executemany): building the roll-ups' SELECTs in Python cost 20 ms a slice, which a batch of many cases
    (data_access/ingest/sync.py) paid hundreds of times."""
    slices = sorted(set(slices), key=lambda s: (s[0], s[1] or "", s[2] or ""))
    if not slices:
        return
    for null_township in (False, True):
        params = [{"m": m, "t": t, **_month_bounds(m)} for m, _c, t in slices if (t is None) == null_township]
        if params:
            for stmt in _slice_statements(null_township):
                conn.execute(stmt, params)
    counties = sorted({(m, c) for m, c, _t in slices}, key=lambda s: (s[0], s[1] or ""))
    for null_county in (False, True):
        params = [{"m": m, "c": c} for m, c in counties if (c is None) == null_county]
        if params:
            for stmt in _county_statements(null_county):
                conn.execute(stmt, params)


def _by(col, name: str, null: bool):
    return col.is_(None) if null else col == bindparam(name)


def _month_bounds(month: str) -> dict[str, datetime]:
    """The report times of a report month (derived.report_month), as the bounds :lo <= reported_at < :hi: a
    slice's cases are read by the index (township, reported_at), not by every case of the township."""
    lo = datetime(int(month[:4]), int(month[5:7]), 1)
    hi = datetime(lo.year + lo.month // 12, lo.month % 12 + 1, 1)
    return {"lo": lo, "hi": hi}


@cache
def _slice_statements(null_township: bool) -> tuple:
    """DELETE and INSERT … SELECT of one (month :m, township :t) slice of case_summary, process_summary,
    grid_summary and case_day_counts (``null_township``: the cases without a township)."""
    m = bindparam("m")
    out = []
    for table, target, select_of in ((case_summary, _TARGET_COLS, _summary_select),
                                     (process_summary, _PROCESS_TARGET, _process_select),
                                     (grid_summary, _GRID_TARGET, _grid_select),
                                     (case_day_counts, DAY_COUNT_COLUMNS, _day_count_select)):
        out.append(delete(table).where(table.c.month == m, _by(table.c.township_code, "t", null_township)))
        out.append(insert(table).from_select(target, select_of(
            and_(cases.c.report_month == m, _by(cases.c.township_code, "t", null_township),
                 cases.c.reported_at >= bindparam("lo", type_=Timestamp),
                 cases.c.reported_at < bindparam("hi", type_=Timestamp)))))
    return tuple(out)


@cache
def _county_statements(null_county: bool) -> tuple:
    """DELETE and INSERT … SELECT of one (month :m, county :c) slice of case_summary_county, from case_summary."""
    m = bindparam("m")
    return (delete(case_summary_county).where(case_summary_county.c.month == m,
                                              _by(case_summary_county.c.county_code, "c", null_county)),
            insert(case_summary_county).from_select(
                [*_COUNTY_DIMS, *_MEASURES],
                _county_select(and_(case_summary.c.month == m, _by(case_summary.c.county_code, "c", null_county)))))


# --- process_summary ------------------------------------------------------------------------------

PROCESS_DIMS = ("report_month", "province_code", "city_code", "county_code", "township_code", "category",
                "department_code")


def step_hours_expr(t, step: str):
    """Hours spent reaching ``step`` (from entering the step before); NULL when the step was not reached.
    Stored per case (``<step>_hours``: derived.step_hours, kept by derive.derive_step_hours)."""
    return t.c[f"{step}_hours"]


def step_limit_expr(t, step: str):
    """The step's limit in hours: its share of the case's allowed time (metrics.py, "step time")."""
    return t.c.allowed_hours * STEP_SHARES[step]


def within_limit_sql(hours, limit):
    """The step took no longer than its limit (metrics.py, "within its limit")."""
    return hours <= limit + EDGE_SLACK_HOURS


def ratio_bucket_sql(hours, limit):
    """Bucket index of hours ÷ limit (metrics.RATIO_BUCKET_EDGES; ≤ 1 falls in bucket 3 or below)."""
    e = RATIO_BUCKET_EDGES
    whens = []
    for i in range(N_RATIO_BUCKETS - 1):
        upper = limit * e[i + 1]
        whens.append((within_limit_sql(hours, upper) if e[i + 1] == 1.0 else hours < upper - EDGE_SLACK_HOURS, i))
    return sql_case(*whens, else_=N_RATIO_BUCKETS - 1)


def process_flags(t) -> list:
    """Per-case values the process measures add up, labelled for :func:`process_measures`."""
    c = t.c
    out = [
        _when(c.status == "closed", 1).label("p_closed"),
        _when(and_(c.status == "closed", c.closed_late.is_not(True)), 1).label("p_on_time"),
        c.n_returns.label("p_returns"),
        c.n_reassigns.label("p_reassigns"),
        _when(c.n_returns > 0, 1).label("p_returned"),
        _when(c.n_returns >= BOUNCE_RETURNS, 1).label("p_bounced"),
    ]
    for step in PROCESS_STEPS:
        hours = step_hours_expr(t, step)
        limit = step_limit_expr(t, step)
        out += [hours.label(f"p_{step}_hours"),
                _when(within_limit_sql(hours, limit), 1).label(f"p_{step}_within"),
                ratio_bucket_sql(hours, limit).label(f"p_{step}_bucket")]
    out.append(hour_bucket_sql(step_hours_expr(t, "handle")).label("p_hh"))
    return out


def process_measures(s) -> list:
    """Sums over a subquery ``s`` that selected :func:`process_flags`, named as process_summary's columns."""
    m = [
        func.count().label("n"),
        func.coalesce(func.sum(s.c.p_closed), 0).label("n_closed"),
        func.coalesce(func.sum(s.c.p_on_time), 0).label("n_on_time"),
        func.coalesce(func.sum(s.c.p_returns), 0).label("sum_returns"),
        func.coalesce(func.sum(s.c.p_reassigns), 0).label("sum_reassigns"),
        func.coalesce(func.sum(s.c.p_returned), 0).label("n_returned"),
        func.coalesce(func.sum(s.c.p_bounced), 0).label("n_bounced"),
    ]
    for step in PROCESS_STEPS:
        h = s.c[f"p_{step}_hours"]
        m += [func.count(h).label(f"{step}_n"),
              func.coalesce(func.sum(s.c[f"p_{step}_within"]), 0).label(f"{step}_within"),
              int_sum(seconds_sql(h)).label(f"{step}_seconds")]
        m += [func.coalesce(func.sum(_when(and_(h.is_not(None), s.c[f"p_{step}_bucket"] == i), 1)), 0)
              .label(f"{step}_r{i}") for i in range(N_RATIO_BUCKETS)]
    hh = s.c.p_handle_hours
    m += [func.coalesce(func.sum(_when(and_(hh.is_not(None), s.c.p_hh == i), 1)), 0).label(f"hh{i}")
          for i in range(len(BUCKET_COLUMNS))]
    return m


PROCESS_MEASURE_COLUMNS = [c.name for c in process_summary.columns
                           if c.name not in ("month", *PROCESS_DIMS)]


def _process_select(where=None, flip_rereported: bool = False):
    src, where = _source(where, flip_rereported)
    inner = select(*[src.c[d] for d in PROCESS_DIMS], *process_flags(src))
    if where is not None:
        inner = inner.where(where)
    s = _per_case(inner, "p")
    dims = [s.c[d] for d in PROCESS_DIMS]
    return select(*dims, *process_measures(s)).group_by(*dims)


_PROCESS_TARGET = ["month", *PROCESS_DIMS[1:], *PROCESS_MEASURE_COLUMNS]


def rebuild_process_summary(conn: Connection) -> int:
    conn.execute(delete(process_summary))
    conn.execute(insert(process_summary).from_select(_PROCESS_TARGET, _process_select()))
    return conn.execute(select(func.count()).select_from(process_summary)).scalar_one()


def rebuild_all_summaries(conn: Connection, progress=None) -> int:
    """Rebuild every roll-up from ``cases`` (after a load or a time-limit rule change); returns case_summary rows.
    ``progress(name)``, if given, is told the name of each roll-up as its rebuild begins (a load's phases)."""
    steps = (("process_summary", rebuild_process_summary), ("grid_summary", rebuild_grid_summary),
             ("case_day_counts", rebuild_day_counts))
    if progress:
        progress("case_summary")
    n = rebuild_case_summary(conn)
    for name, rebuild in steps:
        if progress:
            progress(name)
        rebuild(conn)
    return n


def refresh_category_summaries(conn: Connection, categories: Iterable[str]) -> None:
    """Rebuild every roll-up's rows of ``categories`` (after a time-limit rule change moved their due times):
    about a fifth of a whole rebuild for one category at 1.07 M cases."""
    cats = sorted(set(categories))
    if not cats:
        return
    lock_rollups(conn)
    conn.execute(delete(case_summary).where(case_summary.c.category.in_(cats)))
    conn.execute(insert(case_summary).from_select(_TARGET_COLS, _summary_select(cases.c.category.in_(cats))))
    conn.execute(delete(case_summary_county).where(case_summary_county.c.category.in_(cats)))
    conn.execute(insert(case_summary_county).from_select(
        [*_COUNTY_DIMS, *_MEASURES], _county_select(case_summary.c.category.in_(cats))))
    conn.execute(delete(process_summary).where(process_summary.c.category.in_(cats)))
    conn.execute(insert(process_summary).from_select(_PROCESS_TARGET, _process_select(cases.c.category.in_(cats))))


# --- grid_summary ---------------------------------------------------------------------------------

GRID_DIMS = ("report_month", "province_code", "city_code", "county_code", "township_code", "village_code",
             "top_grid_code")
_GRID_TARGET = ["month", *GRID_DIMS[1:], "n", "n_patrol"]


def grid_measures(t) -> list:
    """Cases and patrol reports of a grid, named as grid_summary's columns (also for a query from ``cases``)."""
    return [func.count().label("n"), func.coalesce(func.sum(_when(t.c.source == "patrol", 1)), 0).label("n_patrol")]


def _grid_select(where=None, flip_rereported: bool = False):
    src, where = _source(where, flip_rereported)
    dims = [src.c[d] for d in GRID_DIMS]
    stmt = select(*dims, *grid_measures(src))
    if where is not None:
        stmt = stmt.where(where)
    return stmt.group_by(*dims)


def rebuild_grid_summary(conn: Connection) -> int:
    conn.execute(delete(grid_summary))
    conn.execute(insert(grid_summary).from_select(_GRID_TARGET, _grid_select()))
    return conn.execute(select(func.count()).select_from(grid_summary)).scalar_one()


# --- case_day_counts (the early warnings' daily counts) ---------------------------------------------

# its dimensions as the select gives them (report_month → month), then the count
DAY_COUNT_COLUMNS = ["month", "day", "county_code", "township_code", "village_code", "top_grid_code", "category", "n"]


def _day_count_select(where=None, flip_rereported: bool = False):
    """case_day_counts' rows of the cases ``where`` selects: the one definition of the roll-up, read by the
    rebuild, a slice rebuild and the contributions of a write or a batch (``flip_rereported`` changes nothing
    here; taken for the common signature)."""
    src, where = _source(where, flip_rereported)
    dims = [src.c.report_month, day_of(src.c.reported_at).label("day"), src.c.county_code, src.c.township_code,
            src.c.village_code, src.c.top_grid_code, src.c.category]
    stmt = select(*dims, func.count().label("n"))
    if where is not None:
        stmt = stmt.where(where)
    # grouped in the order of ix_case_day_counts_day (day, category, county, …; the month follows from the day), so
    # that SQLite's sorted groups go into that index in its order: a whole rebuild writes ~1 row per case on skewed
    # data (966,000 for 1.07 M cases; 10.9 -> 9.3 s on SQLite)
    return stmt.group_by(dims[1], src.c.category, src.c.county_code, src.c.township_code, src.c.village_code,
                         src.c.top_grid_code, src.c.report_month)


def rebuild_day_counts(conn: Connection) -> int:
    conn.execute(delete(case_day_counts))
    conn.execute(insert(case_day_counts).from_select(DAY_COUNT_COLUMNS, _day_count_select()))
    return conn.execute(select(func.count()).select_from(case_day_counts)).scalar_one()


# --- structure_summary (the staffing and volunteer pages' counts) ------------------------------------------

STRUCTURE_COUNTS = ("households", "population", *STAFF_ROLES, "staff", "party_members", "grid_workers_in_grid",
                    "teams", "members")
_STRUCTURE_TARGET = ["code", "level", *[f"{lv}_code" for lv in REGION_LEVELS], "grid_code", *STRUCTURE_COUNTS]
assert tuple(structure_summary.c.keys()) == tuple(_STRUCTURE_TARGET), "structure_summary's columns"


def structure_select(nodes=None):
    """structure_summary's rows: every node of ``node_paths`` with its grid's households and residents (a grid's or
    micro-grid's own), the *active* staff posted at it (a post lies at its grid, else its region: metrics.py) by
    role, with the party members among them, a grid's active grid workers counting those of its micro-grids, and
    the volunteer teams serving at it (its grid, else its region) with their members.  ``nodes`` (a bound
    :class:`~data_access.core.sqlfn.ValueList`, or None for all): only those nodes' rows — the one definition read
    by the rebuild and by the refresh of a batch's nodes (:func:`refresh_structure_summary`).

    One GROUP BY over the nodes' own rows and one row per post, grid worker and team (UNION ALL): joining the
    posts grouped by their coalesced place to the nodes was a nested loop on SQLite (no index on an expression of
    a subquery)."""
    p, g, s, t = node_paths, grids, staff, volunteer_teams
    sp = node_paths.alias("sp")
    s_at, t_at = served_node(s), served_node(t)
    path = ["level", *[f"{lv}_code" for lv in REGION_LEVELS], "grid_code"]
    null_path = [cast(null(), String).label(c) for c in path]
    zero, one = literal_column("0", Integer), literal_column("1", Integer)   # constants, not parameters (UNION)

    def row(code, households=zero, population=zero, role=None, party=zero, workers=zero, teams=zero, members=zero,
            path_cols=None):
        return [code.label("code"), *(path_cols or null_path), households.label("households"),
                population.label("population"),
                *[(_when(s.c.role == r, 1) if role is not None else zero).label(r) for r in STAFF_ROLES],
                (one if role is not None else zero).label("staff"), party.label("party_members"),
                workers.label("grid_workers_in_grid"), teams.label("teams"), members.label("members")]

    def only(col):
        return [in_values(col, nodes)] if nodes is not None else []

    def at_nodes(table):   # the rows whose place (grid, else region) is one of the nodes, by the two indexes
        return [or_(in_values(table.c.grid_code, nodes), and_(table.c.grid_code.is_(None),
                                                                in_values(table.c.region_code, nodes)))
                ] if nodes is not None else []

    parts = union_all(
        select(*row(p.c.code, func.coalesce(g.c.households, 0), func.coalesce(g.c.population, 0),
                    path_cols=[p.c[c] for c in path]))
        .select_from(p.outerjoin(g, g.c.code == p.c.code)).where(*only(p.c.code)),
        select(*row(s_at, role=True, party=_when(s.c.party_member.is_(True), 1)))
        .where(s.c.active.is_(True), *at_nodes(s)),
        select(*row(sp.c.grid_code, workers=one)).select_from(s.join(sp, sp.c.code == s.c.grid_code))
        .where(s.c.active.is_(True), s.c.role == "grid_worker", sp.c.level == "micro_grid", *only(sp.c.grid_code)),
        select(*row(t_at, teams=one, members=t.c.members)).where(*at_nodes(t)),
    ).subquery("u")
    u = parts.c
    # a grid's grid workers: its own posts (counted as grid_worker) and its micro-grids' (the third part)
    workers = sql_case((func.max(u.level) == "grid", int_sum(u.grid_worker) + int_sum(u.grid_workers_in_grid)),
                       else_=0)
    return (select(u.code, *[func.max(u[c]) for c in path], int_sum(u.households), int_sum(u.population),
                   *[int_sum(u[r]) for r in STRUCTURE_COUNTS[2:-3]], workers, int_sum(u.teams), int_sum(u.members))
            .group_by(u.code).having(func.max(u.level).is_not(None)))   # a place that is a node


def rebuild_structure_summary(conn: Connection) -> int:
    """Rebuild ``structure_summary`` from node_paths, grids, staff and volunteer_teams (after a load, or a batch
    that changed the region tree); returns its row count."""
    conn.execute(delete(structure_summary))
    conn.execute(insert(structure_summary).from_select(_STRUCTURE_TARGET, structure_select()))
    return conn.execute(select(func.count()).select_from(structure_summary)).scalar_one()


def refresh_structure_summary(conn: Connection, nodes: Iterable[str | None]) -> int:
    """Rebuild the rows of ``nodes`` (where a batch's staff and teams lay before it and lie after it) and of their
    grids (a micro-grid's grid workers count for its grid), in the caller's transaction; returns the rows written."""
    codes = sorted({c for c in nodes if c})
    if not codes:
        return 0
    np = node_paths.c
    tops = conn.execute(select(np.grid_code).where(in_values(np.code, bindparam("nodes", type_=ValueList())),
                                                   np.grid_code.is_not(None)).distinct(), {"nodes": codes}).scalars()
    codes = sorted(set(codes) | set(tops))
    _replace_rows(conn, structure_summary, "code", _STRUCTURE_TARGET, structure_select, codes)
    return len(codes)


def _replace_rows(conn: Connection, table: Table, key: str, target: list[str], select_of, keys: list[str]) -> None:
    """Delete ``table``'s rows whose ``key`` is one of ``keys`` and insert them again from ``select_of(keys)``,
    the roll-up's one definition restricted to those keys (a bound list)."""
    delete_rows, insert_again = _replace_statements(table, key, tuple(target), select_of)
    conn.execute(delete_rows, {"keys": keys})
    conn.execute(insert_again, {"keys": keys})


@cache
def _replace_statements(table: Table, key: str, target: tuple[str, ...], select_of) -> tuple:
    keys = bindparam("keys", type_=ValueList())
    return (delete(table).where(in_values(table.c[key], keys)),
            insert(table).from_select(list(target), select_of(keys)))


# --- team_summary (the volunteer pages' teams) ------------------------------------------------------------

_TEAM_TARGET = ["team_code", "code", "level", *[f"{lv}_code" for lv in REGION_LEVELS], "grid_code", "name",
                "members", "founded_on", "focus", "last_activity"]
assert tuple(team_summary.c.keys()) == tuple(_TEAM_TARGET), "team_summary's columns"


def team_select(teams=None):
    """team_summary's rows: every volunteer team with the path of the place it serves (its grid, else its region;
    metrics.py) and the date of its latest activity (NULL: none).  ``teams`` (a bound
    :class:`~data_access.core.sqlfn.ValueList`, or None for all): only those teams' rows — the one definition read
    by the rebuild and by the refresh of a batch's teams (:func:`refresh_team_summary`)."""
    t, p, a = volunteer_teams, node_paths, volunteer_activities
    last = (select(func.max(a.c.date)).where(a.c.team_code == t.c.team_code).correlate(t)
            .scalar_subquery())   # by key from the (team, date) index
    path = ["level", *[f"{lv}_code" for lv in REGION_LEVELS], "grid_code"]
    return (select(t.c.team_code, p.c.code, *[p.c[c] for c in path], t.c.name, t.c.members, t.c.founded_on,
                   t.c.focus, last.label("last_activity"))
            .select_from(t.join(p, p.c.code == served_node(t)))
            .where(*([in_values(t.c.team_code, teams)] if teams is not None else [])))


def rebuild_team_summary(conn: Connection) -> int:
    """Rebuild ``team_summary`` from volunteer_teams, node_paths and volunteer_activities (after a load, or a
    batch that changed the region tree); returns its row count."""
    conn.execute(delete(team_summary))
    conn.execute(insert(team_summary).from_select(_TEAM_TARGET, team_select()))
    return conn.execute(select(func.count()).select_from(team_summary)).scalar_one()


def refresh_team_summary(conn: Connection, teams: Iterable[str | None]) -> int:
    """Rebuild the rows of ``teams`` (a batch's teams and the teams of its activities, sent or deleted), in the
    caller's transaction; returns the teams refreshed."""
    codes = sorted({c for c in teams if c})
    if codes:
        _replace_rows(conn, team_summary, "team_code", _TEAM_TARGET, team_select, codes)
    return len(codes)


# --- maintenance by difference --------------------------------------------------------------------------

# one transaction at a time changes the roll-ups (PostgreSQL; SQLite has one writer anyway): a row is read,
# changed by the difference and written back, so two writers must not interleave (a lost update, or a row
# inserted twice).  Taken before a writer reads its cases' old contributions.
ROLLUP_LOCK_KEY = 0x524F_4C4C   # "ROLL"

# roll-up -> (table, its columns as the select gives them, the select of the rows of a condition on cases,
#             how many leading columns are the dimensions, the dimensions an existing row is looked up by)
_BY_DIFFERENCE = {
    "case_summary": (case_summary, _TARGET_COLS, _summary_select, len(_DIMS), ("month", "township_code", "category")),
    "process_summary": (process_summary, _PROCESS_TARGET, _process_select, len(PROCESS_DIMS),
                        ("month", "township_code", "category")),
    "grid_summary": (grid_summary, _GRID_TARGET, _grid_select, len(GRID_DIMS), ("month", "top_grid_code")),
    "case_day_counts": (case_day_counts, DAY_COUNT_COLUMNS, _day_count_select, len(DAY_COUNT_COLUMNS) - 1,
                        ("day", "top_grid_code", "category")),
}
_COUNTY_TARGET = [*_COUNTY_DIMS, *_MEASURES]
_TOWNSHIP_AT = _TARGET_COLS.index("township_code")

Contribution = dict[str, dict[tuple, list[int]]]   # roll-up -> its dimensions -> its measures


def lock_rollups(conn: Connection) -> None:
    """Wait until no other transaction is changing the roll-ups (PostgreSQL; held to the transaction's end)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ROLLUP_LOCK_KEY})


def contributions(conn: Connection, case_nos: Iterable[str], *, flip_rereported: bool = False) -> Contribution:
    """What the cases ``case_nos`` add to each roll-up as they stand now: the very rows a rebuild would give
    them alone (the same selects), summed per row.  ``flip_rereported``: as they stood with the other
    re-report flag (cases whose flag alone was flipped since).

    One statement per roll-up whatever the number of cases: the case numbers are one parameter
    (sqlfn.in_values), so each SELECT is built and compiled once per process (:func:`_contribution_select`) and
    PostgreSQL parses it once, where IN lists of 500 made a new statement text for every chunk."""
    nos = sorted(set(case_nos))
    out: Contribution = {name: {} for name in _BY_DIFFERENCE}
    if not nos:
        return out
    for name, (_table, _cols, _select_of, ndims, _probe) in _BY_DIFFERENCE.items():
        acc = out[name]
        for row in conn.execute(_contribution_select(name, flip_rereported), {"nos": nos}):
            key, vals = tuple(row[:ndims]), [int(v) for v in row[ndims:]]
            have = acc.get(key)
            acc[key] = vals if have is None else [a + b for a, b in zip(have, vals)]
    return out


@cache
def _contribution_select(name: str, flip_rereported: bool):
    """The roll-up ``name``'s rows of the cases whose numbers are bound as the list :nos."""
    select_of = _BY_DIFFERENCE[name][2]
    return select_of(in_values(cases.c.case_no, bindparam("nos", type_=ValueList())),
                     flip_rereported=flip_rereported)


def combine(*parts: Contribution) -> Contribution:
    """The sum of contributions (of different cases)."""
    out: Contribution = {name: {} for name in _BY_DIFFERENCE}
    for part in parts:
        for name, rows in part.items():
            acc = out[name]
            for key, vals in rows.items():
                have = acc.get(key)
                acc[key] = list(vals) if have is None else [a + b for a, b in zip(have, vals)]
    return out


def apply_contributions(conn: Connection, before: Contribution, after: Contribution) -> int:
    """Change every roll-up by ``after`` − ``before`` (the touched cases' new contribution less their old one):
    rows added to, inserted, or deleted when their count reaches 0 — the cost follows the cases, not the size
    of their slices.  All measures are integers (times in whole seconds: :func:`seconds_sql`), so the rows are
    exactly a rebuild's.  A row the difference cannot apply to (missing, twice, or a count below 0: a roll-up
    out of step, which no writer leaves) has its slice rebuilt instead.  Returns the rows changed."""
    changed = 0
    repair: set[tuple] = set()
    repair_counties: set[tuple] = set()
    county: dict[tuple, list[int]] = {}
    for name, (table, cols, _select_of, ndims, _probe) in _BY_DIFFERENCE.items():
        delta = _difference(before.get(name, {}), after.get(name, {}))
        if name == "case_summary":
            county = {}
            for key, vals in delta.items():
                ck = key[:_TOWNSHIP_AT] + key[_TOWNSHIP_AT + 1:]
                have = county.get(ck)
                county[ck] = vals if have is None else [a + b for a, b in zip(have, vals)]
            county = {k: v for k, v in county.items() if any(v)}
        n, bad = _apply(conn, table, cols, ndims, delta)
        changed += n
        month_at, county_at, township_at = cols.index("month"), cols.index("county_code"), cols.index("township_code")
        repair |= {(k[month_at], k[county_at], k[township_at]) for k in bad}
        if name == "case_summary":
            n, bad = _apply(conn, case_summary_county, _COUNTY_TARGET, len(_COUNTY_DIMS), county)
            changed += n
            repair_counties = {(k[0], k[_COUNTY_DIMS.index("county_code")]) for k in bad}
    if repair:
        refresh_case_summary(conn, repair)
    for m, c in repair_counties - {(m, c) for m, c, _t in repair}:
        for stmt in _county_statements(c is None):
            conn.execute(stmt, {"m": m, "c": c})
    return changed


def _difference(before: dict, after: dict) -> dict[tuple, list[int]]:
    delta = {k: list(v) for k, v in after.items()}
    for key, vals in before.items():
        have = delta.get(key)
        delta[key] = [-v for v in vals] if have is None else [a - b for a, b in zip(have, vals)]
    return {k: v for k, v in delta.items() if any(v)}


def _apply(conn: Connection, table, cols: list[str], ndims: int, delta: dict[tuple, list[int]]) -> tuple[int, set[tuple]]:
    """Add ``delta`` (dimensions -> measures) to ``table``'s rows; returns (rows changed, keys out of step).

    Set-based, a handful of statements per table whatever the size of ``delta``: the differences go into a
    temporary table (:func:`_delta_table`, one bulk INSERT), then per pattern of NULL dimensions (usually one)
    one SELECT finds the keys out of step (matching more than one stored row, or a count that would fall
    below 0, or reach 0 with other measures left), which are taken out and returned for a slice rebuild; one
    UPDATE … FROM adds the rest to their stored rows, one INSERT … SELECT adds the rows not stored yet, and the
    rows whose count reached 0 (the check names them too) are deleted by key.  (The roll-ups have no unique key
    on their dimensions — some may be NULL — so an upsert does not fit.)  Where this ran one UPDATE per row, a 10,000-case batch at
    1.07 M cases spent 7 s in 18,000 of them."""
    if not delta:
        return 0, set()
    if len(delta) <= BY_KEY_MAX:
        return _apply_by_key(conn, table, cols, ndims, delta)
    tmp = _delta_table(table.name)
    conn.execute(_create_delta_table(table.name))
    conn.execute(delete(tmp))
    keys: list[tuple] = []
    masks: set[int] = set()
    rows = []
    for i, (key, d) in enumerate(delta.items()):
        mask = _mask(key)
        masks.add(mask)
        keys.append(key)
        rows.append({"id": i, "mask": mask, **dict(zip(cols, (*key, *d)))})
    insert_rows(conn, tmp, rows)   # PostgreSQL: one statement, the rows one JSON parameter
    bad: set[tuple] = set()
    dialect = conn.dialect.name
    for mask in sorted(masks):
        check, update, insert_new = _apply_statements(table.name, tuple(cols), ndims, mask, dialect)
        found = conn.execute(check).all()
        out = sorted({i for i, is_bad in found if is_bad})
        zero = sorted({i for i, is_bad in found if not is_bad} - set(out))
        if out:
            bad |= {keys[i] for i in out}
            conn.execute(delete(tmp).where(tmp.c.id == bindparam("bad_id")), [{"bad_id": i} for i in out])
        conn.execute(update)
        conn.execute(insert_new)
        if zero:
            # the rows whose count reached 0, by key (the check named them).  A DELETE joining the differences
            # was planned from the roll-up's statistics, which hold no row of count 0: one row expected, so a
            # nested loop scanning the (unanalysed) temporary table for each of the 1,263 rows it found — 4.8 M
            # rows compared, 0.6–2.8 s of a 10,000-case batch on skewed-100k (PostgreSQL)
            delete_row = _key_statements(table.name, tuple(cols), ndims, mask)[2]
            dims = cols[:ndims]
            conn.execute(delete_row, [{f"k_{c}": v for c, v in zip(dims, keys[i]) if v is not None} for i in zero])
    # every key left matched at most one stored row (the check): it changed exactly one row, updated (or deleted)
    # or inserted — counted so, not by rowcount, which SQLAlchemy does not keep for INSERT … SELECT on psycopg
    return len(delta) - len(bad), bad


# a difference of at most this many rows is applied row by row (:func:`_apply_by_key`): one or two statements a
# row, where the set-based way runs seven a roll-up whatever its size (a 1-case write changes 1–2 rows of each)
BY_KEY_MAX = 16


def _apply_by_key(conn: Connection, table, cols: list[str], ndims: int,
                  delta: dict[tuple, list[int]]) -> tuple[int, set[tuple]]:
    """:func:`_apply` for a few rows: each row's difference added by one UPDATE … RETURNING (the stored row's new
    measures), then an INSERT if no row was stored or a DELETE if its count reached 0.  The same rules as the
    set-based way: a key matching more than one stored row, or a count below 0, or 0 with other measures left,
    is out of step and returned for a slice rebuild (which replaces whatever this changed in the slice)."""
    bad: set[tuple] = set()
    dims, measures = cols[:ndims], cols[ndims:]
    for key, d in delta.items():
        mask = _mask(key)
        update_row, insert_row, delete_row = _key_statements(table.name, tuple(cols), ndims, mask)
        where = {f"k_{c}": v for c, v in zip(dims, key) if v is not None}
        stored = conn.execute(update_row, {**where, **{f"d_{m}": v for m, v in zip(measures, d)}}).all()
        if len(stored) > 1:
            bad.add(key)
            continue
        new = list(stored[0]) if stored else list(d)
        if new[0] < 0 or (new[0] == 0 and any(new[1:])):
            bad.add(key)
        elif not stored:
            conn.execute(insert_row, dict(zip(cols, (*key, *d))))
        elif new[0] == 0:
            conn.execute(delete_row, where)
    return len(delta) - len(bad), bad


@cache
def _key_statements(name: str, cols: tuple[str, ...], ndims: int, mask: int) -> tuple:
    """UPDATE … RETURNING, INSERT and DELETE of one row of the roll-up ``name`` by its dimensions (those of the
    NULL pattern ``mask`` compared with IS NULL) for :func:`_apply_by_key`."""
    table = _ROLLUP_TABLES[name]
    dims, measures = cols[:ndims], cols[ndims:]
    on = [table.c[c].is_(None) if mask >> i & 1 else table.c[c] == bindparam(f"k_{c}")
          for i, c in enumerate(dims)]
    update_row = (table.update().where(*on)
                  .values({m: table.c[m] + bindparam(f"d_{m}", type_=BigInteger) for m in measures})
                  .returning(*[table.c[m] for m in measures]))
    return update_row, insert(table), delete(table).where(*on)


def _mask(key: tuple) -> int:
    """Which of a key's dimensions are NULL, as bits."""
    return sum(1 << i for i, v in enumerate(key) if v is None)


_delta_metadata = MetaData()   # not the schema's: never created by migrations, only by _create_delta_table


@cache
def _delta_table(name: str) -> Table:
    """A temporary table of differences for the roll-up ``name`` (its dimensions, its measures as BIGINT, a row
    id and the row's NULL pattern); PostgreSQL empties it at each commit.  Defined once whatever ``name``'s type: a
    plain str and a table's quoted_name are two keys of the cache but one table of ``_delta_metadata``."""
    existing = _delta_metadata.tables.get(f"tmp_rollup_delta_{name}")
    if existing is not None:
        return existing
    table = _ROLLUP_TABLES[name]
    cols = _COLS_OF[name]
    ndims = _NDIMS_OF[name]
    return Table(f"tmp_rollup_delta_{name}", _delta_metadata,
                 Column("id", Integer, nullable=False), Column("mask", Integer, nullable=False),
                 *[Column(c, table.c[c].type) for c in cols[:ndims]],
                 *[Column(c, BigInteger) for c in cols[ndims:]],
                 prefixes=["TEMPORARY"], postgresql_on_commit="DELETE ROWS")


@cache
def _create_delta_table(name: str):
    return CreateTable(_delta_table(name), if_not_exists=True)


@cache
def _apply_statements(name: str, cols: tuple[str, ...], ndims: int, mask: int, dialect: str) -> tuple:
    """The check, UPDATE and INSERT that apply the differences of the NULL pattern ``mask`` (see :func:`_apply`)."""
    table = _ROLLUP_TABLES[name]
    d = _delta_table(name)
    dims, measures = cols[:ndims], cols[ndims:]
    null = [bool(mask >> i & 1) for i in range(ndims)]
    on = [table.c[c].is_(None) if is_null else table.c[c] == d.c[c] for c, is_null in zip(dims, null)]
    mine = d.c.mask == mask
    # the stored value after the difference (0 where no row is stored)
    new = {m: func.coalesce(table.c[m], 0) + d.c[m] for m in measures}
    n = new[measures[0]]
    # (a roll-up of one measure, case_day_counts, has no other measures: an empty or_() would read as true)
    out_of_step = (or_(n < 0, and_(n == 0, or_(*[new[m] != 0 for m in measures[1:]]))) if len(measures) > 1
                   else n < 0)
    matches = func.count().over(partition_by=d.c.id)
    inner = (select(d.c.id, matches.label("k"), sql_case((out_of_step, 1), else_=0).label("bad"),
                    sql_case((and_(table.c[measures[0]].is_not(None), n == 0), 1), else_=0).label("zero"))
             .select_from(d.outerjoin(table, and_(*on))).where(mine).subquery("j"))
    # (id, 1) a key out of step, (id, 0) a key whose stored row's count reaches 0 (deleted after the update)
    check = select(inner.c.id, sql_case((or_(inner.c.k > 1, inner.c.bad == 1), 1), else_=0)).where(
        or_(inner.c.k > 1, inner.c.bad == 1, inner.c.zero == 1))
    update = (table.update().where(*on, mine)
              .values({m: table.c[m] + d.c[m] for m in measures}))
    stored = select(literal(1)).select_from(table).where(*on).exists()
    insert_new = insert(table).from_select(list(cols), select(*[d.c[c] for c in cols]).where(mine, ~stored))
    return check, update, insert_new


_ROLLUP_TABLES = {t.name: t for t in (case_summary, case_summary_county, process_summary, grid_summary,
                                       case_day_counts)}
_COLS_OF = {**{name: cols for name, (_t, cols, _s, _n, _p) in _BY_DIFFERENCE.items()},
            "case_summary_county": _COUNTY_TARGET}
_NDIMS_OF = {**{name: n for name, (_t, _c, _s, n, _p) in _BY_DIFFERENCE.items()},
             "case_summary_county": len(_COUNTY_DIMS)}
