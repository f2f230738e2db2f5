"""Questions the supervision centre asks about the process: time per step, departments, bounced cases.

Definitions (metrics.py holds the general ones: step time, step limit, returned, bounced):

- **cases in the selection**: cases *reported* in the period and region, as on the Overview.
- **time per step** (环节用时分布): for each step of ``PROCESS_STEPS`` (受理 accept, 分流 dispatch,
  处置 handle, 反馈 feedback) the cases that reached it, bucketed by step time ÷ step limit
  (``metrics.RATIO_BUCKET_EDGES``; buckets 0–3 are within the limit, i.e. ≤ 1×); per step also ``n`` (cases that
  reached it), ``within`` (step time ≤ step limit), ``within_share`` = within ÷ n and ``mean_hours``.
  A step not reached (e.g. a case settled on the spot has no 受理…反馈 steps) is not counted.
- **department** (职能部门): the case's ``department_code`` (the department that handles it now);
  **received** = cases in the selection with that department, **closed**, **on time** (closed by the due
  time), **on-time share** = on time ÷ closed, **median time to handle** = median hours from dispatch to
  handled (the step 处置, from a histogram as every median of the dashboard), **returns** = ``return``
  events of its cases, **reassignments** = ``reassign`` events, **returned** / **bounced** cases (≥ 1 / ≥
  ``BOUNCE_RETURNS`` returns), **open overdue** = its cases in the selection that are open and past due now.
  Cases without a department (settled by the grid) are left out of the department table and of the
  by-department step times.
- **bounce** (推诿回退): a ``return`` event followed later by a ``dispatch`` or ``reassign`` event (the case
  was re-dispatched).  The event log records the org that *acts* (sample_data/generator.py: a return carries
  the returning department, a dispatch the dispatching centre/township), so the pair is: **from** = the
  return event's ``org_code``; **to** = the first department named at or after the re-dispatch — the
  dispatch/reassign event's own ``org_code`` when it is a department (platforms that log the destination),
  else the org of the next ``handle`` or ``return`` event by a department.  Only pairs where both ends are
  departments are counted; ``from = to`` means the case was sent back to the department that returned it.
- **bounced cases list**: cases in the selection with ``n_returns ≥ min_returns``; ``departments`` is the
  order in which departments appear in its event log (consecutive repeats collapsed).

Whole months are read from ``process_summary``; the edge days of the period and every filter the roll-up
cannot answer (sources, statuses, resolution levels, satisfaction, text, supervised/overdue only, regions below
township) are computed from ``cases`` with the same expressions (summary.process_flags/process_measures).
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import (
    Connection,
    Engine,
    func,
    literal_column,
    select,
)
from sqlalchemy.sql.visitors import replacement_traverse

from data_access.core.clock import now_local
from data_access.core.counting import rows_of
from data_access.core.derived import ROUTE_ACTIONS
from data_access.core.filters import (
    SUMMARY_LEVELS,
    CaseFilter,
    Resolved,
    case_conditions,
    open_overdue_condition,
    period_parts,
    resolve,
    summary_conditions,
)
from data_access.core.metrics import (
    BUCKET_COLUMNS,
    RATIO_BUCKET_EDGES,
    mean_hours,
    median_from_histogram,
    on_time_rate,
    ratio,
)
from data_access.core.schema import (
    N_RATIO_BUCKETS,
    PROCESS_STEPS,
    case_bounces,
    case_events,
    cases,
    departments,
    process_summary,
)
from data_access.core.search import normalise
from data_access.core.sqlfn import no_index
from data_access.core.rollups import PROCESS_MEASURE_COLUMNS, int_sum, process_flags, process_measures

BY_CHOICES = ("category", "department", None)
HH_COLUMNS = tuple(f"hh{i}" for i in range(len(BUCKET_COLUMNS)))
_GROUP_COLUMN = {"category": "category", "department": "department_code"}
STEP_COLUMNS = ["step", "bucket", "bucket_label", "cases", "n", "within", "within_share", "mean_hours"]
DEPARTMENT_COLUMNS = ["department_code", "name", "region_code", "received", "closed", "on_time", "on_time_share",
                      "median_handle_hours", "returns", "reassignments", "returned", "bounced", "open_overdue"]
BOUNCED_COLUMNS = ["case_no", "title", "category", "status", "n_returns", "n_reassigns", "departments",
                   "reported_at"]
PAIR_COLUMNS = ["from_department", "from_name", "to_department", "to_name", "cases", "returns"]


def ratio_bucket_labels() -> list[str]:
    """Labels of the step-time ÷ step-limit buckets: '0–0.25', …, '2–3', '≥3' (multiples of the limit)."""
    e = RATIO_BUCKET_EDGES
    return [f"{e[i]:g}–{e[i + 1]:g}" for i in range(len(e) - 1)] + [f"≥{e[-1]:g}"]


def _process_usable(r: Resolved) -> bool:
    """Can ``process_summary`` answer this filter?  (It has no status, resolution level or source.)"""
    f = r.f
    if (f.sources or f.statuses or f.resolution_levels or f.satisfaction or f.overdue or f.supervised_only
            or normalise(f.text)):
        return False
    return r.code is None or r.level in SUMMARY_LEVELS


def _summary_conditions(r: Resolved, months: tuple[str, str]) -> list:
    return summary_conditions(r, months, process_summary)


def _summary_part(conn: Connection, r: Resolved, months: tuple[str, str], by: str | None,
                  columns: Sequence[str]) -> pd.DataFrame:
    s = process_summary.c
    gcols = [s[_GROUP_COLUMN[by]].label("g")] if by else []
    stmt = (select(*gcols, *[int_sum(s[m]).label(m) for m in columns])
            .where(*_summary_conditions(r, months)))
    if gcols:
        stmt = stmt.group_by(s[_GROUP_COLUMN[by]])
    df = pd.DataFrame(conn.execute(stmt).all(), columns=[*(["g"] if by else []), *columns])
    if not by:
        df.insert(0, "g", "all")
    return df


def _raw_part(conn: Connection, r: Resolved, now: datetime, dates, by: str | None,
              columns: Sequence[str]) -> pd.DataFrame:
    gcols = [cases.c[_GROUP_COLUMN[by]].label("g")] if by else []
    inner = select(*gcols, *process_flags(cases)).where(*case_conditions(r, now, dates=dates)).subquery("p")
    measures = [m for m in process_measures(inner) if m.name in columns]
    stmt = select(*[inner.c.g] if by else [], *measures)
    if by:
        stmt = stmt.group_by(inner.c.g)
    rows = conn.execute(stmt).mappings().all()
    return pd.DataFrame([{"g": row["g"] if by else "all", **{m: row[m] for m in columns}} for row in rows],
                        columns=["g", *columns])


def process_counts(engine: Engine, f: CaseFilter, by: str | None = None, now: datetime | None = None,
                   columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Additive process counts (process_summary's measure columns) of the selection, by ``by``
    ('category', 'department' or None); column ``g`` holds the group ('all' when None)."""
    assert by in BY_CHOICES, by
    columns = list(columns or PROCESS_MEASURE_COLUMNS)
    now = now or now_local()
    r = resolve(engine, f)
    with engine.connect() as conn:
        parts = period_parts(r, _process_usable(r),
                             lambda months: _summary_part(conn, r, months, by, columns),
                             lambda days: _raw_part(conn, r, now, days, by, columns))
    if not parts:
        return pd.DataFrame(columns=["g", *columns])
    df = pd.concat(parts, ignore_index=True)
    df = df.groupby("g", dropna=False, as_index=False)[columns].sum()
    df = df[df["n"] > 0] if "n" in columns else df
    return df.reset_index(drop=True)


def _department_names(conn: Connection, codes: Sequence[str]) -> dict[str, tuple[str, str]]:
    codes = [c for c in codes if c]
    if not codes:
        return {}
    rows = conn.execute(select(departments.c.code, departments.c.name, departments.c.region_code)
                        .where(departments.c.code.in_(codes))).all()
    return {c: (n, rc) for c, n, rc in rows}


def step_time_distribution(engine: Engine, f: CaseFilter, by: str | None = "category",
                           now: datetime | None = None) -> pd.DataFrame:
    """Per step (PROCESS_STEPS) × ratio bucket (0..7): the number of cases, with the step's n, within,
    within_share and mean_hours repeated on each of its rows; ``by`` ('category', 'department', None) adds
    that column first (the code; for departments also ``department_name``).  Cases without a department are
    left out when ``by='department'``."""
    assert by in BY_CHOICES, by
    cols = ["n"]
    for step in PROCESS_STEPS:
        cols += [f"{step}_n", f"{step}_within", f"{step}_seconds", *[f"{step}_r{i}" for i in range(N_RATIO_BUCKETS)]]
    counts = process_counts(engine, f, by, now, cols)
    if by == "department":
        counts = counts[counts["g"].notna()]
    counts = counts.sort_values("g", kind="stable")
    labels = ratio_bucket_labels()
    rows = []
    for rec in counts.to_dict("records"):
        for step in PROCESS_STEPS:
            n, within = int(rec[f"{step}_n"]), int(rec[f"{step}_within"])
            share, mean = ratio(within, n), mean_hours(rec[f"{step}_seconds"], n)
            for i in range(N_RATIO_BUCKETS):
                rows.append({"g": rec["g"], "step": step, "bucket": i, "bucket_label": labels[i],
                             "cases": int(rec[f"{step}_r{i}"]), "n": n, "within": within,
                             "within_share": share, "mean_hours": mean})
    out_cols = ([by] if by else []) + STEP_COLUMNS
    df = pd.DataFrame(rows, columns=["g", *STEP_COLUMNS])
    for c in ("within_share", "mean_hours"):
        df[c] = df[c].astype("float64")
    df = df.rename(columns={"g": by}) if by else df.drop(columns="g")
    df = df[out_cols].reset_index(drop=True)
    if by == "department":
        with engine.connect() as conn:
            names = _department_names(conn, list(df["department"].unique()))
        df.insert(1, "department_name", [names.get(c, (c, None))[0] for c in df["department"]])
    return df


def step_share_table(dist: pd.DataFrame, by: str) -> pd.DataFrame:
    """A :func:`step_time_distribution` grouped ``by`` ('category' or 'department') as one row per group:
    the group's code (column ``by``), ``name`` (the department's name; the code for a category), ``cases``
    (the largest n of its steps) and, per step of PROCESS_STEPS it has, the share of cases within the step's
    limit (a fraction); most cases first."""
    table = dist.drop_duplicates([by, "step"])
    wide = table.pivot_table(index=by, columns="step", values="within_share", aggfunc="first", dropna=False)
    n = table.groupby(by, dropna=False)["n"].max()
    wide = wide.reindex(columns=[s for s in PROCESS_STEPS if s in wide.columns])
    names = dict(zip(table["department"], table["department_name"])) if by == "department" else {}
    out = pd.DataFrame({by: wide.index.to_numpy(), "name": [names.get(k, k) for k in wide.index],
                        "cases": n.reindex(wide.index).to_numpy()})
    for s in wide.columns:
        out[s] = wide[s].astype(float).to_numpy()
    return out.sort_values("cases", ascending=False)


def department_table(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """One row per department that received cases in the selection (DEPARTMENT_COLUMNS), most cases first.

    Cases without a department (settled by the grid, never dispatched) are left out.  ``open_overdue`` counts
    the department's cases in the selection that are open and past due at ``now`` (from ``cases``)."""
    now = now or now_local()
    cols = ["n", "n_closed", "n_on_time", "sum_returns", "sum_reassigns", "n_returned", "n_bounced", *HH_COLUMNS]
    counts = process_counts(engine, f, "department", now, cols)
    counts = counts[counts["g"].notna()]
    r = resolve(engine, f)
    stmt = (select(cases.c.department_code, func.count())
            .where(open_overdue_condition(now), cases.c.department_code.is_not(None), *case_conditions(r, now))
            .group_by(cases.c.department_code))
    with engine.connect() as conn:
        overdue = dict(conn.execute(stmt).all())
        names = _department_names(conn, list(counts["g"]))
    rows = []
    for rec in counts.to_dict("records"):
        code = rec["g"]
        name, region = names.get(code, (code, None))
        rows.append({
            "department_code": code, "name": name, "region_code": region,
            "received": int(rec["n"]), "closed": int(rec["n_closed"]), "on_time": int(rec["n_on_time"]),
            "on_time_share": on_time_rate(rec["n_on_time"], rec["n_closed"]),
            "median_handle_hours": median_from_histogram([rec[c] for c in HH_COLUMNS]),
            "returns": int(rec["sum_returns"]), "reassignments": int(rec["sum_reassigns"]),
            "returned": int(rec["n_returned"]), "bounced": int(rec["n_bounced"]),
            "open_overdue": int(overdue.get(code, 0)),
        })
    df = pd.DataFrame(rows, columns=DEPARTMENT_COLUMNS)
    for c in ("on_time_share", "median_handle_hours"):
        df[c] = df[c].astype("float64")
    return df.sort_values(["received", "department_code"], ascending=[False, True], kind="stable"
                          ).reset_index(drop=True)


def _returned_condition():
    # Rendered as a literal so that SQLite sees that the query implies the partial index's WHERE clause
    # (ix_cases_returns: n_returns > 0), as filters.open_condition does for ix_cases_open.
    return cases.c.n_returns.op(">")(literal_column("0"))


# Above township level a returned case is easier to find through the partial index ix_cases_returns (~2 % of
# cases) than through the region/report-date indexes (SQLite picks those by default and reads far more rows).
_BROAD_LEVELS = (None, "province", "city", "county")
_STEERED = {cases.c.reported_at, cases.c.province_code, cases.c.city_code, cases.c.county_code}


def _returned_conditions(r: Resolved, now: datetime, min_returns: int = 1) -> list:
    """WHERE conditions for the selection's cases returned ``min_returns`` or more times."""
    conds = case_conditions(r, now)
    if r.level in _BROAD_LEVELS:
        conds = [replacement_traverse(c, {}, lambda e: no_index(e) if any(e is col for col in _STEERED) else None)
                 for c in conds]
    conds = [_returned_condition(), *conds]
    if min_returns > 1:
        conds.append(cases.c.n_returns >= min_returns)
    return conds


def _selected_returned_cases(r: Resolved, now: datetime, min_returns: int = 1):
    return select(cases.c.case_no).where(*_returned_conditions(r, now, min_returns))


def _route(events: Sequence[tuple[str, str | None]], dept_codes: set[str]) -> list[str]:
    """Departments in the order they appear in (action, org_code) events, consecutive repeats collapsed."""
    out: list[str] = []
    for action, org in events:
        if action in ROUTE_ACTIONS and org in dept_codes and (not out or out[-1] != org):
            out.append(org)
    return out


BOUNCED_ROWS = 200  # the bounced-case list shows the first 200 (ui/capped.py offers the rest)


def bounced_cases(engine: Engine, f: CaseFilter, min_returns: int = 2, limit: int | None = BOUNCED_ROWS,
                  now: datetime | None = None, count: bool = False) -> pd.DataFrame | int:
    """Cases in the selection returned ``min_returns`` or more times, most returns first (BOUNCED_COLUMNS);
    ``departments`` is the route through departments as "A → B → A".
    With ``count``: how many rows the whole list has (an int), through the same statement (ui/capped.py)."""
    now = now or now_local()
    r = resolve(engine, f)
    conds = _returned_conditions(r, now, min_returns)
    stmt = (select(cases.c.case_no, cases.c.title, cases.c.category, cases.c.status, cases.c.n_returns,
                   cases.c.n_reassigns, cases.c.department_code, cases.c.reported_at)
            .where(*conds).order_by(cases.c.n_returns.desc(), cases.c.reported_at.desc(), cases.c.case_no))
    with engine.connect() as conn:
        if count:
            return int(conn.execute(rows_of(stmt)).scalar_one())
        rows = conn.execute(stmt.limit(limit)).mappings().all()
        nos = [row["case_no"] for row in rows]
        events: dict[str, list[tuple[str, str | None]]] = {n: [] for n in nos}
        if nos:
            ev = conn.execute(select(case_events.c.case_no, case_events.c.action, case_events.c.org_code)
                              .where(case_events.c.case_no.in_(nos), case_events.c.action.in_(ROUTE_ACTIONS))
                              .order_by(case_events.c.case_no, case_events.c.seq)).all()
            for no, action, org in ev:
                events[no].append((action, org))
        orgs = {org for evs in events.values() for _a, org in evs if org} | {
            row["department_code"] for row in rows if row["department_code"]}
        names = _department_names(conn, sorted(orgs))
    out = []
    for row in rows:
        route = _route(events[row["case_no"]], set(names)) or ([row["department_code"]] if row["department_code"]
                                                              else [])
        out.append({**{c: row[c] for c in BOUNCED_COLUMNS if c != "departments"},
                    "departments": " → ".join(names.get(c, (c, None))[0] for c in route)})
    return pd.DataFrame(out, columns=BOUNCED_COLUMNS)


def bounced_case_count(engine: Engine, f: CaseFilter, min_returns: int = 2, now: datetime | None = None) -> int:
    """How many cases in the selection were returned ``min_returns`` or more times."""
    now = now or now_local()
    r = resolve(engine, f)
    sub = _selected_returned_cases(r, now, min_returns).subquery()
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(sub)).scalar_one())


def bounce_pairs(engine: Engine, f: CaseFilter, limit: int = 20, now: datetime | None = None) -> pd.DataFrame:
    """The department pairs that bounce cases between them (PAIR_COLUMNS), most returns first: the stored bounces
    (``case_bounces``, core/derived.bounces_select) of the selection's returned cases (partial index
    ix_cases_returns), each case's rows looked up by its number.  Computed from the route events at each view, the
    pairs cost 531 ms at 1.07 M cases and 2.3 s at 5 M (issue 24)."""
    now = now or now_local()
    r = resolve(engine, f)
    b = case_bounces.c
    returned = _selected_returned_cases(r, now).subquery("returned")
    n_cases, n_returns = func.count(func.distinct(b.case_no)), func.count()
    stmt = (select(b.from_department, b.to_department, n_cases.label("cases"), n_returns.label("returns"))
            .select_from(returned.join(case_bounces, b.case_no == returned.c.case_no))
            .group_by(b.from_department, b.to_department)
            .order_by(n_returns.desc(), n_cases.desc(), b.from_department, b.to_department)
            .limit(limit))
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
        names = _department_names(conn, sorted({c for row in rows for c in row[:2]}))
    df = pd.DataFrame([(a, names.get(a, (a, None))[0], b, names.get(b, (b, None))[0], n, k) for a, b, n, k in rows],
                      columns=PAIR_COLUMNS)
    df[["cases", "returns"]] = df[["cases", "returns"]].astype("int64")
    return df
