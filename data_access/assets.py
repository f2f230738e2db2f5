"""Idle-asset revitalisation (三资盘活) projects."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, func, select

from .regions import region_tree, subtree_codes
from .schema import asset_project_months, asset_projects


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
