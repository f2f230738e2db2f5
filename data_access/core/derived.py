"""The one definition of each column of ``cases`` that is derived, not given by the dataset.

metrics.py defines the measures the dashboard shows; this module defines the stored columns they are
computed from (schema.py lists them under "derived").  Each value that code computes one case at a time
has its Python function here, and where SQL computes it too (a set-based UPDATE over many cases) its SQL
expression is built right beside it, from the same operands, so that the two cannot drift apart:

- the loader's case rule (data_access/ingest/case_rules.py, ``row_cases``; the ancestor codes once per
  grid in ingest/rules.py) fills every per-case column below with the Python functions, once per row;
- the workflow writes (data_access/writes/workflow.py) fill them with the same functions for the case they
  report or close, and clear the closed-case ones on a reopen;
- derive.py runs the SQL expressions as UPDATEs (the step hours after every load and write; the event
  counts and the re-report flag, which depend on other rows and so exist in SQL only);
- time_limits.py runs the SQL expressions of the columns that follow the due time when a rule moves it.

The Python and SQL twins give identical values: hours are whole seconds ÷ 3600 on both sides
(``sqlfn.hours_between``), and tests/test_time_limits.py and tests/test_workflow_writes.py compare them
with the loader's.  Alembic migrations 0005 and 0008 filled some of these columns once for the data of
their day; they are frozen history and keep their own code (0008 calls derive.py).

The columns:

- **ancestor codes** (``province_code`` … ``village_code``, ``top_grid_code``): the grid's regions at
  each level (None where the tree has no such level) and the grid itself, or for a micro-grid the grid it
  belongs to: :func:`ancestor_codes`.  Filters select by them without a join (filters.py).
- **report month** (``report_month``): 'YYYY-MM' of ``reported_at``: :func:`report_month`.  The roll-ups'
  month (rollups.py).
- **hours to close** (``hours_to_close``): hours from ``reported_at`` to ``closed_at``; NULL while open:
  :func:`hours_to_close`.
- **closed late** (``closed_late``): ``closed_at > due_at``; NULL while open:
  :func:`closed_late` / :func:`closed_late_sql`.
- **late hours** (``late_hours``): hours from ``due_at`` to ``closed_at`` (negative = early); NULL while
  open: :func:`late_hours` / :func:`late_hours_sql`.
- **dataset due time** (``source_due_at``): the ``due_at`` the dataset gave (the loader stores it as
  read); a case reported in the dashboard gets :func:`calendar_due_at` (report + the category's limit in
  hours), as a dataset would have it.  The effective ``due_at`` is the same in calendar-hours mode; the
  working-day rule that replaces it is time_limits.working_deadline (it needs the holiday calendar).
- **allowed hours** (``allowed_hours``): hours from ``reported_at`` to ``due_at`` (each step's limit is its
  share of these): :func:`allowed_hours` / :func:`allowed_hours_sql`.
- **step hours** (``accept_hours``, ``dispatch_hours``, ``handle_hours``, ``feedback_hours``): hours from
  entering the step before (the report for 受理) to entering this one; NULL when either was not reached:
  :func:`step_hours` / :func:`step_hours_sql` over the pairs of :data:`STEP_HOUR_COLUMNS`.
- **event counts** (``n_returns``, ``n_reassigns``, ``n_reopens``): the case's ``case_events`` rows with
  action ``return``, ``reassign``, ``reopen`` (:data:`EVENT_COUNT_COLUMNS`); SQL only, in derive.py.
- **bounces** (the table ``case_bounces``): each return of a case between departments with where it went next,
  :func:`bounces_select` (SQL only, from the case's events; derive.py keeps it for the cases a write touches).
- **re-reported** (``rereported``): metrics.py's "re-reported", :func:`rereports_sql` (SQL only).  Its "same
  matter" (:func:`same_matter_sql`) has a Python twin, :func:`same_matter`, for core/duplicates.py's re-call.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, null, select
from sqlalchemy import case as sql_case

from data_access.core.metrics import REGION_LEVELS, REREPORT_DAYS
from data_access.core.sqlfn import hours_between, plus_days

# --- ancestor codes and report month (Python only: the loader and report_case set them once) -----------

ANCESTOR_COLUMNS = (*(f"{level}_code" for level in REGION_LEVELS), "top_grid_code")


def ancestor_codes(regions: Iterable[tuple[str, str]], grid_code: str, parent_grid_code: str | None) -> tuple:
    """(province, city, county, township, village, top grid) codes of a grid, in :data:`ANCESTOR_COLUMNS`
    order, from its regions as (level, code) pairs; a level the tree lacks is None.  The top grid is the
    grid itself, or for a micro-grid the grid it belongs to."""
    codes = dict.fromkeys(REGION_LEVELS)
    for level, code in regions:
        if level in codes:
            codes[level] = code
    return (*codes.values(), parent_grid_code or grid_code)


def report_month(reported_at: datetime | str) -> str:
    """'YYYY-MM' of the report time: a datetime, or the text a timestamp is stored as
    ('YYYY-MM-DD HH:MM:SS', as the loader has it: its first 7 characters, 4× faster than formatting)."""
    if isinstance(reported_at, str):
        return reported_at[:7]
    return f"{reported_at.year:04d}-{reported_at.month:02d}"


# Every hours column is (b - a).total_seconds() / 3600, the Python twin of sqlfn.hours_between (whole
# seconds ÷ 3600 on both sides), written out in each function: the loader calls them once per case, and a
# shared helper cost a call more for each.

# --- the closed-case columns (NULL while the case is open) ---------------------------------------------

CLOSED_CASE_COLUMNS = ("hours_to_close", "closed_late", "late_hours")


def hours_to_close(reported_at: datetime, closed_at: datetime | None) -> float | None:
    """Hours from the report to the close; None while open."""
    return None if closed_at is None else (closed_at - reported_at).total_seconds() / 3600.0


def closed_late(closed_at: datetime | None, due_at: datetime) -> bool | None:
    """Closed after the due time; None while open."""
    return None if closed_at is None else closed_at > due_at


def closed_late_sql(closed_at: ColumnElement, due_at: ColumnElement) -> ColumnElement:
    """SQL twin of :func:`closed_late`."""
    return sql_case((closed_at.is_(None), null()), else_=closed_at > due_at)


def late_hours(closed_at: datetime | None, due_at: datetime) -> float | None:
    """Hours from the due time to the close (negative = closed early); None while open."""
    return None if closed_at is None else (closed_at - due_at).total_seconds() / 3600.0


def late_hours_sql(closed_at: ColumnElement, due_at: ColumnElement) -> ColumnElement:
    """SQL twin of :func:`late_hours`.  Rounded to the second (timestamps have no fractions) so that any
    dialect's arithmetic gives exactly the Python value."""
    return sql_case((closed_at.is_(None), null()),
                    else_=func.round(hours_between(due_at, closed_at) * 3600.0) / 3600.0)


# --- the due time and the hours allowed -----------------------------------------------------------------

def calendar_due_at(reported_at: datetime, limit_hours: float) -> datetime:
    """The due time in calendar hours: the report time plus the category's ``time_limit_hours``."""
    return reported_at + timedelta(hours=float(limit_hours))


def allowed_hours(reported_at: datetime, due_at: datetime) -> float:
    """Hours from the report to the due time."""
    return (due_at - reported_at).total_seconds() / 3600.0


def allowed_hours_sql(reported_at: ColumnElement, due_at: ColumnElement) -> ColumnElement:
    """SQL twin of :func:`allowed_hours`."""
    return hours_between(reported_at, due_at)


# --- hours spent reaching each step ---------------------------------------------------------------------

# column -> (the timestamp of the step before, the timestamp of this step)
STEP_HOUR_COLUMNS = {"accept_hours": ("reported_at", "accepted_at"), "dispatch_hours": ("accepted_at", "dispatched_at"),
                     "handle_hours": ("dispatched_at", "handled_at"), "feedback_hours": ("handled_at", "feedback_at")}


def step_hours(entered_before: datetime | None, entered: datetime | None) -> float | None:
    """Hours from entering the step before to entering this one; None when either was not reached."""
    if entered_before is None or entered is None:
        return None
    return (entered - entered_before).total_seconds() / 3600.0


def step_hours_sql(entered_before: ColumnElement, entered: ColumnElement) -> ColumnElement:
    """SQL twin of :func:`step_hours` (NULL when either is NULL)."""
    return hours_between(entered_before, entered)


# --- columns from other rows (SQL only; derive.py runs them) --------------------------------------------

# case_events.action -> the count column on cases
EVENT_COUNT_COLUMNS = {"return": "n_returns", "reassign": "n_reassigns", "reopen": "n_reopens"}

# the events that show where a case is (its route through departments): a dispatch or reassignment may name the
# department it went to, a handling or a return is done by the department that has it; the first two send it on
ROUTE_ACTIONS = ("dispatch", "reassign", "handle", "return")
DISPATCH_ACTIONS = ("dispatch", "reassign")


def bounces_select(case_cond: Callable[[ColumnElement], ColumnElement] | None = None) -> Select:
    """The bounces (``case_bounces``) of every case, or of those whose case number meets ``case_cond(column)``:
    one row per return (回退) event of a case whose department is known, with the department that returned it
    (the event's org_code, a department) and the department it was sent to next (the first department named from
    the first dispatch or reassignment after the return on).  A return not re-dispatched yet has no row.

    Route events of those cases (case_events by its primary key) with two window passes and no self-join
    (SQLite ≥ 3.25, PostgreSQL): pass 1 gives each event the first department event at or after it; pass 2
    gives each return the first re-dispatch after it and, through pass 1, the department named from there on
    (the minimum over the following dispatches is the first one's, as pass 1's value never decreases)."""
    from data_access.core.schema import case_events, departments

    e = case_events.c
    ev = (select(e.case_no, e.seq, e.action,
                 sql_case((e.org_code.in_(select(departments.c.code)), e.org_code), else_=None).label("dept"))
          .where(*([case_cond(e.case_no)] if case_cond is not None else []), e.action.in_(ROUTE_ACTIONS))
          .subquery("ev"))
    p1 = select(ev, func.min(sql_case((ev.c.dept.is_not(None), ev.c.seq), else_=None))
                .over(partition_by=ev.c.case_no, order_by=ev.c.seq, rows=(0, None)).label("next_dept")
                ).subquery("p1")
    p2 = select(p1.c.case_no, p1.c.seq, p1.c.action, p1.c.dept,
                func.min(sql_case((p1.c.action.in_(DISPATCH_ACTIONS), p1.c.next_dept), else_=None))
                .over(partition_by=p1.c.case_no, order_by=p1.c.seq, rows=(1, None)).label("to_seq")
                ).subquery("p2")
    to_ev = case_events.alias("to_ev")
    return (select(p2.c.case_no, p2.c.seq, p2.c.dept.label("from_department"),
                   to_ev.c.org_code.label("to_department"))
            .select_from(p2.join(to_ev, and_(to_ev.c.case_no == p2.c.case_no, to_ev.c.seq == p2.c.to_seq)))
            .where(p2.c.action == "return", p2.c.dept.is_not(None)))


SAME_MATTER_COLUMNS = ("reporter_phone", "grid_code", "category")


def same_matter(earlier, later) -> bool:
    """Python twin of :func:`same_matter_sql` for two case rows (mappings): the same reporter phone (not
    empty), grid and category.  core/duplicates.py calls it for a re-call on the same matter."""
    return bool(earlier["reporter_phone"]) and all(earlier[c] == later[c] for c in SAME_MATTER_COLUMNS)


def same_matter_sql(earlier, later) -> list:
    """The same reporter (phone), grid and category: the join of a re-report to the case it re-reports."""
    return [earlier.c.reporter_phone == later.c.reporter_phone, earlier.c.grid_code == later.c.grid_code,
            earlier.c.category == later.c.category]


def rereport_after_close_sql(earlier, later) -> list:
    """``later`` is a re-report of ``earlier`` once they are the same matter (:func:`same_matter_sql`): not
    a patrol report, and reported after ``earlier`` closed, within metrics.REREPORT_DAYS.

    The window is also given as a bound on ``later.reported_at`` alone (a day wider than the exact hours
    condition, which decides): with the same matter's columns it makes one range of the index
    ``ix_cases_same_matter`` (phone, grid, category, reported_at), so that finding a case's re-reports costs
    the reports of its matter in that month, however many cases its phone is on (issue 24)."""
    return [
        later.c.source.op("<>")(literal_column("'patrol'")),
        earlier.c.status == "closed",
        later.c.reported_at > earlier.c.closed_at,
        later.c.reported_at <= plus_days(earlier.c.closed_at, REREPORT_DAYS + 1),
        hours_between(earlier.c.closed_at, later.c.reported_at) <= REREPORT_DAYS * 24.0,
    ]


def rereports_sql(earlier, later) -> list:
    """``later`` re-reports the closed case ``earlier``: metrics.py, "re-reported" (``cases.rereported``)."""
    return [*same_matter_sql(earlier, later), *rereport_after_close_sql(earlier, later)]
