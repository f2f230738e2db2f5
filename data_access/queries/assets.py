"""Idle-asset revitalisation (三资盘活): the portfolio of projects, their money, visitors and the projects that
are not operating yet.  "能用则用、不用则售、不售则租、能融则融" are the four disposal modes (use / sell / lease /
finance); "保底+分成" is the operating model ``guaranteed_plus_share``.

Definitions (the UI's help texts quote them):

- a project lies in its ``region_code`` (a city, county or township); "under the selected region" goes through
  ``node_paths`` like every other count.  Quantities are summed per asset kind *and* unit (亩, 栋, 宗/处, 米, ㎡
  never add up with each other).
- money is in 万元.  **Revenue** is ``asset_project_months.revenue_wan``: what the owner received in a month.
  **Revenue to date** sums every recorded month; **revenue in the period** the months inside the selected
  period (a month counts when its first day lies in the period).
- **guaranteed minimum + share** (保底+分成): the owner is owed at least ``guaranteed_min_wan`` a year, i.e.
  ``guaranteed_min_wan / 12`` for each month the project has a record; what is received above that monthly
  minimum is the **revenue share** (分成) part, what is missing below it the **shortfall** (保底缺口).  A project
  with a shortfall in any month of the period is flagged.
- **visitors per day** of a month = the month's visitors ÷ its days, where visitors are recorded.
- **not yet operating**: status planning, renovating or suspended; "since" = days from ``started_on`` to now
  (unknown when the project has no start date).

Every query takes a :class:`~data_access.core.filters.Scope` (the jurisdiction and the selected region) and,
where it reads the months of the period, the period (``(date_from, date_to)``) as an argument of its own.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import ColumnElement, Engine, and_, case, func, select

from data_access.core.access import User, visible
from data_access.core.clock import now_local
from data_access.core.filters import Period, Resolved, Scope, region_condition, resolve
from data_access.core.metrics import ratio
from data_access.core.regions import region_tree, subtree_codes
from data_access.core.schema import asset_project_months, asset_projects, node_paths

ap, am = asset_projects, asset_project_months
NOT_OPERATING = ("planning", "renovating", "suspended")
GUARANTEED = "guaranteed_plus_share"


def _paths():
    p = node_paths.alias("ap_p")
    return ap.join(p, p.c.code == ap.c.region_code), p


def _where(r: Resolved, p) -> list[ColumnElement]:
    return [c for c in [region_condition(r, p)] if c is not None]


def _months(period: Period) -> list[ColumnElement]:
    """Months whose first day lies in the period."""
    d_from, d_to = period
    conds = []
    if d_from is not None:
        first = d_from if d_from.day == 1 else date(d_from.year + (d_from.month == 12), d_from.month % 12 + 1, 1)
        conds.append(am.c.month >= first.strftime("%Y-%m"))
    if d_to is not None:
        conds.append(am.c.month <= d_to.strftime("%Y-%m"))
    return conds


def asset_data_loaded(engine: Engine) -> bool:
    """Whether the dataset holds any asset project at all (the files are optional)."""
    with engine.connect() as conn:
        return conn.execute(select(ap.c.project_code).limit(1)).first() is not None


# --- portfolio -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AssetSummary:
    projects: int = 0
    operating: int = 0
    not_operating: int = 0
    investment_wan: float = 0.0
    revenue_to_date_wan: float = 0.0
    revenue_period_wan: float = 0.0
    guaranteed_projects: int = 0
    shortfall_projects: int = 0

    @property
    def operating_share(self) -> float | None:
        return ratio(self.operating, self.projects)


def asset_summary(engine: Engine, scope: Scope, period: Period) -> AssetSummary:
    """Headline numbers of the projects under the selected region (see module doc)."""
    r = resolve(engine, scope)
    j, p = _paths()
    where = _where(r, p)
    mine = select(ap.c.project_code).select_from(j).where(*where)
    with engine.connect() as conn:
        row = conn.execute(select(
            func.count(), func.count().filter(ap.c.status == "operating"),
            func.count().filter(ap.c.status.in_(NOT_OPERATING)),
            func.coalesce(func.sum(ap.c.investment_wan), 0.0),
            func.count().filter(ap.c.operating_model == GUARANTEED)).select_from(j).where(*where)).one()
        to_date, in_period = conn.execute(select(
            func.coalesce(func.sum(am.c.revenue_wan), 0.0),
            func.coalesce(func.sum(am.c.revenue_wan).filter(and_(*_months(period))) if _months(period)
                          else func.sum(am.c.revenue_wan), 0.0))
            .where(am.c.project_code.in_(mine))).one()
    checks = guarantee_check(engine, scope, period)
    return AssetSummary(projects=row[0], operating=row[1], not_operating=row[2], investment_wan=float(row[3]),
                        revenue_to_date_wan=float(to_date), revenue_period_wan=float(in_period),
                        guaranteed_projects=row[4], shortfall_projects=int((checks["shortfall_months"] > 0).sum()))


def portfolio_by_kind(engine: Engine, scope: Scope) -> pd.DataFrame:
    """asset_kind, unit, projects, quantity — one row per kind and unit, most projects first."""
    r = resolve(engine, scope)
    j, p = _paths()
    with engine.connect() as conn:
        rows = conn.execute(select(ap.c.asset_kind, ap.c.unit, func.count(), func.sum(ap.c.quantity))
                            .select_from(j).where(*_where(r, p)).group_by(ap.c.asset_kind, ap.c.unit)).all()
    df = pd.DataFrame([tuple(x) for x in rows], columns=["asset_kind", "unit", "projects", "quantity"])
    return df.sort_values(["projects", "asset_kind", "unit"], ascending=[False, True, True]).reset_index(drop=True)


PORTFOLIO_DIMS = ("disposal_mode", "status", "operating_model")


def portfolio_by(engine: Engine, scope: Scope, dim: str) -> pd.DataFrame:
    """``dim`` (one of PORTFOLIO_DIMS), projects, investment_wan — one row per value present."""
    if dim not in PORTFOLIO_DIMS:
        raise ValueError(f"dim: {dim!r} is not one of {', '.join(PORTFOLIO_DIMS)}")
    r = resolve(engine, scope)
    j, p = _paths()
    col = ap.c[dim]
    with engine.connect() as conn:
        rows = conn.execute(select(col, func.count(), func.coalesce(func.sum(ap.c.investment_wan), 0.0))
                            .select_from(j).where(*_where(r, p)).group_by(col).order_by(col)).all()
    return pd.DataFrame([tuple(x) for x in rows], columns=[dim, "projects", "investment_wan"])


# --- money -----------------------------------------------------------------------------------------------------

def revenue_by_month(engine: Engine, scope: Scope, period: Period) -> pd.DataFrame:
    """month, disposal_mode, revenue_wan — the period's monthly revenue of the region's projects."""
    r = resolve(engine, scope)
    j, p = _paths()
    with engine.connect() as conn:
        rows = conn.execute(select(am.c.month, ap.c.disposal_mode, func.sum(am.c.revenue_wan))
                            .select_from(j.join(am, am.c.project_code == ap.c.project_code))
                            .where(*_where(r, p), *_months(period))
                            .group_by(am.c.month, ap.c.disposal_mode).order_by(am.c.month, ap.c.disposal_mode)).all()
    return pd.DataFrame([tuple(x) for x in rows], columns=["month", "disposal_mode", "revenue_wan"])


GUARANTEE_COLUMNS = ["project_code", "name", "guaranteed_min_wan", "revenue_share_pct", "months", "minimum_wan",
                     "received_wan", "share_part_wan", "shortfall_wan", "shortfall_months", "coverage", "short_months"]


def guarantee_check(engine: Engine, scope: Scope, period: Period) -> pd.DataFrame:
    """For each guaranteed-minimum-plus-share project under the region, over the months of the period it has a
    record for: the minimum owed, what was received, the part above the minimum (the share) and the shortfall
    below it, and the months short; GUARANTEE_COLUMNS, projects with a shortfall first.  ``coverage`` =
    received ÷ minimum; ``short_months`` names the months short ("2025-03, 2025-11"; "" for none), so a project
    flagged although it received more than the minimum over the period shows the month that explains it."""
    r = resolve(engine, scope)
    j, p = _paths()
    monthly_min = ap.c.guaranteed_min_wan / 12.0
    gap = monthly_min - am.c.revenue_wan
    stmt = (select(ap.c.project_code, ap.c.name, ap.c.guaranteed_min_wan, ap.c.revenue_share_pct,
                   func.count(am.c.month), func.count(am.c.month) * ap.c.guaranteed_min_wan / 12.0,
                   func.coalesce(func.sum(am.c.revenue_wan), 0.0),
                   func.coalesce(func.sum(case((gap < 0, -gap), else_=0.0)), 0.0),
                   func.coalesce(func.sum(case((gap > 0, gap), else_=0.0)), 0.0),
                   func.count().filter(gap > 0))
            .select_from(j.outerjoin(am, and_(am.c.project_code == ap.c.project_code, *_months(period))))
            .where(ap.c.operating_model == GUARANTEED, ap.c.guaranteed_min_wan.is_not(None), *_where(r, p))
            .group_by(ap.c.project_code, ap.c.name, ap.c.guaranteed_min_wan, ap.c.revenue_share_pct))
    short_stmt = (select(ap.c.project_code, am.c.month)
                  .select_from(j.join(am, and_(am.c.project_code == ap.c.project_code, *_months(period))))
                  .where(ap.c.operating_model == GUARANTEED, ap.c.guaranteed_min_wan.is_not(None), gap > 0,
                         *_where(r, p))
                  .order_by(ap.c.project_code, am.c.month))
    with engine.connect() as conn:
        rows = [tuple(x) for x in conn.execute(stmt)]
        short: dict[str, list[str]] = {}
        for code, month in conn.execute(short_stmt):
            short.setdefault(code, []).append(month)
    df = pd.DataFrame(rows, columns=GUARANTEE_COLUMNS[:-2])
    for c in ("minimum_wan", "received_wan", "share_part_wan", "shortfall_wan"):
        df[c] = df[c].astype("float64").round(6)
    df["coverage"] = pd.Series([ratio(a, b) for a, b in zip(df["received_wan"], df["minimum_wan"])], dtype="float64")
    df["short_months"] = pd.Series([", ".join(short.get(c, [])) for c in df["project_code"]], dtype="object")
    return df.sort_values(["shortfall_wan", "project_code"], ascending=[False, True]).reset_index(drop=True)


def months_recorded(check: pd.DataFrame) -> int:
    """The months of the period recorded over :func:`guarantee_check`'s projects (0: nothing owed, nothing to
    compare)."""
    return int(check["months"].sum())


def visitors_by_month(engine: Engine, scope: Scope, period: Period) -> pd.DataFrame:
    """project_code, name, month, visitors, visitors_per_day — the period's months of projects that record
    visitors."""
    r = resolve(engine, scope)
    j, p = _paths()
    with engine.connect() as conn:
        rows = conn.execute(select(ap.c.project_code, ap.c.name, am.c.month, am.c.visitors)
                            .select_from(j.join(am, am.c.project_code == ap.c.project_code))
                            .where(am.c.visitors.is_not(None), *_where(r, p), *_months(period))
                            .order_by(ap.c.project_code, am.c.month)).all()
    df = pd.DataFrame([tuple(x) for x in rows], columns=["project_code", "name", "month", "visitors"])
    df["visitors_per_day"] = [v / calendar.monthrange(int(m[:4]), int(m[5:7]))[1] for v, m in
                              zip(df["visitors"], df["month"])] if len(df) else pd.Series(dtype="float64")
    return df


PROJECT_COLUMNS = ["project_code", "name", "region", "asset_kind", "quantity", "unit", "disposal_mode",
                   "operating_model", "status", "investment_wan", "started_on", "revenue_to_date_wan"]


def project_list(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Every project under the region with its revenue to date: PROJECT_COLUMNS, by code."""
    r = resolve(engine, scope)
    j, p = _paths()
    rev = select(am.c.project_code, func.sum(am.c.revenue_wan).label("rev")).group_by(am.c.project_code).subquery()
    with engine.connect() as conn:
        rows = conn.execute(select(ap.c.project_code, ap.c.name, ap.c.region_code, ap.c.asset_kind, ap.c.quantity,
                                   ap.c.unit, ap.c.disposal_mode, ap.c.operating_model, ap.c.status,
                                   ap.c.investment_wan, ap.c.started_on, func.coalesce(rev.c.rev, 0.0))
                            .select_from(j.outerjoin(rev, rev.c.project_code == ap.c.project_code))
                            .where(*_where(r, p)).order_by(ap.c.project_code)).all()
    out = [(x[0], x[1], r.tree.nodes[x[2]].name if x[2] in r.tree.nodes else x[2], *x[3:]) for x in rows]
    return pd.DataFrame(out, columns=PROJECT_COLUMNS)


def projects_not_operating(engine: Engine, scope: Scope, now: datetime | None = None) -> pd.DataFrame:
    """Projects planning, renovating or suspended: project_code, name, region, status, started_on, days_since
    (None without a start date), longest first."""
    now = now or now_local()
    df = project_list(engine, scope)
    df = df[df["status"].isin(NOT_OPERATING)].copy()
    df["days_since"] = pd.Series([(now.date() - d).days if isinstance(d, date) else None for d in df["started_on"]],
                                 index=df.index, dtype="float64")
    df = df.sort_values(["days_since", "project_code"], ascending=[False, True], na_position="last")
    return df[["project_code", "name", "region", "asset_kind", "status", "started_on", "days_since"]].reset_index(
        drop=True)


@dataclass(frozen=True)
class ProjectCard:
    fields: dict  # every column of asset_projects, plus the region's name
    months: pd.DataFrame  # month, revenue_wan, visitors, visitors_per_day, minimum_wan, shortfall_wan
    revenue_to_date_wan: float

    @property
    def month_columns(self) -> list[str]:
        """The columns of ``months`` that apply to the project: the minimum and the shortfall only when it has
        a guaranteed minimum, the visitors only when it records them."""
        m = self.months
        return ["month", "revenue_wan", *(["minimum_wan", "shortfall_wan"] if m["minimum_wan"].notna().any() else []),
                *(["visitors", "visitors_per_day"] if m["visitors_per_day"].notna().any() else [])]


def project_card(engine: Engine, scope: Scope, code: str, user: User | None = None) -> ProjectCard | None:
    """One project inside the jurisdiction (None when unknown or outside) with its whole monthly series."""
    r = resolve(engine, scope)
    if not isinstance(code, str):
        return None
    with engine.connect() as conn:
        row = conn.execute(select(ap).where(ap.c.project_code == code)).mappings().one_or_none()
        if row is None or not visible(r.tree, row["region_code"], scope.scope_code, user):
            return None
        months = conn.execute(select(am.c.month, am.c.revenue_wan, am.c.visitors)
                              .where(am.c.project_code == code).order_by(am.c.month)).all()
    fields = dict(row)
    fields["region"] = r.tree.nodes[row["region_code"]].name
    df = pd.DataFrame([tuple(x) for x in months], columns=["month", "revenue_wan", "visitors"])
    df["visitors_per_day"] = pd.Series(
        [v / calendar.monthrange(int(m[:4]), int(m[5:7]))[1] if v is not None and not pd.isna(v) else None
         for v, m in zip(df["visitors"], df["month"])], dtype="float64")
    gmin = row["guaranteed_min_wan"] if row["operating_model"] == GUARANTEED else None
    df["minimum_wan"] = pd.Series([gmin / 12 if gmin is not None else None] * len(df), dtype="float64")
    df["shortfall_wan"] = pd.Series([max(0.0, gmin / 12 - rv) if gmin is not None else None
                                     for rv in df["revenue_wan"]], dtype="float64")
    return ProjectCard(fields=fields, months=df, revenue_to_date_wan=float(df["revenue_wan"].sum()))


# --- the figures the article quotes ------------------------------------------------------------------------

def asset_projects_with_visitors(engine: Engine, region_code: str | None = None) -> pd.DataFrame:
    """One row per project: code, name, region_code, asset_kind, quantity, unit, disposal_mode,
    operating_model, status, and its best month's visitors per day (where visitors are recorded)."""
    codes = subtree_codes(region_tree(engine), region_code)
    p, m = asset_projects.c, asset_project_months.c
    best = (
        select(m.project_code, func.max(m.visitors).label("max_month_visitors"))
        .group_by(m.project_code).subquery()
    )
    stmt = select(p.project_code, p.name, p.region_code, p.asset_kind, p.quantity, p.unit, p.disposal_mode,
                  p.operating_model, p.status, best.c.max_month_visitors).select_from(
        asset_projects.outerjoin(best, best.c.project_code == p.project_code)).order_by(p.project_code)
    if codes is not None:
        stmt = stmt.where(p.region_code.in_(codes))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(stmt).all(),
                            columns=["project_code", "name", "region_code", "asset_kind", "quantity", "unit",
                                     "disposal_mode", "operating_model", "status", "max_month_visitors"])


def visitors_per_day_by_month(engine: Engine, project_code: str) -> pd.DataFrame:
    """month, visitors, visitors_per_day for one project."""
    m = asset_project_months.c
    with engine.connect() as conn:
        rows = conn.execute(select(m.month, m.visitors).where(m.project_code == project_code,
                                                                  m.visitors.is_not(None)).order_by(m.month)).all()
    df = pd.DataFrame(rows, columns=["month", "visitors"])
    days = pd.to_datetime(df["month"] + "-01").dt.days_in_month if len(df) else pd.Series(dtype="int64")
    df["visitors_per_day"] = df["visitors"] / days
    return df
