"""Questions the Overview cockpit asks: the headline numbers with the previous period, the monthly trend,
where closed cases were settled, and the ranking of the selected region's children (also the county map).

The counting itself is core/counting.py's (shared with the workbench, the export and the ranking).
"""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Engine

from data_access.core.clock import now_local
from data_access.core.counting import (
    COUNT_COLUMNS,
    case_counts,
    case_kpis,
    open_overdue_from_counts,
)
from data_access.core.filters import CaseFilter, resolve
from data_access.core.metrics import (
    BUCKET_COLUMNS,
    RESOLUTION_LEVELS,
    CaseKpis,
    closure_rate,
    median_from_histogram,
    on_time_count,
    on_time_rate,
    per_1000,
)


def case_kpis_with_previous(engine: Engine, f: CaseFilter, now: datetime | None = None
                            ) -> tuple[CaseKpis, CaseKpis | None]:
    """Headline numbers of the period and of the period of equal length before it."""
    now = now or now_local()
    prev = f.previous_period()
    return case_kpis(engine, f, now), (case_kpis(engine, prev, now) if prev else None)


def monthly_cases_by_status(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """month, status, cases — for the trend chart (month = report month)."""
    df = case_counts(engine, f, ("month", "status"), now, histogram=False)
    return df[["month", "status", "cases"]].sort_values(["month", "status"]).reset_index(drop=True)


def closed_cases_by_resolution_level(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """resolution_level, cases, share — where closed cases were settled (小事不出村、大事不出镇)."""
    df = case_counts(engine, f, ("resolution_level",), now, histogram=False)
    df = df[df["resolution_level"].isin(RESOLUTION_LEVELS)]
    out = pd.DataFrame({"resolution_level": list(RESOLUTION_LEVELS)})
    out = out.merge(df[["resolution_level", "closed"]], how="left").fillna({"closed": 0})
    out = out.rename(columns={"closed": "cases"})
    out["cases"] = out["cases"].astype("int64")
    total = out["cases"].sum()
    out["share"] = out["cases"] / total if total else 0.0
    return out


def child_region_ranking(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """One row per child of the selected region (all of them, also those without cases):
    code, name, level, cases, closed, closure_rate, on_time_rate, open, open_overdue, population,
    cases_per_1000, median_hours_to_close."""
    now = now or now_local()
    r = resolve(engine, f)
    base = r.tree.children_frame(r.code)
    cols = ["code", "name", "level", "cases", "closed", "closure_rate", "on_time_rate", "open", "open_overdue",
            "population", "cases_per_1000", "median_hours_to_close"]
    if base.empty:
        return pd.DataFrame(columns=cols)
    counts = case_counts(engine, f, ("child",), now)
    oo = open_overdue_from_counts(engine, f, counts, ("child",), now).rename(columns={"child": "code"})
    counts = counts.rename(columns={"child": "code"})
    df = base.merge(counts, on="code", how="left").merge(oo, on="code", how="left")
    for c in [*COUNT_COLUMNS, "open", "open_overdue"]:
        df[c] = df[c].fillna(0).astype("int64")
    df["closure_rate"] = [closure_rate(a, b) for a, b in zip(df["closed"], df["cases"])]
    df["on_time_rate"] = [on_time_rate(on_time_count(a, l), a) for a, l in zip(df["closed"], df["closed_late"])]
    df["cases_per_1000"] = [per_1000(c, p) for c, p in zip(df["cases"], df["population"])]
    df["median_hours_to_close"] = [median_from_histogram(row) for row in df[list(BUCKET_COLUMNS)].to_numpy()]
    for c in ("closure_rate", "on_time_rate", "cases_per_1000", "median_hours_to_close"):
        df[c] = df[c].astype("float64")  # None → NaN, so tables and charts see numbers
    return df[cols].sort_values("cases", ascending=False, kind="stable").reset_index(drop=True)
