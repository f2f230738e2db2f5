"""Time limits (办理时限): calendar hours by default, working days where a category is configured so.

The definition (quoted in metrics.py):

- Every case has one effective **due time**, ``cases.due_at``; on time, overdue, closed late and "overdue
  by" are all measured against it, in every view (filters.py, the summaries, the workbench, the exports).
- **Calendar hours** (the default, a category without a rule): the due time is the one the dataset gave
  (``cases.source_due_at``), i.e. the report time plus the category's ``time_limit_hours``, possibly
  extended by the source platform.  A case reported in the dashboard is due ``time_limit_hours`` after
  its report.
- **Working days** (a row in ``time_limit_rules`` with ``mode = 'working_days'`` and N days): the day of
  the report is not counted; the case is due at the end (23:59:59) of the N-th working day after the
  report date.  For example, 3 working days from Tuesday 30 September 2025 (National Day holiday
  1–8 October) end on Saturday 11 October 2025 at 23:59:59, a 调休 make-up working day.
- A **working day** is a day the State Council's annual holiday arrangement (国务院办公厅关于××年部分节假日
  安排的通知) makes a working day: Monday to Friday except public holidays, plus the weekend days declared
  make-up working days (调休上班).  The dates come from the ``chinese-calendar`` library (which covers
  2004–2026 in version 1.11.0); ``data_access/holidays/holiday_overrides.csv`` adds years the library
  does not know yet (and wins over the library for any date it lists); a year neither knows counts
  Monday to Friday as working days (``calendar_gaps`` names such years so that the UI can say so).
- Changing a rule recomputes ``due_at``, ``closed_late``, ``late_hours`` and ``allowed_hours`` of that
  category's cases (all of them, past ones included; the columns' definitions: data_access/core/derived.py)
  and the roll-ups, in one transaction: a category has one definition at a time, so a period before and
  after a change stays comparable.
- An **approved extension** (延期, data_access/writes/extensions.py) is part of the same definition: the due
  time is the rule's due time above (the **original** due time) plus every approved extension of the case,
  the calendar days first, then the working days (the same clock time on the N-th working day after that
  date, by the calendar below).  So a rule change, a reload or a sync recomputes it with the extension, never
  without it (:func:`extend_due`, :func:`original_due_at`).
"""
from __future__ import annotations

import csv
import getpass
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

import chinese_calendar
import pandas as pd
from chinese_calendar.constants import holidays as _LIB_HOLIDAYS
from sqlalchemy import (
    Column,
    Connection,
    Date,
    Engine,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import case as sql_case

from data_access.core import meta
from data_access.core.clock import wall_now
from data_access.core.db import no_statement_timeout
from data_access.core.derived import (
    allowed_hours_sql,
    calendar_due_at,
    closed_late_sql,
    late_hours_sql,
)
from data_access.core.keyset import KeySet
from data_access.core.rollups import refresh_category_summaries
from data_access.core.schema import Timestamp, case_extensions, cases, categories, time_limit_rules

MODES = ("hours", "working_days")
MAX_WORKING_DAYS = 365
END_OF_DAY = time(23, 59, 59)
OVERRIDES_PATH = Path(__file__).resolve().parents[1] / "holidays" / "holiday_overrides.csv"
# The years chinese-calendar knows (it refuses any other year).
LIBRARY_YEARS = range(min(_LIB_HOLIDAYS).year, max(_LIB_HOLIDAYS).year + 1)
_KINDS = {"holiday": False, "workday": True}


# --- the calendar ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Overrides:
    days: dict[date, bool]  # date -> is a working day
    years: frozenset[int]  # years the file lists (a year is added whole, from its State Council notice)


@cache
def _overrides() -> _Overrides:
    """The project's holiday file: ``date,kind`` rows (kind holiday|workday); lines starting with # are notes."""
    days: dict[date, bool] = {}
    if not OVERRIDES_PATH.exists():
        return _Overrides({}, frozenset())
    with open(OVERRIDES_PATH, encoding="utf-8-sig", newline="") as f:
        lines = [(i, line) for i, line in enumerate(f, start=1) if line.strip() and not line.lstrip().startswith("#")]
    rows = list(csv.reader(line for _, line in lines))
    if not rows or [c.strip() for c in rows[0][:2]] != ["date", "kind"]:
        raise ValueError(f"{OVERRIDES_PATH}: the first row that is not a # note must be the header 'date,kind'")
    for (line_no, _), row in zip(lines[1:], rows[1:]):
        where = f"{OVERRIDES_PATH}:{line_no}"
        if len(row) < 2:
            raise ValueError(f"{where}: expected 'date,kind'")
        try:
            d = date.fromisoformat(row[0].strip())
        except ValueError:
            raise ValueError(f"{where} date: not a date YYYY-MM-DD: {row[0]!r}") from None
        kind = row[1].strip()
        if kind not in _KINDS:
            raise ValueError(f"{where} kind: {kind!r} is not 'holiday' or 'workday'")
        if d in days:
            raise ValueError(f"{where} date: {d} is listed twice")
        days[d] = _KINDS[kind]
    return _Overrides(days, frozenset(d.year for d in days))


def reload_calendar() -> None:
    """Forget the cached calendar (after the overrides file changed)."""
    _overrides.cache_clear()
    _is_workday.cache_clear()


@cache
def _is_workday(d: date) -> bool:
    listed = _overrides().days.get(d)
    if listed is not None:
        return listed
    if d.year in LIBRARY_YEARS:
        return chinese_calendar.is_workday(d)
    return d.weekday() < 5


def is_workday(d: date) -> bool:
    """Is ``d`` a working day in mainland China (holidays off, 调休 make-up weekend days on)?"""
    if isinstance(d, datetime):
        d = d.date()
    return _is_workday(d)


def add_working_days(d: date, n: int) -> date:
    """The ``n``-th working day after ``d`` (``d`` itself not counted; ``n = 0`` gives ``d``)."""
    if n < 0:
        raise ValueError(f"working_days: must not be negative, got {n}")
    if isinstance(d, datetime):
        d = d.date()
    one = timedelta(days=1)
    while n > 0:
        d += one
        if _is_workday(d):
            n -= 1
    return d


def working_deadline(reported_at: datetime, n_days: int) -> datetime:
    """The due time of a case reported at ``reported_at`` with a limit of ``n_days`` working days:
    23:59:59 of the ``n_days``-th working day after the report date."""
    return datetime.combine(add_working_days(reported_at.date(), n_days), END_OF_DAY)


EXTENSION_KINDS = ("days", "working_days")


def extend_due(due: datetime, days: int, working_days: int) -> datetime:
    """``due`` moved by approved extensions: ``days`` calendar days, then ``working_days`` working days (the
    same clock time on the ``working_days``-th working day after that date; a working-day due time at 23:59:59
    stays at the end of a day)."""
    due = due + timedelta(days=int(days))
    if working_days:
        due = datetime.combine(add_working_days(due.date(), int(working_days)), due.time())
    return due


def calendar_gaps(years: Iterable[int]) -> list[int]:
    """The years among ``years`` whose holidays neither chinese-calendar nor the overrides file knows
    (working days there are counted Monday to Friday), in order."""
    known = _overrides().years
    return sorted({int(y) for y in years if int(y) not in LIBRARY_YEARS and int(y) not in known})


# --- the rules ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """A category's configured time limit (categories without a rule use calendar hours)."""

    category: str
    mode: str
    working_days: int | None


def _read(conn_or_engine: Connection | Engine, stmt):
    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.connect() as conn:
            return conn.execute(stmt).all()
    return conn_or_engine.execute(stmt).all()


def rules(conn_or_engine: Connection | Engine) -> dict[str, Rule]:
    """The configured categories' rules, by category code."""
    r = time_limit_rules.c
    rows = _read(conn_or_engine, select(r.category, r.mode, r.working_days).order_by(r.category))
    return {c: Rule(c, m, w) for c, m, w in rows}


def category_time_limits(conn_or_engine: Connection | Engine) -> pd.DataFrame:
    """Every category with its time limit: code, name_zh, name_en, time_limit_hours, mode ('hours' or
    'working_days'), working_days, updated_at, updated_by — in code order."""
    c, r = categories.c, time_limit_rules.c
    stmt = (select(c.code, c.name_zh, c.name_en, c.time_limit_hours, func.coalesce(r.mode, "hours"),
                   r.working_days, r.updated_at, r.updated_by)
            .select_from(categories.outerjoin(time_limit_rules, r.category == c.code))
            .order_by(c.code))
    return pd.DataFrame(_read(conn_or_engine, stmt),
                        columns=["code", "name_zh", "name_en", "time_limit_hours", "mode", "working_days",
                                 "updated_at", "updated_by"])


def calendar_gaps_in_data(conn_or_engine: Connection | Engine) -> list[int]:
    """:func:`calendar_gaps` of the years the working-day categories' cases span (report to due time)."""
    # The earliest report and the latest due time, each by walking its own index from that end to the first
    # case of a working-day category: min()/max() over the categories read every such case (1.5 s at 5 M).
    working = cases.c.category.in_(select(time_limit_rules.c.category)
                                   .where(time_limit_rules.c.mode == "working_days"))
    first = _read(conn_or_engine, select(cases.c.reported_at).where(working).order_by(cases.c.reported_at).limit(1))
    if not first:
        return []
    last = _read(conn_or_engine, select(cases.c.due_at).where(working).order_by(cases.c.due_at.desc()).limit(1))
    lo, hi = first[0][0], last[0][0]
    return calendar_gaps(range(_as_dt(lo).year, _as_dt(hi).year + 1))


def _as_dt(v) -> datetime:
    return v if isinstance(v, datetime) else datetime.fromisoformat(str(v))


def due_at_for(conn: Connection, category: str, reported_at: datetime, limit_hours: float) -> datetime:
    """The effective due time of a new case of ``category`` reported at ``reported_at`` (``limit_hours``
    being the category's time limit): its working-day deadline if the category has a working-day rule,
    else ``reported_at + limit_hours``."""
    # FOR SHARE of the category row (PostgreSQL): a rule being changed (set_rule locks the row) is waited
    # for, so no new case slips in with the old rule after set_rule recomputed the category's cases.
    row = conn.execute(
        select(time_limit_rules.c.mode, time_limit_rules.c.working_days)
        .select_from(categories.outerjoin(time_limit_rules, time_limit_rules.c.category == categories.c.code))
        .where(categories.c.code == category)
        .with_for_update(read=True, of=categories)).first()
    if row is not None and row.mode == "working_days" and row.working_days:
        return working_deadline(reported_at, int(row.working_days))
    return calendar_due_at(reported_at, limit_hours)


def _rule_due(rule: Rule | None, reported_at, source_due_at):
    """The original due time (before any extension) of a case under its category's rule; None when a
    calendar-hours case has no dataset due time (left alone, as apply_rules does)."""
    if rule is not None and rule.mode == "working_days" and rule.working_days:
        return working_deadline(_as_dt(reported_at), int(rule.working_days))
    return None if source_due_at is None else _as_dt(source_due_at)


def _approved_totals(where=None):
    """Per case with approved extensions: (case_no, calendar days, working days) — a subquery."""
    e = case_extensions.c
    q = (select(e.case_no,
                func.sum(sql_case((e.day_kind == "days", e.days), else_=0)).label("ext_days"),
                func.sum(sql_case((e.day_kind == "working_days", e.days), else_=0)).label("ext_working_days"))
         .where(e.status == "approved").group_by(e.case_no))
    return q if where is None else q.where(where)


def original_due_at(conn: Connection, case_no: str) -> datetime | None:
    """The case's due time without its extensions (the rule's, see the module docstring)."""
    row = conn.execute(select(cases.c.category, cases.c.reported_at, cases.c.source_due_at, cases.c.due_at)
                       .where(cases.c.case_no == case_no)).first()
    if row is None:
        return None
    due = _rule_due(rules(conn).get(row.category), row.reported_at, row.source_due_at)
    return _as_dt(row.due_at) if due is None else due


# --- applying the rules to the cases --------------------------------------------------------------------

# Working-day deadline of each (category, report date): filled per call, joined by one UPDATE.
_tmp_metadata = MetaData()
_deadlines = Table(
    "tmp_working_deadlines",
    _tmp_metadata,
    Column("category", String(48), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("due_at", Timestamp, nullable=False),
    prefixes=["TEMPORARY"],
)


def _derived_values(new_due) -> dict:
    """``due_at`` and the columns that follow it, in SQL: data_access/core/derived.py (closed_late_sql,
    late_hours_sql, allowed_hours_sql), the twins of the functions the loader and the writes call."""
    c = cases.c
    return {
        "due_at": new_due,
        "closed_late": closed_late_sql(c.closed_at, new_due),
        "late_hours": late_hours_sql(c.closed_at, new_due),
        "allowed_hours": allowed_hours_sql(c.reported_at, new_due),  # each step's limit follows the due time
    }


def apply_rules(conn: Connection, categories_: Sequence[str] | None = None,
                case_nos: Sequence[str] | None = None) -> int:
    """Set ``cases.due_at`` (and ``closed_late``, ``late_hours``) of the categories ``categories_`` (all when
    None) from their rules, in the caller's transaction; returns the number of cases changed.  ``case_nos``:
    only those cases (a batch applied by the sync: the cases it touched).

    Working-day categories get the working-day deadline of their report date; the others get the
    dataset's due time back (``source_due_at``; cases without one are left alone).  Set-based: one UPDATE
    for the calendar-hours categories, and one UPDATE … FROM a temporary table of the deadlines per
    (category, report date) for the working-day ones.  The summaries are not rebuilt here."""
    if case_nos is not None:
        if not case_nos:
            return 0
        # a batch's cases: one temporary table joined by each statement (core/keyset.py), not IN lists of 5,000
        return _apply_rules(conn, categories_, KeySet(conn, case_nos, "due").where(cases.c.case_no))
    return _apply_rules(conn, categories_, None)


def _apply_rules(conn: Connection, categories_: Sequence[str] | None, only) -> int:
    configured = rules(conn)
    if categories_ is None:
        wanted = list(conn.execute(select(categories.c.code)).scalars())
    else:
        wanted = list(dict.fromkeys(categories_))
    working = {c: configured[c].working_days for c in wanted
               if c in configured and configured[c].mode == "working_days" and configured[c].working_days}
    by_hours = [c for c in wanted if c not in working]
    changed = 0
    # cases with an approved extension are set one by one below (few), the rest set-based here
    not_extended = cases.c.case_no.not_in(
        select(case_extensions.c.case_no).where(case_extensions.c.status == "approved"))
    if by_hours:
        stmt = (update(cases)
                .where(cases.c.category.in_(by_hours), cases.c.source_due_at.is_not(None),
                       cases.c.due_at != cases.c.source_due_at, not_extended)
                .values(**_derived_values(cases.c.source_due_at)))
        res = conn.execute(stmt if only is None else stmt.where(only))
        changed += max(res.rowcount, 0)
    if working:
        changed += _apply_working_days(conn, working, only, not_extended)
    if wanted:
        changed += _apply_extended(conn, wanted, configured, only)
    return changed


def _apply_extended(conn: Connection, wanted: list[str], configured: dict[str, Rule], only) -> int:
    """The due time of the cases (of ``wanted`` categories) with approved extensions: :func:`extend_due` of
    the rule's due time, and the columns that follow it with derived.py's Python twins."""
    from data_access.core import derived

    totals = _approved_totals().subquery()
    c = cases.c
    q = (select(c.case_no, c.category, c.reported_at, c.source_due_at, c.due_at, c.closed_at,
                totals.c.ext_days, totals.c.ext_working_days)
         .join_from(cases, totals, totals.c.case_no == c.case_no)
         .where(c.category.in_(wanted)))
    rows = conn.execute(q if only is None else q.where(only)).all()
    changes = []
    for r in rows:
        base = _rule_due(configured.get(r.category), r.reported_at, r.source_due_at)
        if base is None:
            continue
        due = extend_due(base, r.ext_days or 0, r.ext_working_days or 0)
        if _as_dt(r.due_at) == due:
            continue
        closed = None if r.closed_at is None else _as_dt(r.closed_at)
        changes.append({"k": r.case_no, "due_at": due, "closed_late": derived.closed_late(closed, due),
                        "late_hours": derived.late_hours(closed, due),
                        "allowed_hours": derived.allowed_hours(_as_dt(r.reported_at), due)})
    if changes:
        conn.execute(update(cases).where(cases.c.case_no == bindparam("k"))
                     .values(**{k: bindparam(k, type_=cases.c[k].type)
                                for k in ("due_at", "closed_late", "late_hours", "allowed_hours")}),
                     changes)
    return len(changes)


def _apply_working_days(conn: Connection, working: dict[str, int], only=None, not_extended=None) -> int:
    span_q = (select(cases.c.category, func.min(cases.c.reported_at), func.max(cases.c.reported_at))
              .where(cases.c.category.in_(list(working))).group_by(cases.c.category))
    span = conn.execute(span_q if only is None else span_q.where(only)).all()
    if not span:
        return 0
    rows: list[dict] = []
    by_n: dict[int, dict[date, datetime]] = {}  # the deadline depends on (N, day) only
    for category, lo, hi in span:
        n = working[category]
        memo = by_n.setdefault(n, {})
        day, last = _as_dt(lo).date(), _as_dt(hi).date()
        while day <= last:
            due = memo.get(day)
            if due is None:
                due = memo[day] = datetime.combine(add_working_days(day, n), END_OF_DAY)
            rows.append({"category": category, "day": day, "due_at": due})
            day += timedelta(days=1)
    # A leftover from a rolled-back call on this connection (SQLite runs DDL outside the implicit
    # transaction until the first write) must not stop this one.
    conn.execute(text(f"DROP TABLE IF EXISTS {_deadlines.name}"))
    _deadlines.create(conn)
    conn.execute(insert(_deadlines), rows)
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"ANALYZE {_deadlines.name}"))  # temporary tables get no statistics otherwise
    t = _deadlines.c
    stmt = (update(cases)
            .where(cases.c.category == t.category, func.date(cases.c.reported_at) == t.day,
                   cases.c.due_at != t.due_at)
            .values(**_derived_values(t.due_at)))
    if not_extended is not None:
        stmt = stmt.where(not_extended)
    res = conn.execute(stmt if only is None else stmt.where(only))
    _deadlines.drop(conn)
    return max(res.rowcount, 0)


def _rebuild_summaries(conn: Connection, category: str) -> None:
    refresh_category_summaries(conn, [category])


def set_rule(engine: Engine, category: str, *, working_days: int | None, actor: str | None = None) -> int:
    """Make ``category``'s time limit ``working_days`` working days (None: back to calendar hours), and
    recompute its cases' due times and the roll-ups — one transaction, nothing written on error.

    Raises ValueError naming the field (``category`` or ``working_days``); returns the cases changed."""
    if working_days is not None:
        if isinstance(working_days, bool) or not isinstance(working_days, int):
            raise ValueError(f"working_days: must be a whole number of days, got {working_days!r}")
        if not 1 <= working_days <= MAX_WORKING_DAYS:
            raise ValueError(f"working_days: must be between 1 and {MAX_WORKING_DAYS}, got {working_days}")
    from data_access.core import audit

    with engine.begin() as conn, no_statement_timeout(conn):
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL statement_timeout = 0"))  # a million cases: not held to a page's limit
        known = conn.execute(select(categories.c.code).where(categories.c.code == category)
                             .with_for_update()).first()  # new cases of the category wait (due_at_for)
        if known is None:
            raise ValueError(f"category: unknown category {category!r}")
        conn.execute(delete(time_limit_rules).where(time_limit_rules.c.category == category))
        if working_days is not None:
            conn.execute(insert(time_limit_rules).values(
                category=category, mode="working_days", working_days=working_days,
                updated_at=wall_now(), updated_by=actor))
        changed = apply_rules(conn, [category])
        if changed:
            _rebuild_summaries(conn, category)
        audit.record(conn, "write", username=actor, target=f"time_limit:{category}", rows=changed,
                     detail={"category": category, "mode": "working_days" if working_days else "hours",
                             "working_days": working_days})
        meta.touch(conn)
    return changed


def cli_actor() -> str | None:
    """Who runs the command line (for ``updated_by``)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return None
