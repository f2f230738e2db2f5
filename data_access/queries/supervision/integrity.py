"""Integrity checks on the closure rate (办结质量核查): how much of the official closure rate holds up.

Each check, the "flagged" case and the verified closure rate are defined in
metrics.py (and explained in the UI by the i18n keys
``integrity.check.<name>.help``).  The counts are additive: whole months of
the period come from ``case_summary`` / ``case_summary_county``
(INTEGRITY_COLUMNS), the edge days and any filter the roll-ups cannot answer
from ``cases`` with the very same expressions (summary.integrity_flags /
integrity_measures), as in overview.py.  The period applies: the cases are
those reported in it, like the Overview's closure rate.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, Engine, func, or_, select
from sqlalchemy import case as sql_case

from data_access.core.clock import now_local
from data_access.core.counting import rows_of
from data_access.core.filters import (
    CASE_LEVEL_COLUMN,
    CaseFilter,
    Resolved,
    case_conditions,
    period_parts,
    resolve,
    summary_conditions,
    summary_table,
    summary_usable,
)
from data_access.core.metrics import closure_rate, flagged_share, ratio, verified_closure_rate
from data_access.core.schema import case_summary, cases
from data_access.core.rollups import integrity_flags, integrity_measures

# The checks, in the order the UI shows them, with their roll-up column and their per-case flag.
CHECKS: dict[str, tuple[str, str]] = {
    "fast_close": ("n_fast_close", "f_fast"),
    "no_feedback": ("n_no_feedback", "f_no_feedback"),
    "reopened": ("n_reopened", "f_reopened"),
    "rereported": ("n_rereported", "f_rereported"),
}
COUNT_COLUMNS = ["cases", "closed", *[col for col, _f in CHECKS.values()], "n_flagged"]
CHILD_COLUMNS = ["code", "name", "level", "cases", "closed", "closure_rate", "verified_rate", "gap",
                 *[col for col, _f in CHECKS.values()], "n_flagged"]
# A flagged list reads only the townships holding the newest findings when they hold at most this share of the
# cases of those months (else reading them by township and sorting costs more than one newest-first scan).
NARROW_SHARE = 0.25
FLAGGED_COLUMNS = ["case_no", "title", "category", "grid_code", "reported_at", "closed_at", "hours_to_close",
                   "reason"]


@dataclass(frozen=True)
class IntegrityReport:
    """The closure rate of a selection and the checks behind it (metrics.py)."""

    cases: int = 0
    closed: int = 0
    n_fast_close: int = 0
    n_no_feedback: int = 0
    n_reopened: int = 0
    n_rereported: int = 0
    n_flagged: int = 0  # closed cases with at least one finding (a case counts once)

    @property
    def closure_rate(self) -> float | None:
        """The official closure rate: closed ÷ cases."""
        return closure_rate(self.closed, self.cases)

    @property
    def verified_closure_rate(self) -> float | None:
        """(closed − flagged) ÷ cases."""
        return verified_closure_rate(self.closed, self.n_flagged, self.cases)

    @property
    def gap(self) -> float | None:
        """Official minus verified closure rate (= flagged ÷ cases)."""
        return flagged_share(self.n_flagged, self.cases)

    def count(self, check: str) -> int:
        return int(getattr(self, CHECKS[check][0]))

    def share(self, check: str) -> float | None:
        """The share of closed cases that ``check`` flags ('flagged' for any of them)."""
        n = self.n_flagged if check == "flagged" else self.count(check)
        return ratio(n, self.closed)


def _summary_part(conn: Connection, r: Resolved, months: tuple[str, str], child_level: str | None) -> pd.DataFrame:
    table = summary_table(r, child_level)
    s = table.c
    gcols = [s[f"{child_level}_code"].label("child")] if child_level else []
    stmt = select(
        *gcols,
        func.coalesce(func.sum(s.n), 0).label("cases"),
        func.coalesce(func.sum(sql_case((s.status == "closed", s.n), else_=0)), 0).label("closed"),
        *[func.coalesce(func.sum(s[col]), 0).label(col) for col in COUNT_COLUMNS[2:]],
    ).where(*summary_conditions(r, months, table))
    if gcols:
        stmt = stmt.group_by(*gcols)
    return pd.DataFrame(conn.execute(stmt).all(), columns=[*(["child"] if child_level else []), *COUNT_COLUMNS])


def _raw_part(conn: Connection, r: Resolved, now: datetime, dates, child_level: str | None) -> pd.DataFrame:
    g = [CASE_LEVEL_COLUMN[child_level].label("child")] if child_level else []
    inner = (select(*g, sql_case((cases.c.status == "closed", 1), else_=0).label("f_closed"), *integrity_flags(cases))
             .where(*case_conditions(r, now, dates=dates)).subquery("i"))
    measures = {m.name: m for m in integrity_measures(inner)}
    gcols = [inner.c.child] if child_level else []
    stmt = select(*gcols, func.count().label("cases"),
                  func.coalesce(func.sum(inner.c.f_closed), 0).label("closed"),
                  *[measures[col] for col in COUNT_COLUMNS[2:]])
    if gcols:
        stmt = stmt.group_by(*gcols)
    return pd.DataFrame(conn.execute(stmt).all(), columns=[*(["child"] if child_level else []), *COUNT_COLUMNS])


def _counts(engine: Engine, r: Resolved, now: datetime, child_level: str | None) -> pd.DataFrame:
    with engine.connect() as conn:
        parts = period_parts(r, summary_usable(r, child_level),
                             lambda months: _summary_part(conn, r, months, child_level),
                             lambda days: _raw_part(conn, r, now, days, child_level))
    keys = ["child"] if child_level else []
    if not parts:
        return pd.DataFrame(columns=[*keys, *COUNT_COLUMNS])
    df = pd.concat(parts, ignore_index=True)
    df = df.groupby(keys, as_index=False)[COUNT_COLUMNS].sum() if keys else df[COUNT_COLUMNS].sum().to_frame().T
    df[COUNT_COLUMNS] = df[COUNT_COLUMNS].fillna(0).astype("int64")
    return df


def integrity_summary(engine: Engine, f: CaseFilter, now: datetime | None = None) -> IntegrityReport:
    """Cases reported in the period, closed, each check's count and the flagged closed cases."""
    now = now or now_local()
    df = _counts(engine, resolve(engine, f), now, None)
    if df.empty:
        return IntegrityReport()
    row = df.iloc[0]
    return IntegrityReport(**{c: int(row[c]) for c in COUNT_COLUMNS})


def integrity_by_child_region(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """One row per child of the selected region (all of them): code, name, level, cases, closed,
    closure_rate, verified_rate, gap (= official − verified), the four check counts and n_flagged —
    the largest gap first (children without cases last)."""
    now = now or now_local()
    r = resolve(engine, f)
    base = r.tree.children_frame(r.code, population=False)
    if base.empty:
        return pd.DataFrame(columns=CHILD_COLUMNS)
    counts = _counts(engine, r, now, r.tree.child_level(r.code)).rename(columns={"child": "code"})
    df = base.merge(counts, on="code", how="left")
    df[COUNT_COLUMNS] = df[COUNT_COLUMNS].fillna(0).astype("int64")
    df["closure_rate"] = [closure_rate(c, n) for c, n in zip(df["closed"], df["cases"])]
    df["verified_rate"] = [verified_closure_rate(c, fl, n)
                           for c, fl, n in zip(df["closed"], df["n_flagged"], df["cases"])]
    df["gap"] = [flagged_share(fl, n) for fl, n in zip(df["n_flagged"], df["cases"])]
    for c in ("closure_rate", "verified_rate", "gap"):
        df[c] = df[c].astype("float64")
    return (df[CHILD_COLUMNS].sort_values(["gap", "cases"], ascending=False, kind="stable", na_position="last")
            .reset_index(drop=True))


def _flag_condition(flag: str):
    """The condition behind a per-case flag of summary.integrity_flags (one definition for counts and lists)."""
    expr = next(e for e in integrity_flags(cases) if e.name == flag).element
    return expr.whens[0][0]


def _newest_flagged_slices(conn: Connection, r: Resolved, col: str, limit: int
                           ) -> tuple[list[str | None] | None, datetime] | None:
    """From ``case_summary``: the earliest report month from which on the ``limit`` newest cases with a finding
    in roll-up column ``col`` lie (whole months, so that nothing newer is left out), and the townships that
    hold them — or None for the townships when reading only those would not save much over reading every
    case from that month on.  None when nothing is flagged."""
    f, s = r.f, case_summary.c
    months = (f.date_from.strftime("%Y-%m") if f.date_from else "0000-00",
              f.date_to.strftime("%Y-%m") if f.date_to else "9999-99")
    stmt = (select(s.month, s.township_code, func.sum(s[col]), func.sum(s.n))
            .where(*summary_conditions(r, months, case_summary))
            .group_by(s.month, s.township_code).order_by(s.month.desc()))
    rows = conn.execute(stmt).all()
    flagged_by_month: dict[str, int] = {}
    for month, _t, flagged, _n in rows:
        flagged_by_month[month] = flagged_by_month.get(month, 0) + int(flagged or 0)
    total, oldest = 0, None
    for month in sorted(flagged_by_month, reverse=True):
        if total >= limit:
            break
        if flagged_by_month[month]:
            total += flagged_by_month[month]
            oldest = month
    if oldest is None:
        return None
    recent = [(t, int(flagged or 0), int(n or 0)) for month, t, flagged, n in rows if month >= oldest]
    townships = {t for t, flagged, _n in recent if flagged}
    read_narrow = sum(n for t, _f, n in recent if t in townships)
    read_all = sum(n for _t, _f, n in recent)
    since = datetime(int(oldest[:4]), int(oldest[5:7]), 1)
    if read_narrow > NARROW_SHARE * read_all:
        return None, since
    return sorted(townships, key=lambda t: t or ""), since


FLAGGED_ROWS = 200  # the flagged-case list shows the newest 200 (ui/capped.py offers the rest)


def flagged_cases(engine: Engine, f: CaseFilter, check: str, limit: int | None = FLAGGED_ROWS,
                  now: datetime | None = None, count: bool = False) -> pd.DataFrame | int:
    """The cases ``check`` flags (one of CHECKS), newest report first, at most ``limit`` (None: all of them, the
    capped list's download):
    case_no, title, category, grid_code, reported_at, closed_at, hours_to_close, reason (every check the case
    fails, ';'-separated keys of CHECKS).  No personal data.

    Flagged cases are rare, so a plain "newest first" scan may read most of the period to find them; where
    the roll-up can answer, it first says from which month on they lie (nothing flagged: no scan at all) and,
    when they are concentrated, in which townships (exact: the same filter is applied to the cases read).
    At full scale a rare finding spread over the whole city still costs a scan of the period (~0.4–0.6 s on
    SQLite); a partial index per check on ``reported_at`` would make every list a few ms.
    With ``count``: how many rows the whole list has (an int), through the same statement (ui/capped.py)."""
    if check not in CHECKS:
        raise ValueError(f"unknown integrity check {check!r}; one of {', '.join(CHECKS)}")
    now = now or now_local()
    limit = None if limit is None else max(0, int(limit))
    r = resolve(engine, f)
    flags = {e.name: e for e in integrity_flags(cases)}
    c = cases.c
    conds = [_flag_condition(CHECKS[check][1]), *case_conditions(r, now)]
    with engine.connect() as conn:
        if summary_usable(r) and limit and not count:   # the whole list (None) reads the period; an empty one nothing
            found = _newest_flagged_slices(conn, r, CHECKS[check][0], limit)
            if found is None:
                return pd.DataFrame(columns=FLAGGED_COLUMNS)
            townships, since = found
            conds.append(c.reported_at >= since)
            if townships is not None:
                known = [t for t in townships if t is not None]
                conds.append(or_(c.township_code.in_(known), c.township_code.is_(None)) if None in townships
                             else c.township_code.in_(known))
        stmt = (select(c.case_no, c.title, c.category, c.grid_code, c.reported_at, c.closed_at, c.hours_to_close,
                       *[flags[fl] for _col, fl in CHECKS.values()])
                .where(*conds).order_by(c.reported_at.desc(), c.case_no.desc()))
        if count:
            return int(conn.execute(rows_of(stmt)).scalar_one())
        rows = conn.execute(stmt.limit(limit)).all()
    out = []
    for row in rows:
        reason = ";".join(name for i, name in enumerate(CHECKS) if row[7 + i])
        out.append((*row[:7], reason))
    return pd.DataFrame(out, columns=FLAGGED_COLUMNS)
