"""Questions the case workbench asks: one page of the filtered list, and one case in full.

The list is paged in SQL in two steps: first the 50 case numbers of the page (a narrow, index-friendly
query), then those 50 rows with their names and supervision grade.  Personal data leaves this module
masked unless the user may see it (access.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy import case as sql_case
from sqlalchemy.sql.visitors import replacement_traverse

from data_access.core.access import User, personal
from data_access.core.clock import now_local
from data_access.core.counting import case_total, rows_of
from data_access.core.derived import allowed_hours
from data_access.core.filters import (
    CaseFilter,
    case_conditions,
    open_condition,
    open_overdue_hours_expr,
    overdue_hours_expr,
    resolve,
)
from data_access.core.metrics import EDGE_SLACK_HOURS, STEP_SHARES, STEPS
from data_access.core.regions import RegionTree
from data_access.core.schema import (
    case_events,
    cases,
    categories,
    departments,
    supervisions,
    time_limit_rules,
)
from data_access.core.search import is_common, looks_like_case_no, normalise
from data_access.core.sqlfn import no_index, no_index_on

PAGE_SIZE = 50
SORTS = ("reported_desc", "reported_asc", "due_asc", "overdue_desc")
DEFAULT_SORT = "reported_desc"
GRADES = ("normal", "yellow", "red")
# How the source heads the note of a supervise entry in the case log (红牌督办：限期办结…); the app writes its
# own entries the same way (writes/orders.py).  An earlier version of the app wrote "[red] …": both are read.
GRADE_NOTE_PREFIX = {"normal": "普通督办", "yellow": "黄牌督办", "red": "红牌督办"}
_PREFIX_GRADE = {v: k for k, v in GRADE_NOTE_PREFIX.items()}
_CODE_HEAD = re.compile(r"^\[(normal|yellow|red)\]\s*")
_PREFIX_HEAD = re.compile(r"^(普通督办|黄牌督办|红牌督办)\s*[：:]\s*")


def split_grade_note(note: str | None) -> tuple[str | None, str | None]:
    """The grade a supervise entry's note names and the rest of it: "红牌督办：限期办结" and "[red] 限期办结" both give
    ("red", "限期办结"); a note naming no grade gives (None, note).  The case panel shows the grade in the session's
    language."""
    if not note:
        return None, note
    grade = None
    m = _CODE_HEAD.match(note)
    if m:
        grade, note = m.group(1), note[m.end():]
    m = _PREFIX_HEAD.match(note)
    if m and (grade is None or _PREFIX_GRADE[m.group(1)] == grade):  # "[red] 红牌督办：…" (the live feed's notes)
        grade, note = _PREFIX_GRADE[m.group(1)], note[m.end():]
    return grade, note


# The note of the log entry written when an order is resolved in the app (writes/orders.py); the case panel
# shows it in the session's language (resolved_order_id).
RESOLVED_NOTE = "督办已办结 / supervision resolved: {}"
_RESOLVED = re.compile(r"^督办已办结 / supervision resolved: (\S+)$")


def resolved_order_id(note: str | None) -> str | None:
    """The order a "resolved" log entry names, else None."""
    m = _RESOLVED.match(note) if isinstance(note, str) else None
    return m.group(1) if m else None


def grade_note(grade: str, note: str) -> str:
    """The note of the supervise entry an order of ``grade`` writes: headed as the source heads its own."""
    named, rest = split_grade_note(note)
    return f"{GRADE_NOTE_PREFIX[grade]}：{rest if named == grade else note}"
_GRADE_RANK = sql_case(
    (supervisions.c.grade == "red", 3), (supervisions.c.grade == "yellow", 2), else_=1)

# Columns of the list, in order (the export repeats them first, then the rest of the case).
LIST_COLUMNS = ["case_no", "title", "category", "grid_name", "village_name", "township_name", "status",
                "reported_at", "due_at", "overdue_hours", "department_name", "supervision_grade"]


@dataclass(frozen=True)
class Cursor:
    """Where a page starts or ends: the sort key of its first or last row (for keyset paging)."""

    page: int  # the page this cursor leads to
    after: tuple  # sort key (value, case_no) of the row just before that page in the sort order
    backward: bool = False  # True: the page ends just before ``after`` (paging back)


@dataclass(frozen=True)
class CasePage:
    rows: pd.DataFrame  # LIST_COLUMNS plus grid_code, closed_at
    total: int  # matching cases (all pages)
    page: int  # 1-based, clamped to the pages that exist
    pages: int
    next: Cursor | None = None  # keyset cursor to the next page (None on the last)
    prev: Cursor | None = None  # keyset cursor to the previous page (None on the first)


def _arms(sort: str, now: datetime, f: CaseFilter) -> tuple[list[tuple[ColumnElement, ColumnElement | None]], bool]:
    """The sort as (key expression, extra condition) arms merged in order, and whether it is descending.

    "Most overdue first" is two index-backed streams merged: open cases by hours past due (few, and in
    the open-cases index) and closed cases by their stored ``late_hours`` (ix_cases_late)."""
    if sort == "reported_asc":
        return [(cases.c.reported_at, None)], False
    if sort == "due_asc":
        # due_at >= reported_at (data contract), so the period's start bounds the due-time index walk too;
        # without it the walk reads every older case first (330 ms for a county's last 12 months).
        start = cases.c.due_at >= datetime.combine(f.date_from, time()) if f.date_from else None
        return [(cases.c.due_at, start)], False
    if sort == "overdue_desc":
        # Closed cases in two arms, late and on time: with the range ``late_hours > 0`` SQLite walks
        # ix_cases_late from the top (8 ms); with ``status = 'closed'`` alone it scanned the table (1.3 s at 5 M).
        # The on-time arm is left out when only overdue cases are wanted (it has none, and walking the index
        # through every on-time case to learn that took 25 s at 5 M), and keeps its index out of the planner's
        # range choice otherwise; likewise both closed arms when only open overdue cases are wanted, and the
        # open arm when only cases closed late are.
        closed = cases.c.status == "closed"
        arms = []
        if f.overdue != "late":
            arms.append((open_overdue_hours_expr(now), open_condition()))
        if f.overdue != "open":
            arms.append((cases.c.late_hours, and_(closed, cases.c.late_hours > 0)))
        if not f.overdue:
            arms.append((cases.c.late_hours, and_(closed, no_index(cases.c.late_hours) <= 0)))
        return arms, True
    return [(cases.c.reported_at, None)], True


# Above this many matches, walking the sort key's own index finds a page sooner than reading the period by
# report time and sorting (SQLite's planner prefers the latter; 156 → 20 ms for a city's 12 months by due
# time).  Below it, the region's index and a small sort win.
WALK_SORT_INDEX_ABOVE = 20_000
_SORT_INDEXED = ("due_at", "late_hours")


def _walk_sort_index(cond: ColumnElement) -> ColumnElement:
    """``cond`` with report-time terms kept from the planner's index choice (see sqlfn.no_index)."""
    return replacement_traverse(cond, {}, lambda e: no_index(e) if e is cases.c.reported_at else None)


def _keys_stmt(conds: list, arms: list, desc: bool, after: tuple | None, limit: int, offset: int = 0,
               walk: bool = False):
    """case_no and sort value ``k`` of the rows after ``after``, in order, limited.

    ``walk``: many rows match, so read them in the order of the sort key's index where it has one."""
    selects = []
    for key, extra in arms:
        own_index = walk and getattr(key, "name", None) in _SORT_INDEXED
        where = [_walk_sort_index(c) for c in conds] if own_index else list(conds)
        if extra is not None:
            where.append(extra)
        if after is not None:
            where.append(_beyond(key, desc, after))
        selects.append(select(cases.c.case_no.label("case_no"), key.label("k")).where(*where))
    if len(selects) == 1:
        key = arms[0][0]
        return selects[0].order_by(*_order_by(key, desc)).limit(limit).offset(offset)
    # Each arm cut to its own first limit + offset rows in its own order before the merge: the page is among
    # them, and an arm walks its index only that far (without the cut SQLite read and sorted every late case
    # of the period: 1.9 s for the city's "most overdue first" at 5 M cases).
    arms_top = []
    for (key, _extra), sel in zip(arms, selects):
        sq = sel.order_by(*_order_by(key, desc)).limit(limit + offset).subquery()
        arms_top.append(select(sq.c.case_no, sq.c.k))
    order = [literal_column("k").desc(), literal_column("case_no").desc()] if desc else [
        literal_column("k").asc(), literal_column("case_no").asc()]
    return union_all(*arms_top).order_by(*order).limit(limit).offset(offset)


def _order_by(key: ColumnElement, desc: bool) -> list:
    return [key.desc(), cases.c.case_no.desc()] if desc else [key.asc(), cases.c.case_no.asc()]


def _beyond(key: ColumnElement, desc: bool, after: tuple) -> ColumnElement:
    """Rows that come after ``after`` in the order; written so the leading column can use an index."""
    value, case_no = after
    if desc:
        return and_(key <= value, or_(key < value, cases.c.case_no < case_no))
    return and_(key >= value, or_(key > value, cases.c.case_no > case_no))


def open_grade_by_case(conn: Connection, case_nos: list[str]) -> dict[str, str]:
    """The highest grade among each case's open supervision orders (cases without one are absent)."""
    if not case_nos:
        return {}
    stmt = (select(supervisions.c.case_no, func.max(_GRADE_RANK))
            .where(supervisions.c.case_no.in_(case_nos), supervisions.c.resolved_at.is_(None))
            .group_by(supervisions.c.case_no))
    return {c: GRADES[int(g) - 1] for c, g in conn.execute(stmt)}


def _row_select(now: datetime) -> Select:
    return (select(cases.c.case_no, cases.c.title, cases.c.category, cases.c.grid_code, cases.c.status,
                   cases.c.reported_at, cases.c.due_at, cases.c.closed_at,
                   overdue_hours_expr(now).label("overdue_hours"), departments.c.name.label("department_name"))
            .select_from(cases.outerjoin(departments, departments.c.code == cases.c.department_code)))


def add_place_names(df: pd.DataFrame, tree: RegionTree) -> pd.DataFrame:
    """grid_name, village_name, township_name (and county_name) from each row's grid_code."""
    names: dict[str, dict[str, str]] = {}
    for g in df["grid_code"].unique() if len(df) else []:
        by_level = {n.level: n.name for n in tree.ancestors(g)}
        node = tree.get(g)
        grid = by_level.get("grid", node.name if node else g)
        if node is not None and node.level == "micro_grid":
            grid = f"{by_level.get('grid', '')} / {node.name}"
        names[g] = {"grid_name": grid, "village_name": by_level.get("village", ""),
                    "township_name": by_level.get("township", ""), "county_name": by_level.get("county", "")}
    for col in ("grid_name", "village_name", "township_name", "county_name"):
        df[col] = [names.get(g, {}).get(col, "") for g in df["grid_code"]] if len(df) else pd.Series(dtype=str)
    return df


def _page_ids(conn: Connection, f: CaseFilter, conds: list, sort: str, now: datetime, page: int, total: int,
              page_size: int, cursor: Cursor | None, walk_conds: list | None = None) -> list[tuple]:
    """(case_no, sort value) of the page's rows, in order.

    With a cursor from the neighbouring page the query seeks straight to it (keyset); otherwise it counts
    rows from whichever end of the order is nearer, so no page skips more than half of the matches.
    ``walk_conds`` (the same filter, the search tested per row) serve the queries that read the first rows
    of an order when many cases match: each reads about ``page_size`` × cases / matches rows."""
    arms, desc = _arms(sort, now, f)
    walk = total > WALK_SORT_INDEX_ABOVE
    # a common string (search.is_common) is met every few rows of any order, however few match in the place:
    # testing each row of the walk beats building the index's set of its matches (纠纷 in a county's year, 9,292
    # matches at 1.07 M: 106 ms for the set, a few ms for the walk)
    per_row = walk or (bool(f.text) and is_common(conn, f.text))
    first = walk_conds if per_row and walk_conds is not None else conds
    if cursor is not None and cursor.page == page:
        back = cursor.backward
        rows = _merged(conn, first, arms, desc != back, cursor.after, page_size, walk)
        return rows[::-1] if back else rows
    start = (page - 1) * page_size
    if page == 1:
        return _merged(conn, first, arms, desc, None, page_size, walk)
    from_end = total - start - page_size
    if from_end < start:
        n = page_size + min(0, from_end)
        if from_end <= 0:  # the last page: the first rows from the other end
            return _merged(conn, first, arms, not desc, None, n, walk)[::-1]
        stmt = _keys_stmt(conds, arms, not desc, None, n, from_end, walk)
        return [tuple(r) for r in conn.execute(stmt)][::-1]
    return [tuple(r) for r in conn.execute(_keys_stmt(conds, arms, desc, None, page_size, start, walk))]


def _merged(conn: Connection, conds: list, arms: list, desc: bool, after: tuple | None, n: int,
            walk: bool = False) -> list[tuple]:
    """The first ``n`` rows after ``after``: each arm's own first ``n`` (an index walk each), merged here.

    (Neither planner reliably merges index-ordered UNION ALL arms under a LIMIT; two small queries do.)"""
    rows: list[tuple] = []
    for arm in arms:
        rows += [tuple(r) for r in conn.execute(_keys_stmt(conds, [arm], desc, after, n, walk=walk))]
    if len(arms) > 1:
        rows.sort(key=lambda r: (r[1], r[0]), reverse=desc)
    return rows[:n]


def case_page(engine: Engine, f: CaseFilter, *, sort: str = DEFAULT_SORT, page: int = 1,
              page_size: int = PAGE_SIZE, cursor: Cursor | None = None, now: datetime | None = None,
              total: int | None = None) -> CasePage:
    """Page ``page`` (1-based) of the cases matching ``f``, sorted by ``sort`` (one of SORTS).

    Pass the ``next``/``prev`` cursor of the page on screen to move one page cheaply at any depth, and
    ``total`` when the caller already counted the matches (the workbench's KPIs do), to skip a count."""
    now = now or now_local()
    sort = sort if sort in SORTS else DEFAULT_SORT
    r = resolve(engine, f)
    conds = case_conditions(r, now)
    with engine.connect() as conn:
        if total is None:
            total = case_total(engine, f, now)
        pages = max(1, -(-total // page_size))
        page = min(max(1, int(page)), pages)
        keyed = _page_ids(conn, f, conds, sort, now, page, total, page_size, cursor,
                          case_conditions(r, now, text_per_row=True))
        ids = [k[0] for k in keyed]
        rows = conn.execute(_row_select(now).where(cases.c.case_no.in_(ids))).mappings().all() if ids else []
        grades = open_grade_by_case(conn, ids)
    df = pd.DataFrame([dict(x) for x in rows], columns=[
        "case_no", "title", "category", "grid_code", "status", "reported_at", "due_at", "closed_at",
        "overdue_hours", "department_name"])
    order = {c: i for i, c in enumerate(ids)}
    df = df.assign(_o=df["case_no"].map(order)).sort_values("_o").drop(columns="_o").reset_index(drop=True)
    df["supervision_grade"] = [grades.get(c) for c in df["case_no"]]
    df["overdue_hours"] = df["overdue_hours"].astype("float64")
    df = add_place_names(df, r.tree)
    nxt = Cursor(page + 1, (keyed[-1][1], keyed[-1][0])) if keyed and page < pages else None
    prv = Cursor(page - 1, (keyed[0][1], keyed[0][0]), backward=True) if keyed and page > 1 else None
    return CasePage(rows=df[[*LIST_COLUMNS, "grid_code", "closed_at"]], total=total, page=page, pages=pages,
                    next=nxt, prev=prv)


# --- the period and the search ------------------------------------------------------------------------------

def case_no_search(engine: Engine, f: CaseFilter) -> bool:
    """Is the filter's search a case number?  Either the text has the shape of one (search.looks_like_case_no)
    or it is the exact number of a case in the filter's place.  The workbench then searches every period: a
    number someone reads out over the phone is found whatever the sidebar's period."""
    text = normalise(f.text)
    if not text:
        return False
    if looks_like_case_no(text):
        return True
    r = resolve(engine, f.with_(text=""))
    conds = case_conditions(r, now_local(), dates=(None, None))  # the place and the other filters, no period
    with engine.connect() as conn:
        return conn.execute(select(cases.c.case_no).where(cases.c.case_no == text, *conds).limit(1)).first() \
            is not None


@dataclass(frozen=True)
class OlderOpen:
    """Open cases matching the filter but reported before its period (the period hides them)."""

    count: int
    oldest: datetime | None  # the earliest report time among them


def older_open_cases(engine: Engine, f: CaseFilter, now: datetime | None = None) -> OlderOpen:
    """The open cases that match ``f`` in everything but its period and were reported before it: the workbench
    says how many the period hides (the oldest overdue cases are usually among them) and offers to widen it."""
    if f.date_from is None:
        return OlderOpen(0, None)
    now = now or now_local()
    r = resolve(engine, f)
    conds = case_conditions(r, now, dates=(None, f.date_from - timedelta(days=1)), text_per_row=True)
    with engine.connect() as conn:
        n, oldest = conn.execute(select(func.count(), func.min(cases.c.reported_at))
                                 .where(open_condition(), *conds)).one()
    return OlderOpen(int(n), oldest if n else None)


# --- one case ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseDetail:
    fields: dict  # every column of the case, personal data as the user may see it, plus place names
    allowed_hours: float  # the case's own time limit: due_at − reported_at (derived.allowed_hours)
    category_hours: float  # its category's calendar limit (time_limit_hours), which a platform may have extended
    working_days: int | None  # the category's working-day rule, if it has one (time_limits.py)
    steps: pd.DataFrame  # step, entered_at, hours, limit_hours, over (one row per step of STEPS)
    events: pd.DataFrame  # seq, at, action, actor, org_code, org_name, note, grade, hours_since_previous; in time
    #                      order; a supervise entry's grade apart from its note (split_grade_note), else None
    #                      (at, then seq): the source's events and the app's entries (seq ≥ APP_SEQ_BASE) interleaved
    supervisions: pd.DataFrame  # supervision_id, grade, issued_by, issued_by_name, issued_at, deadline,
    #                              resolved_at, note, past_deadline, state (order_state)


STEP_COLUMNS = {"accept": "accepted_at", "dispatch": "dispatched_at", "handle": "handled_at",
                "feedback": "feedback_at", "close": "closed_at"}


def step_times(row: dict, limit_hours: float, now: datetime) -> pd.DataFrame:
    """Time spent reaching each step (from entering the step before), against that step's share of the limit
    (the case's allowed hours: metrics.py, "step time").

    A step the case skipped (settled on the spot: reported → closed) has no time; the step the case is
    waiting for counts until ``now``."""
    out = []
    prev = row["reported_at"]
    waiting_done = row["status"] == "closed"
    for step in STEPS:
        at = row[STEP_COLUMNS[step]]
        limit = limit_hours * STEP_SHARES[step]
        if at is not None:
            hours = (at - prev).total_seconds() / 3600
            out.append((step, at, hours, limit, hours > limit + EDGE_SLACK_HOURS, "done"))
            prev = at
        elif not waiting_done:
            hours = max(0.0, (now - prev).total_seconds() / 3600)
            out.append((step, None, hours, limit, hours > limit + EDGE_SLACK_HOURS, "waiting"))
            waiting_done = True
        else:
            out.append((step, None, None, limit, False, "skipped" if row["status"] == "closed" else "pending"))
    return pd.DataFrame(out, columns=["step", "entered_at", "hours", "limit_hours", "over", "state"])


def case_detail(engine: Engine, case_no: str, user: User | None, *, scope_code: str | None = None,
                now: datetime | None = None) -> CaseDetail | None:
    """The case ``case_no`` in full, or None when it does not exist or lies outside ``scope_code`` or the
    user's own jurisdiction."""
    now = now or now_local()
    tree = resolve(engine, CaseFilter(scope_code=scope_code)).tree
    scopes = [s for s in (scope_code, user.scope_code if user is not None else None) if s is not None]
    if any(s not in tree.nodes for s in scopes):
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(cases, categories.c.time_limit_hours, departments.c.name.label("department_name"),
                   overdue_hours_expr(now).label("overdue_hours"), time_limit_rules.c.working_days)
            .select_from(cases.join(categories, categories.c.code == cases.c.category)
                         .outerjoin(departments, departments.c.code == cases.c.department_code)
                         .outerjoin(time_limit_rules, and_(time_limit_rules.c.category == cases.c.category,
                                                           time_limit_rules.c.mode == "working_days")))
            .where(cases.c.case_no == case_no)).mappings().first()
        if row is None or not all(tree.contains(s, row["grid_code"]) for s in scopes):
            return None
        events = pd.DataFrame(conn.execute(
            select(case_events.c.seq, case_events.c.at, case_events.c.action, case_events.c.actor,
                   case_events.c.org_code, case_events.c.note)
            .where(case_events.c.case_no == case_no).order_by(case_events.c.at, case_events.c.seq)).all(),
            columns=["seq", "at", "action", "actor", "org_code", "note"])
        orders = pd.DataFrame(conn.execute(
            select(supervisions.c.supervision_id, supervisions.c.grade, supervisions.c.issued_by,
                   supervisions.c.issued_by_name, supervisions.c.issued_at, supervisions.c.deadline,
                   supervisions.c.resolved_at, supervisions.c.note)
            .where(supervisions.c.case_no == case_no).order_by(supervisions.c.issued_at)).all(),
            columns=["supervision_id", "grade", "issued_by", "issued_by_name", "issued_at", "deadline",
                     "resolved_at", "note"])
        dept_names = dict(conn.execute(select(departments.c.code, departments.c.name)
                                       .where(departments.c.code.in_(set(events["org_code"].dropna())))).all())
    fields = dict(row)
    reporter = fields["reporter_name"]
    if reporter:  # a resident who reported in person appears in the log too: masked by the same rule
        events["actor"] = [personal(user, a, "name") if a == reporter else a for a in events["actor"]]
    fields["reporter_name"] = personal(user, reporter, "name")
    fields["reporter_phone"] = personal(user, fields["reporter_phone"], "phone")
    fields.update(add_place_names(pd.DataFrame({"grid_code": [fields["grid_code"]]}), tree).iloc[0].to_dict())
    category_hours = float(fields.pop("time_limit_hours"))
    working_days = fields.pop("working_days")
    allowed = fields["allowed_hours"]
    allowed = float(allowed if allowed is not None else allowed_hours(fields["reported_at"], fields["due_at"]))

    def org_name(code: str | None) -> str | None:
        if code is None:
            return None
        node = tree.get(code)
        return node.name if node else dept_names.get(code, code)

    events["org_name"] = [org_name(c) for c in events["org_code"]]
    graded = [split_grade_note(n) if a == "supervise" else (None, n) for a, n in zip(events["action"], events["note"])]
    events["grade"] = pd.Series([g for g, _ in graded], index=events.index, dtype=object)
    events["note"] = pd.Series([n for _, n in graded], index=events.index, dtype=object)
    events["hours_since_previous"] = (events["at"].diff().dt.total_seconds() / 3600) if len(events) else []
    orders["past_deadline"] = [res is None and dl < now for res, dl in zip(orders["resolved_at"], orders["deadline"])]
    orders["state"] = [order_state(res, past) for res, past in zip(orders["resolved_at"], orders["past_deadline"])]
    orders["issued_by_name"] = orders["issued_by_name"].fillna(
        pd.Series([org_name(c) for c in orders["issued_by"]], dtype=object))
    return CaseDetail(fields=fields, allowed_hours=allowed, category_hours=category_hours,
                      working_days=int(working_days) if working_days is not None else None,
                      steps=step_times(fields, allowed, now),
                      events=events, supervisions=orders)


def order_state(resolved_at: datetime | None, past_deadline: bool) -> str:
    """An order's state: 'resolved' once it has a resolution time, else 'past' (its deadline has passed) or
    'open'."""
    if resolved_at is not None and not pd.isna(resolved_at):
        return "resolved"
    return "past" if past_deadline else "open"


# --- the orders tab: open supervision orders ------------------------------------------------------------

OPEN_ORDER_COLUMNS = ["supervision_id", "case_no", "title", "grade", "issued_at", "issued_by_name", "deadline",
                      "hours_left", "status", "grid_name", "village_name", "township_name", "note"]


def open_supervisions(engine: Engine, f: CaseFilter, now: datetime | None = None, limit: int | None = 500,
                      count: bool = False) -> pd.DataFrame | int:
    """Open orders on cases in the filter's region (its other filters do not apply), nearest deadline first.

    ``hours_left`` is negative once the deadline has passed.
    With ``count``: how many rows the whole list has (an int), through the same statement (ui/capped.py)."""
    now = now or now_local()
    r = resolve(engine, CaseFilter(scope_code=f.scope_code, region_code=f.region_code))
    stmt = (select(supervisions.c.supervision_id, supervisions.c.case_no, cases.c.title, supervisions.c.grade,
                   supervisions.c.issued_at, supervisions.c.issued_by_name, supervisions.c.issued_by,
                   supervisions.c.deadline, cases.c.status, cases.c.grid_code, supervisions.c.note)
            .select_from(supervisions.join(cases, cases.c.case_no == supervisions.c.case_no))
            .where(supervisions.c.resolved_at.is_(None), *case_conditions(r, now))
            .order_by(supervisions.c.deadline, supervisions.c.supervision_id))
    with engine.connect() as conn:
        if count:
            return int(conn.execute(rows_of(stmt)).scalar_one())
        df = pd.DataFrame(conn.execute(stmt.limit(limit)).all(), columns=[
            "supervision_id", "case_no", "title", "grade", "issued_at", "issued_by_name", "issued_by", "deadline",
            "status", "grid_code", "note"])
    df["issued_by_name"] = [n if n else (r.tree.get(c).name if r.tree.get(c) else c)
                            for n, c in zip(df["issued_by_name"], df["issued_by"])]
    df["hours_left"] = [(d - now).total_seconds() / 3600 for d in df["deadline"]] if len(df) else pd.Series(
        dtype="float64")
    df = add_place_names(df, r.tree)
    return df[OPEN_ORDER_COLUMNS]


def open_supervision_counts(engine: Engine, f: CaseFilter, now: datetime | None = None) -> dict[str, int]:
    """Open orders on the cases ``f`` selects (every filter applies: the card above the workbench's list counts
    the orders of the listed cases): by grade (normal / yellow / red), total, and past their deadline.  The
    orders tab, which lists every open order of a place, passes the place's filter (``f.scope.cases()``)."""
    now = now or now_local()
    r = resolve(engine, f)
    base = (supervisions.join(cases, cases.c.case_no == supervisions.c.case_no))
    case_conds = case_conditions(r, now)
    if r.level in (None, "province", "city") or (r.level == "county" and f.date_from is None) or normalise(f.text):
        # A city's cases (or a county's of all time) are many more than the open orders: start from the orders
        # and look each case up by its number.  Through the region's or the period's index, SQLite probed the
        # orders of every case of the city's year (~1 M on skewed-full, 36,000 open orders: 2 × 250 ms of CPU,
        # now 140 ms); for a county's year or anything narrower, the region's cases are the smaller start.
        # With a search, always: it is tested on each order's case, where the search index's set of a common
        # string (纠纷: 202,318 cases at 1.07 M) took 545 ms to build for a few thousand orders (131 ms for a county).
        case_conds = [no_index_on(c, cases) for c in case_conditions(r, now, text_per_row=True)]
    past = func.coalesce(func.sum(sql_case((supervisions.c.deadline < now, 1), else_=0)), 0)
    with engine.connect() as conn:
        rows = conn.execute(select(supervisions.c.grade, func.count(), past).select_from(base)
                            .where(supervisions.c.resolved_at.is_(None), *case_conds)
                            .group_by(supervisions.c.grade)).all()
    by_grade = {g: int(n) for g, n, _p in rows}
    out = {g: int(by_grade.get(g, 0)) for g in GRADES}
    out["total"] = sum(out.values())
    out["past_deadline"] = sum(int(p) for _g, _n, p in rows)
    return out
