"""Volunteer teams (志愿服务, the "娄底红" teams): how many, where, what they do, and which have gone quiet.

Definitions (metrics.py has them in words; the UI's help texts quote them):

- a team lies where it serves: its grid when it has one, else its region (a village or community).
- **members** = the teams' ``members``; **activities**, **participants** (人次) and **volunteer hours**
  (participants × hours, 人·小时) count the activities *dated in the period*.
- **inactive team**: no activity in the last ``inactive_days`` days before now (none at all counts as none),
  and founded more than ``inactive_days`` days ago (or on an unknown date): a new team is not inactive yet.
- **focus tags** are the ``;``-separated tags of a team's ``focus``; a team counts once for each tag it has.
- **most active**: the most activities in the period, then the most volunteer hours.

The teams are read from ``team_summary`` (core/rollups.py: each team with its place's path and its last
activity, kept by the loader and the sync), without a join to their paths or activities (issue 24).

Every query takes a :class:`~data_access.core.filters.Scope` (the jurisdiction and the selected region) and,
where it counts activities or cases, the period (``(date_from, date_to)``, inclusive) as an argument of its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import ColumnElement, Engine, and_, func, or_, select

from data_access.core.access import User, personal, visible
from data_access.core.clock import now_local
from data_access.core.contract import ACTIVITY_KINDS
from data_access.core.counting import rows_of
from data_access.core.filters import Period, Resolved, Scope, case_conditions, region_condition, resolve
from data_access.core.metrics import per_1000
from data_access.core.regions import path_column, served_node
from data_access.core.schema import cases, node_paths, team_summary, volunteer_activities, volunteer_teams
from data_access.core.search import find_text, name_or_code_match
from data_access.core.sqlfn import month_of

DEFAULT_INACTIVE_DAYS = 90

va, vt, ts = volunteer_activities, volunteer_teams, team_summary

INACTIVE_DAYS_CHOICES = (90, 180, 365)  # the inactivity thresholds offered on the volunteers page
ACTIVITY_MEASURES = ("activities", "participants", "person_hours")  # activities_by_month_kind's measures


def _team_paths():
    """The teams joined to the path of their place (the search only; the counts and lists read team_summary)."""
    p = node_paths.alias("tp")
    return vt.join(p, p.c.code == served_node(vt)), p


def _where(r: Resolved, p) -> list[ColumnElement]:
    return [c for c in [region_condition(r, p)] if c is not None]


def _in_scope(r: Resolved) -> list[ColumnElement]:
    """Activities (``va``) of the teams serving under the region: an IN over the region's teams, so that the
    (team_code, date) index reads only their rows (a join on the teams' coalesced place could not).  None at the
    tree's only root (every team serves under it): the period's activities are read by date alone."""
    if r.code is None or r.tree.roots == [r.code]:
        return []
    return [va.c.team_code.in_(select(ts.c.team_code).where(*_where(r, ts)))]


def _period(period: Period) -> list[ColumnElement]:
    d_from, d_to = period
    conds = []
    if d_from is not None:
        conds.append(va.c.date >= d_from)
    if d_to is not None:
        conds.append(va.c.date <= d_to)
    return conds


def _activity_measures() -> list:
    return [func.count(va.c.id).label("activities"),
            func.coalesce(func.sum(va.c.participants), 0).label("participants"),
            func.coalesce(func.sum(va.c.participants * va.c.hours), 0.0).label("person_hours")]


def _inactive_condition(now: datetime, days: int) -> ColumnElement:
    """A team (a ``team_summary`` row) without an activity since the cut-off (its last activity on it or before,
    or none), founded before it (see module doc)."""
    cutoff = (now - timedelta(days=days)).date()
    return and_(or_(ts.c.last_activity.is_(None), ts.c.last_activity <= cutoff),
                or_(ts.c.founded_on.is_(None), ts.c.founded_on <= cutoff))


@dataclass(frozen=True)
class VolunteerSummary:
    teams: int = 0
    members: int = 0
    activities: int = 0
    participants: int = 0
    person_hours: float = 0.0
    inactive: int = 0
    population: int = 0

    @property
    def members_per_1000(self) -> float | None:
        return per_1000(self.members, self.population)


def volunteer_summary(engine: Engine, scope: Scope, period: Period, now: datetime | None,
                      inactive_days: int = DEFAULT_INACTIVE_DAYS) -> VolunteerSummary:
    """Teams, members, the period's activities and the inactive teams under the selected region."""
    now = now or now_local()
    r = resolve(engine, scope)
    with engine.connect() as conn:
        teams, members, inactive = conn.execute(
            select(func.count(), func.coalesce(func.sum(ts.c.members), 0),
                   func.count().filter(_inactive_condition(now, inactive_days)))
            .where(*_where(r, ts))).one()
        acts = conn.execute(select(*_activity_measures()).where(*_in_scope(r), *_period(period))).one()
    pop = r.tree.population.get(r.code, 0) if r.code else sum(r.tree.population.get(c, 0) for c in r.tree.roots)
    return VolunteerSummary(teams=teams, members=int(members), activities=acts.activities,
                            participants=int(acts.participants), person_hours=float(acts.person_hours),
                            inactive=inactive, population=pop)


CHILD_COLUMNS = ["code", "name", "level", "teams", "members", "activities", "participants", "person_hours",
                 "inactive", "population", "members_per_1000"]


def volunteers_by_child_region(engine: Engine, scope: Scope, period: Period, now: datetime | None = None,
                               inactive_days: int = DEFAULT_INACTIVE_DAYS) -> pd.DataFrame:
    """One row per child of the selected region (all of them): CHILD_COLUMNS."""
    now = now or now_local()
    r = resolve(engine, scope)
    base = r.tree.children_frame(r.code)
    if base.empty:
        return pd.DataFrame(columns=CHILD_COLUMNS)
    level = r.tree.child_level(r.code)
    key = path_column(ts, level)
    where = _where(r, ts)
    with engine.connect() as conn:
        t = pd.DataFrame(conn.execute(
            select(key.label("code"), func.count().label("teams"),
                   func.coalesce(func.sum(ts.c.members), 0).label("members"),
                   func.count().filter(_inactive_condition(now, inactive_days)).label("inactive"))
            .where(*where).group_by(key)).mappings().all())
        per_team = (select(va.c.team_code, *_activity_measures()).where(*_in_scope(r), *_period(period))
                    .group_by(va.c.team_code).subquery("pt"))
        a = pd.DataFrame(conn.execute(
            select(key.label("code"), func.sum(per_team.c.activities).label("activities"),
                   func.sum(per_team.c.participants).label("participants"),
                   func.sum(per_team.c.person_hours).label("person_hours"))
            .select_from(ts.join(per_team, per_team.c.team_code == ts.c.team_code)).where(*where).group_by(key)
        ).mappings().all())
    for part in (t, a):
        if not part.empty:
            base = base.merge(part, on="code", how="left")
    for c in ("teams", "members", "inactive", "activities", "participants"):
        base[c] = base[c].fillna(0).astype("int64") if c in base else 0
    base["person_hours"] = base["person_hours"].fillna(0.0).astype("float64") if "person_hours" in base else 0.0
    base["members_per_1000"] = pd.Series([per_1000(m, pop) for m, pop in zip(base["members"], base["population"])],
                                         dtype="float64")
    return base[CHILD_COLUMNS]


def team_growth(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Teams founded per month and the running totals of teams and members: month, new_teams, new_members,
    teams, members.  Teams without a founding date are left out (their number: :func:`undated_teams`)."""
    r = resolve(engine, scope)
    m = month_of(ts.c.founded_on)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(
            select(m.label("month"), func.count().label("new_teams"),
                   func.coalesce(func.sum(ts.c.members), 0).label("new_members"))
            .where(ts.c.founded_on.is_not(None), *_where(r, ts)).group_by(m).order_by(m)
        ).mappings().all(), columns=["month", "new_teams", "new_members"])
    df["teams"] = df["new_teams"].cumsum()
    df["members"] = df["new_members"].cumsum()
    return df


def undated_teams(engine: Engine, scope: Scope) -> int:
    r = resolve(engine, scope)
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ts)
                            .where(ts.c.founded_on.is_(None), *_where(r, ts))).scalar_one()


def focus_tags(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Teams per focus tag (tag, teams), most common first; a team counts once per tag."""
    r = resolve(engine, scope)
    with engine.connect() as conn:   # the teams per distinct focus (a province's 138,839 teams have ~130)
        rows = conn.execute(select(ts.c.focus, func.count()).where(*_where(r, ts)).group_by(ts.c.focus)).all()
    teams = dict.fromkeys(ACTIVITY_KINDS, 0)
    for focus, n in rows:
        for tag in set((focus or "").split(";")) & teams.keys():
            teams[tag] += n
    df = pd.DataFrame(list(teams.items()), columns=["tag", "teams"])
    return df[df["teams"] > 0].sort_values(["teams", "tag"], ascending=[False, True]).reset_index(drop=True)


def activities_by_month_kind(engine: Engine, scope: Scope, period: Period) -> pd.DataFrame:
    """The period's activities per month and kind: month, kind, activities, participants, person_hours."""
    r = resolve(engine, scope)
    m = month_of(va.c.date)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(
            select(m.label("month"), va.c.kind, *_activity_measures()).where(*_in_scope(r), *_period(period))
            .group_by(m, va.c.kind).order_by(m, va.c.kind)).mappings().all(),
            columns=["month", "kind", "activities", "participants", "person_hours"])


TEAM_LIST_COLUMNS = ["team_code", "name", "village", "township", "members", "founded_on", "last_activity",
                     "days_since", "activities", "participants", "person_hours"]


def _team_rows(r: Resolved, rows, now: datetime) -> pd.DataFrame:
    out = []
    for x in rows:
        names = {n.level: n.name for n in r.tree.ancestors(x.node)} if x.node in r.tree.nodes else {}
        last = x.last_activity
        out.append((x.team_code, x.name, names.get("village"), names.get("township"), x.members, x.founded_on,
                    last, (now.date() - last).days if last else None, x.activities, int(x.participants),
                    float(x.person_hours)))
    return pd.DataFrame(out, columns=TEAM_LIST_COLUMNS)


def _team_select(r: Resolved, period: Period):
    """The region's teams with their last activity (team_summary) and the period's activity counts (of the
    region's teams only)."""
    in_period = (select(va.c.team_code, *_activity_measures()).where(*_in_scope(r), *_period(period))
                 .group_by(va.c.team_code).subquery("pa"))
    stmt = (select(ts.c.team_code, ts.c.name, ts.c.members, ts.c.founded_on, ts.c.code.label("node"),
                   ts.c.last_activity, func.coalesce(in_period.c.activities, 0).label("activities"),
                   func.coalesce(in_period.c.participants, 0).label("participants"),
                   func.coalesce(in_period.c.person_hours, 0.0).label("person_hours"))
            .select_from(ts.join(in_period, in_period.c.team_code == ts.c.team_code))
            .where(*_where(r, ts)))
    return stmt, in_period


def inactive_teams(engine: Engine, scope: Scope, period: Period, now: datetime | None = None,
                   inactive_days: int = DEFAULT_INACTIVE_DAYS, limit: int | None = 500, count: bool = False
                   ) -> pd.DataFrame | int:
    """The inactive teams (see module doc), longest silent first (never active first): TEAM_LIST_COLUMNS (the
    activity columns count ``period``'s).
    With ``count``: how many rows the whole list has (an int), through the same statement (ui/capped.py)."""
    now = now or now_local()
    r = resolve(engine, scope)
    teams = (select(ts.c.team_code, ts.c.name, ts.c.members, ts.c.founded_on, ts.c.code.label("node"),
                    ts.c.last_activity)
             .where(*_where(r, ts), _inactive_condition(now, inactive_days)))
    with engine.connect() as conn:
        if count:
            return int(conn.execute(rows_of(teams)).scalar_one())
        # the period's activities of the listed teams only (not of every team of the region, as a list's order
        # does not depend on them)
        top = (teams.order_by(ts.c.last_activity.is_not(None), ts.c.last_activity, ts.c.team_code).limit(limit)
               .subquery("top"))
        pa = (select(va.c.team_code, *_activity_measures())
              .where(va.c.team_code.in_(select(top.c.team_code)), *_period(period)).group_by(va.c.team_code)
              .subquery("pa"))
        stmt = (select(*top.c, func.coalesce(pa.c.activities, 0).label("activities"),
                       func.coalesce(pa.c.participants, 0).label("participants"),
                       func.coalesce(pa.c.person_hours, 0.0).label("person_hours"))
                .select_from(top.outerjoin(pa, pa.c.team_code == top.c.team_code))
                .order_by(top.c.last_activity.is_not(None), top.c.last_activity, top.c.team_code))
        return _team_rows(r, conn.execute(stmt).all(), now)


def most_active_teams(engine: Engine, scope: Scope, period: Period, now: datetime | None = None, limit: int = 20
                      ) -> pd.DataFrame:
    """The teams with the most activities in the period (then volunteer hours): TEAM_LIST_COLUMNS."""
    now = now or now_local()
    r = resolve(engine, scope)
    stmt, in_period = _team_select(r, period)
    stmt = (stmt.where(in_period.c.activities > 0)
            .order_by(in_period.c.activities.desc(), in_period.c.person_hours.desc(), ts.c.team_code).limit(limit))
    with engine.connect() as conn:
        return _team_rows(r, conn.execute(stmt).all(), now)


@dataclass(frozen=True)
class TeamCard:
    team_code: str
    name: str
    members: int
    leader: str | None  # as the user may see it
    founded_on: date | None
    focus: list[str]
    place_code: str  # the grid (or region) it serves: the case workbench's region for "cases of its area"
    grid: str | None
    village: str | None
    township: str | None
    county: str | None
    last_activity: date | None
    activities: pd.DataFrame  # date, kind, participants, hours, note (newest first)
    area_cases: pd.DataFrame  # case_no, reported_at, category, status, title (newest first)
    area_case_count: int  # cases reported in its area in the period

    @property
    def activity_count(self) -> int:
        """Activities listed on the card (the latest, up to team_card's ``activity_limit``)."""
        return len(self.activities)


def team_card(engine: Engine, scope: Scope, period: Period, team_code: str, user: User | None,
              now: datetime | None = None, recent: int = 10, activity_limit: int = 100) -> TeamCard | None:
    """One team inside the user's jurisdiction (None when unknown or outside), with its activities and the cases
    of its area (its grid, else its village) reported in ``period``."""
    now = now or now_local()
    r = resolve(engine, scope)
    if not isinstance(team_code, str):
        return None
    with engine.connect() as conn:
        t = conn.execute(select(vt).where(vt.c.team_code == team_code)).one_or_none()
        if t is None:
            return None
        place = t.grid_code or t.region_code
        if not visible(r.tree, place, scope.scope_code, user):
            return None
        acts = pd.DataFrame(conn.execute(
            select(va.c.date, va.c.kind, va.c.participants, va.c.hours, va.c.note).where(va.c.team_code == team_code)
            .order_by(va.c.date.desc(), va.c.id.desc()).limit(activity_limit)).all(),
            columns=["date", "kind", "participants", "hours", "note"])
        last = conn.execute(select(func.max(va.c.date)).where(va.c.team_code == team_code)).scalar_one_or_none()
        area = resolve(engine, scope.at(place).cases(period))
        conds = case_conditions(area, now)
        rc = conn.execute(select(cases.c.case_no, cases.c.reported_at, cases.c.category, cases.c.status,
                                 cases.c.title).where(*conds)
                          .order_by(cases.c.reported_at.desc(), cases.c.case_no).limit(recent)).all()
        n_area = conn.execute(select(func.count()).select_from(cases).where(*conds)).scalar_one()
    names = {n.level: n.name for n in r.tree.ancestors(place)}
    return TeamCard(team_code=t.team_code, name=t.name, members=t.members,
                    leader=personal(user, t.leader_name, "name"), founded_on=t.founded_on,
                    focus=[x for x in (t.focus or "").split(";") if x], place_code=place,
                    grid=names.get("grid") or names.get("micro_grid"), village=names.get("village"),
                    township=names.get("township"), county=names.get("county"), last_activity=last,
                    activities=acts,
                    area_cases=pd.DataFrame([tuple(x) for x in rc],
                                            columns=["case_no", "reported_at", "category", "status", "title"]),
                    area_case_count=n_area)


def find_teams(engine: Engine, scope: Scope, text: str, limit: int = 20) -> pd.DataFrame:
    """Teams under the selected region whose name or code contains ``text``: team_code, name, village, township."""
    text = find_text(text)
    if not text:
        return pd.DataFrame(columns=["team_code", "name", "village", "township"])
    r = resolve(engine, scope)
    j, p = _team_paths()
    with engine.connect() as conn:
        rows = conn.execute(name_or_code_match(
            select(vt.c.team_code, vt.c.name, p.c.code.label("node")).select_from(j).where(*_where(r, p)),
            text, vt.c.name, vt.c.team_code, limit)).all()
    out = []
    for x in rows:
        names = {n.level: n.name for n in r.tree.ancestors(x.node)}
        out.append((x.team_code, x.name, names.get("village"), names.get("township")))
    return pd.DataFrame(out, columns=["team_code", "name", "village", "township"])
