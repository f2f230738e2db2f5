"""Questions the Overview cockpit asks: the headline numbers with the previous period, the monthly trend,
where closed cases were settled, and the ranking of the selected region's children (also the county map).

The counting itself is core/counting.py's (shared with the workbench, the export and the ranking).
"""
from __future__ import annotations

from dataclasses import dataclass
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
from data_access.core.filters import CASE_LEVEL_COLUMN, CaseFilter, resolve
from data_access.core.metrics import (
    BUCKET_COLUMNS,
    RESOLUTION_LEVELS,
    CaseKpis,
    closure_rate,
    median_from_histogram,
    on_time_count,
    on_time_rate,
    per_1000,
    resolution_rate,
    response_rate,
    satisfaction_rate,
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
    ints = [*COUNT_COLUMNS, "open", "open_overdue"]
    df[ints] = df[ints].fillna(0).astype("int64")   # at once: column by column was ~5 ms of 36 columns
    df["closure_rate"] = [closure_rate(a, b) for a, b in zip(df["closed"], df["cases"])]
    df["on_time_rate"] = [on_time_rate(on_time_count(a, l), a) for a, l in zip(df["closed"], df["closed_late"])]
    df["cases_per_1000"] = [per_1000(c, p) for c, p in zip(df["cases"], df["population"])]
    df["median_hours_to_close"] = [median_from_histogram(row) for row in df[list(BUCKET_COLUMNS)].to_numpy()]
    for c in ("closure_rate", "on_time_rate", "cases_per_1000", "median_hours_to_close"):
        df[c] = df[c].astype("float64")  # None → NaN, so tables and charts see numbers
    return df[cols].sort_values("cases", ascending=False, kind="stable").reset_index(drop=True)


# The outcome rates (三率), each from a row of counts (case_counts' columns) by its one definition in metrics.py.
OUTCOME_RATES = {
    "response_rate": lambda c: response_rate(c["n_accepted_in_time"], c["n_accepted"], c["n_unaccepted_late"]),
    "resolution_rate": lambda c: resolution_rate(c["n_resolved"], c["cases"]),
    "satisfaction_rate": lambda c: satisfaction_rate(c["n_satisfied"], c["n_satisfaction"]),
}


@dataclass(frozen=True)
class OutcomeComparison:
    """The selected region's 三率 against the mean of its siblings' (metrics.py, "against the siblings")."""

    level: str | None            # the selected region's level (None: the whole tree)
    siblings: tuple[str, ...]    # the siblings compared with (inside the jurisdiction), in the tree's order
    own: dict[str, float | None]            # rate -> the region's value
    siblings_mean: dict[str, float | None]  # rate -> the mean of the siblings' values (None: no sibling has it)
    siblings_with: dict[str, int]           # rate -> how many siblings have it (its denominator > 0)


def outcome_rates_vs_siblings(engine: Engine, f: CaseFilter, now: datetime | None = None) -> OutcomeComparison:
    """The Overview's 三率 for the selection and the mean of the same rates of the selected region's siblings:
    the other children of its parent (a county against the other counties of its city; a city root against the
    other roots), over the same period and filters, each sibling weighing the same.  Only siblings inside the
    user's jurisdiction count: a county's staff see "no siblings" (their jurisdiction holds no other county)."""
    now = now or now_local()
    r = resolve(engine, f)
    counts = case_counts(engine, f, (), now, histogram=False)
    own_row = counts.iloc[0] if len(counts) else None
    own = {k: (fn(own_row) if own_row is not None else None) for k, fn in OUTCOME_RATES.items()}
    node = r.tree.get(r.code)
    siblings: list[str] = []
    if node is not None and node.level in CASE_LEVEL_COLUMN:
        siblings = [c for c in r.tree.children_of.get(node.parent, [])
                    if c != node.code and (f.scope_code is None or r.tree.contains(f.scope_code, c))]
    means: dict[str, float | None] = {k: None for k in OUTCOME_RATES}
    with_: dict[str, int] = {k: 0 for k in OUTCOME_RATES}
    if siblings:
        by_child = case_counts(engine, f.with_(region_code=node.parent), ("child",), now, histogram=False)
        rows = {row["child"]: row for _i, row in by_child.iterrows()}
        for k, fn in OUTCOME_RATES.items():
            values = [v for v in (fn(rows[c]) for c in siblings if c in rows) if v is not None]
            with_[k] = len(values)
            means[k] = sum(values) / len(values) if values else None
    return OutcomeComparison(level=r.level, siblings=tuple(siblings), own=own, siblings_mean=means,
                             siblings_with=with_)
