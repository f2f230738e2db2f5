"""The 风险预警 page's questions: the stored warnings of a place (core/warnings.py computes and stores them),
the number of new ones (the Overview's link), and one warning's daily series with its expected band.

The warnings are read from the ``warnings`` table, so the page answers at once; a place's warnings are those of
it and every place below it, inside the user's jurisdiction (``filters.resolve``)."""
from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Engine, func, select

from data_access.core import warnings as engine_
from data_access.core.filters import Scope, resolve
from data_access.core.schema import warnings as warnings_table

OPEN_STATES = engine_.OPEN_STATES
COLUMNS = ["id", "kind", "region_code", "level", "category", "first_day", "last_day", "observed", "expected",
           "lower", "upper", "p_value", "q_value", "severity", "state", "state_note", "state_by", "state_at",
           "computed_at", "as_of"]


def _in_place(engine: Engine, scope: Scope, df: pd.DataFrame) -> pd.DataFrame:
    r = resolve(engine, scope)
    if r.code is None:
        return df
    inside = [r.tree.contains(r.code, c) for c in df["region_code"]]
    return df[inside] if len(df) else df


def warnings_of(engine: Engine, scope: Scope, states: tuple[str, ...] = OPEN_STATES) -> pd.DataFrame:
    """The stored warnings at or below the place, in ``states`` (all when empty), the most severe first; with the
    place's name (``region_name``)."""
    t = warnings_table
    stmt = select(*(t.c[c] for c in COLUMNS))
    if states:
        stmt = stmt.where(t.c.state.in_(states))
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(stmt).all(), columns=COLUMNS)
    df = _in_place(engine, scope, df)
    tree = resolve(engine, scope).tree
    df = df.assign(region_name=[tree.nodes[c].name if c in tree.nodes else c for c in df["region_code"]])
    return df.sort_values(["severity", "id"], ascending=[False, True]).reset_index(drop=True)


def state_counts(engine: Engine, scope: Scope) -> dict[str, int]:
    """How many stored warnings at or below the place are in each state (engine_.STATES, all of them, 0 when
    none): the page's headline numbers."""
    t = warnings_table
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(select(t.c.region_code, t.c.state)).all(), columns=["region_code", "state"])
    counts = _in_place(engine, scope, df)["state"].value_counts()
    return {s: int(counts.get(s, 0)) for s in engine_.STATES}


def new_count(engine: Engine, scope: Scope) -> int:
    """The number of new warnings at or below the place (the Overview's link)."""
    return len(warnings_of(engine, scope, ("new",)))


def warning_series(engine: Engine, scope: Scope, warning_id: int, days_shown: int = 42) -> pd.DataFrame:
    """One warning's place and category, day by day up to its last day: observed, expected and the usual range
    (empty for a warning outside the place, or of a kind that is not a daily count: backlog, overdue)."""
    t = warnings_table
    with engine.connect() as conn:
        row = conn.execute(select(t.c.kind, t.c.region_code, t.c.level, t.c.category, t.c.last_day)
                           .where(t.c.id == warning_id)).mappings().first()
    empty = pd.DataFrame(columns=["day", "observed", "expected", "lower", "upper"])
    if row is None or row["kind"] in ("backlog", "overdue"):
        return empty
    if _in_place(engine, scope, pd.DataFrame({"region_code": [row["region_code"]]})).empty:
        return empty
    return engine_.series(engine, row["region_code"], row["level"], row["category"], row["last_day"], days_shown)


def case_period(first_day: date, last_day: date) -> tuple[date, date]:
    """The report dates of the cases behind a warning (the workbench's link): its days."""
    return first_day, max(first_day, last_day)


def as_of_day(engine: Engine) -> date | None:
    """The data day the stored warnings were computed for (None before the first computation)."""
    t = warnings_table
    with engine.connect() as conn:
        return conn.execute(select(func.max(t.c.as_of))).scalar()

