"""Repeat cases (重复件) and chronic places (积案): what the supervision centre's repeat-case view asks.

Definitions (the detection rules are core/duplicates.py's; the thresholds metrics.py's):

- **groups** (重复件组): the stored groups (``duplicate_groups``), one row per duplicate (a member that is not the
  primary) beside its primary, in the place chosen: the primary's and the duplicate's region both lie in it
  (a jurisdiction never sees a case outside it).  Personal data masked by core/access.personal.
- **counted once** (只计一次): a confirmed group is one matter: its cases count as one (``matters``); the
  duplicates of confirmed groups are what the view takes off.  Other pages count cases as before.
- **chronic places** (积案高发地): grids (a micro-grid's cases count for its grid) and villages with at least
  ``CHRONIC_MIN_CASES`` cases reported in the last ``CHRONIC_DAYS`` days, most first.
- **frequent reporters** (高频反映人): reporter phones on at least ``CHRONIC_MIN_CASES`` cases reported in those
  days, patrol reports left out (a grid worker's phone is on every patrol report of the grid, as for re-reports);
  the phone masked for everyone who may not see personal data.
- **reported again after closing** (办结后再次反映): closed cases with the re-report flag (metrics.py
  "re-reported", ``cases.rereported``) closed in those days.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections import Counter
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, and_, func, select, true
from sqlalchemy.orm import aliased

from data_access.core.access import User, personal
from data_access.core.clock import now_local
from data_access.core.filters import CASE_LEVEL_COLUMN, Scope, resolve
from data_access.core.metrics import CHRONIC_DAYS, CHRONIC_MIN_CASES
from data_access.core.regions import subtree_codes
from data_access.core.schema import case_day_counts, cases, duplicate_groups, duplicate_members
from data_access.core.sqlfn import no_index

LIST_ROWS = 200  # groups listed at most (the highest scores first)
CHRONIC_ROWS = 20
CASE_FIELDS = ("case_no", "title", "description", "grid_code", "source", "status", "reported_at",
               "reporter_phone")
GROUP_COLUMNS = ["group_id", "state", "score", "same_caller", "decided_by", "decided_at", "note", "member_score",
                 *CASE_FIELDS, *(f"dup_{c}" for c in CASE_FIELDS)]


def _place(r, table) -> list:
    if r.code is None:
        return []
    return [table.c[CASE_LEVEL_COLUMN[r.level].name] == r.code]


def _case_in_place(r, case_no) -> list:
    """The case numbered ``case_no`` (a column of a stored group) lies in the place: its region looked up case by
    case (a scalar subquery on the case number), so the groups (few) are read first and a region's cases are never
    searched for groups (SQLite joined from a county's index: 214,000 cases read at 1.07 M, ~250 ms, whatever
    groups there were)."""
    if r.code is None:
        return []
    col = cases.c[CASE_LEVEL_COLUMN[r.level].name]
    return [select(col).where(cases.c.case_no == case_no).scalar_subquery() == r.code]


def groups(engine: Engine, scope: Scope, user: User | None, state: str = "proposed") -> pd.DataFrame:
    """The groups of ``state`` in the place, one row per duplicate beside its primary (:data:`GROUP_COLUMNS` and
    the grids' names, ``grid_name``; the duplicate's fields prefixed ``dup_``), highest score first, at most
    :data:`LIST_ROWS` rows."""
    r = resolve(engine, scope)
    g, m = duplicate_groups.c, duplicate_members.c
    p, d = aliased(cases, name="p"), aliased(cases, name="d")
    stmt = (select(g.group_id, g.state, g.score, g.same_caller, g.decided_by, g.decided_at, g.note,
                   m.score.label("member_score"), *(p.c[c] for c in CASE_FIELDS),
                   *(d.c[c].label(f"dup_{c}") for c in CASE_FIELDS))
            .select_from(duplicate_groups.join(duplicate_members, and_(m.group_id == g.group_id,
                                                                       m.case_no != g.primary_case_no))
                         .join(p, p.c.case_no == g.primary_case_no).join(d, d.c.case_no == m.case_no))
            .where(g.state == state, *_case_in_place(r, g.primary_case_no), *_case_in_place(r, m.case_no))
            .order_by(g.score.desc(), g.group_id, d.c.reported_at, d.c.case_no).limit(LIST_ROWS))
    with engine.connect() as conn:
        out = pd.DataFrame(conn.execute(stmt).all(), columns=GROUP_COLUMNS)
    for col in ("reporter_phone", "dup_reporter_phone"):
        out[col] = [personal(user, v, "phone") for v in out[col]]
    for prefix in ("", "dup_"):
        out[f"{prefix}grid_name"] = [r.tree.nodes[c].name if c in r.tree.nodes else c
                                     for c in out[f"{prefix}grid_code"]]
    return out


@dataclass(frozen=True)
class DuplicateCounts:
    proposed: int = 0  # groups
    confirmed: int = 0  # groups (matters)
    rejected: int = 0
    confirmed_cases: int = 0  # cases in confirmed groups

    @property
    def duplicates(self) -> int:
        """Cases that count once with their primary: the confirmed groups' cases less one per group."""
        return self.confirmed_cases - self.confirmed


def _counts_selects(r):
    """Groups by state in the place, and the cases of its confirmed groups (:func:`counts`)."""
    g, m = duplicate_groups.c, duplicate_members.c
    by_state = (select(g.state, func.count()).select_from(duplicate_groups)
                .where(*_case_in_place(r, g.primary_case_no)).group_by(g.state))
    members = (select(func.count()).select_from(duplicate_members.join(duplicate_groups, g.group_id == m.group_id))
               .where(g.state == "confirmed", *_case_in_place(r, g.primary_case_no)))
    return by_state, members


def counts(engine: Engine, scope: Scope) -> DuplicateCounts:
    """Groups by state in the place (the primary's region), and the cases of the confirmed ones."""
    by_state_select, members_select = _counts_selects(resolve(engine, scope))
    with engine.connect() as conn:
        by_state = dict(conn.execute(by_state_select).all())
        members = conn.execute(members_select).scalar_one()
    return DuplicateCounts(int(by_state.get("proposed", 0)), int(by_state.get("confirmed", 0)),
                           int(by_state.get("rejected", 0)), int(members))


def case_links(engine: Engine, case_no: str, scope_code: str | None = None) -> dict[str, object]:
    """The confirmed links of a case: ``primary`` (the case it duplicates, or None) and ``duplicates`` (the cases
    confirmed as duplicates of it), only those inside the jurisdiction ``scope_code`` (None: all).  The case panel
    shows them; opening a linked case checks its jurisdiction again."""
    g, m = duplicate_groups.c, duplicate_members.c
    with engine.connect() as conn:
        primary = conn.execute(select(g.primary_case_no, cases.c.grid_code)
                               .join(duplicate_members, m.group_id == g.group_id)
                               .join(cases, cases.c.case_no == g.primary_case_no)
                               .where(g.state == "confirmed", m.case_no == case_no,
                                      g.primary_case_no != case_no)).first()
        dups = conn.execute(select(m.case_no, cases.c.grid_code).join(duplicate_groups, m.group_id == g.group_id)
                            .join(cases, cases.c.case_no == m.case_no)
                            .where(g.state == "confirmed", g.primary_case_no == case_no, m.case_no != case_no)
                            .order_by(m.case_no)).all()
    if scope_code is not None:
        tree = resolve(engine, Scope(scope_code)).tree
        inside = lambda grid: tree.contains(scope_code, grid)  # noqa: E731
    else:
        inside = lambda grid: True  # noqa: E731
    return {"primary": primary[0] if primary is not None and inside(primary[1]) else None,
            "duplicates": [c for c, grid in dups if inside(grid)]}


def _since(now: datetime | None) -> tuple[datetime, datetime]:
    now = now or now_local()
    return now - timedelta(days=CHRONIC_DAYS), now


def chronic_places(engine: Engine, scope: Scope, now: datetime | None = None, level: str = "grid") -> pd.DataFrame:
    """Grids (``level`` 'grid') or villages ('village') with at least CHRONIC_MIN_CASES cases reported in the last
    CHRONIC_DAYS days: code, name, cases; most first, at most :data:`CHRONIC_ROWS`.

    The whole days of the window are counted from the day-count roll-up (``case_day_counts``, read from its covering
    index), the two partial days at its ends from ``cases``: counted from the cases, each of the window's cases was
    read from the table to check its place (463 ms for the city's grids at 1.07 M, ~5 × that at 5 M; issue 24)."""
    if level not in ("grid", "village"):
        raise ValueError(f"level: {level!r} is not 'grid' or 'village'")
    r = resolve(engine, scope)
    start, end = _since(now)
    col = CASE_LEVEL_COLUMN[level]
    first, last = start.date() + timedelta(days=1), end.date() - timedelta(days=1)   # the whole days in (start, end]
    rollup_place = _day_count_place(r)
    counted: Counter[str] = Counter()
    with engine.connect() as conn:
        if first <= last and rollup_place is not None:
            t = case_day_counts.c
            counted.update({code: int(n) for code, n in conn.execute(
                select(t[col.name], func.sum(t.n)).where(t.day >= first.isoformat(), t.day <= last.isoformat(),
                                                         t[col.name].is_not(None), *rollup_place)
                .group_by(t[col.name]))})
            edges = [(cases.c.reported_at > start, cases.c.reported_at < _midnight(first)),
                     (cases.c.reported_at >= _midnight(last + timedelta(days=1)), cases.c.reported_at <= end)]
        else:
            edges = [(cases.c.reported_at > start, cases.c.reported_at <= end)]
        # (the place column kept from SQLite's planner: it skip-scanned the grids' index for the day's few cases,
        # 35 ms a day at 1.07 M, instead of the report time's, 0.1 ms)
        place = no_index(col)
        for lo, hi in edges:
            counted.update({code: int(n) for code, n in conn.execute(
                select(place, func.count()).where(*_place(r, cases), lo, hi, place.is_not(None)).group_by(place))})
    top = sorted(((code, n) for code, n in counted.items() if n >= CHRONIC_MIN_CASES),
                 key=lambda x: (-x[1], x[0]))[:CHRONIC_ROWS]
    out = pd.DataFrame(top, columns=["code", "cases"]).astype({"cases": "int64"})
    out.insert(1, "name", [r.tree.nodes[c].name if c in r.tree.nodes else c for c in out["code"]])
    return out


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day)


def _day_count_place(r) -> list | None:
    """Conditions on ``case_day_counts`` for the place (its columns: county, township, village, top grid); above
    county level the counties under it; None where the roll-up cannot tell (a micro-grid)."""
    if r.code is None:
        return []
    t = case_day_counts.c
    if r.level in ("county", "township", "village"):
        return [t[f"{r.level}_code"] == r.code]
    if r.level == "grid":
        return [t.top_grid_code == r.code]
    if r.level in ("province", "city") and _all_under_counties(r.tree, r.code):
        return [t.county_code.in_(subtree_codes(r.tree, r.code, "county") or [])]
    return None   # (a grid or village straight under a city has cases without a county: counted from the cases)


def _all_under_counties(tree, code: str) -> bool:
    """Every place below ``code`` (a province or city) lies in a county."""
    stack = [code]
    while stack:
        for child in tree.children_of.get(stack.pop(), []):
            level = tree.nodes[child].level
            if level in ("province", "city"):
                stack.append(child)
            elif level != "county":
                return False
    return True


def frequent_reporters(engine: Engine, scope: Scope, user: User | None, now: datetime | None = None
                       ) -> pd.DataFrame:
    """Reporter phones (masked unless the user may see personal data) on at least CHRONIC_MIN_CASES non-patrol
    cases reported in the last CHRONIC_DAYS days: phone, cases, last reported; most first."""
    r = resolve(engine, scope)
    start, end = _since(now)
    phone = cases.c.reporter_phone
    n = func.count().label("cases")
    stmt = (select(phone, n, func.max(cases.c.reported_at).label("last_reported"))
            .where(*_place(r, cases), cases.c.reported_at > start, cases.c.reported_at <= end,
                   phone.is_not(None), phone != "", cases.c.source != "patrol")
            .group_by(phone).having(func.count() >= CHRONIC_MIN_CASES).order_by(n.desc(), phone).limit(CHRONIC_ROWS))
    with engine.connect() as conn:
        out = pd.DataFrame(conn.execute(stmt).all(), columns=["phone", "cases", "last_reported"])
    out["phone"] = [personal(user, p, "phone") for p in out["phone"]]
    return out


def reported_again(engine: Engine, scope: Scope, now: datetime | None = None) -> pd.DataFrame:
    """Closed cases reported again after closing (``cases.rereported``), closed in the last CHRONIC_DAYS days:
    case_no, title, category, grid_code, closed_at; latest close first."""
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(_reported_again_select(resolve(engine, scope), *_since(now))).all(),
                            columns=["case_no", "title", "category", "grid_code", "closed_at"])


def _reported_again_select(r, start: datetime, end: datetime):
    """:func:`reported_again`'s rows: the re-reported cases closed in (start, end], through
    ix_cases_rereported_closed (the few such cases, each checked for the place; the region column is kept from
    SQLite's planner, sqlfn.no_index: it took a county's index, 214,000 cases read at 1.07 M, 251 ms → 2 ms)."""
    c = cases.c
    return (select(c.case_no, c.title, c.category, c.grid_code, c.closed_at)
            .where(no_index(c[CASE_LEVEL_COLUMN[r.level].name]) == r.code if r.code is not None else true(),
                   c.rereported == true(), c.closed_at > start, c.closed_at <= end)
            .order_by(c.closed_at.desc(), c.case_no).limit(LIST_ROWS))
