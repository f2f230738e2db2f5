"""Questions about extension requests (延期申请; written by data_access/writes/extensions.py).

Definitions:

- **extension request** (延期申请): a handling unit's request for N days or N working days more on an open case,
  ``requested`` until a leader or staff member of the case's jurisdiction ``approved`` or ``refused`` it.
- **original due time** (原办理时限): the case's due time under its time-limit rule, without extensions;
  **due time** (办理时限): with its approved extensions (core/time_limits.py, the one definition).
- By **unit** (the requesting department), over the extensions of the cases in the selection (reported in the
  period and region, as on the Overview): **requested** = every request, **approved**, **refused**, **pending**;
  **days granted** = the approved days (calendar and working days added as days, as the unit asked for them),
  **average days granted** = days granted ÷ approved; **share refused** = refused ÷ decided (approved + refused).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy import case as sql_case

from data_access.core import time_limits
from data_access.core.access import User
from data_access.core.filters import CaseFilter, case_conditions, resolve
from data_access.core.metrics import ratio
from data_access.core.regions import region_tree
from data_access.core.schema import case_extensions, cases, departments
from data_access.core.sqlfn import no_index_on

HISTORY_COLUMNS = ["extension_id", "status", "days", "day_kind", "reason", "unit_code", "requested_at",
                   "requested_by", "requested_by_user", "decided_at", "decided_by", "decided_by_user",
                   "decision_note"]


@dataclass(frozen=True)
class ExtensionHistory:
    """A case's extension requests (oldest first), its original and its current due time."""

    rows: pd.DataFrame
    original_due_at: datetime | None
    due_at: datetime | None


def case_extension_history(engine: Engine, user: User | None, case_no: str) -> ExtensionHistory:
    """The extension requests of the case ``case_no`` as ``user`` may see them (nothing outside the jurisdiction)."""
    empty = ExtensionHistory(pd.DataFrame(columns=HISTORY_COLUMNS), None, None)
    with engine.connect() as conn:
        case = conn.execute(select(cases.c.grid_code, cases.c.due_at).where(cases.c.case_no == case_no)).first()
        if case is None:
            return empty
        scope = user.scope_code if user is not None else None
        if scope is not None and not region_tree(engine).contains(scope, case.grid_code):
            return empty
        e = case_extensions.c
        rows = conn.execute(select(*(e[c] for c in HISTORY_COLUMNS)).where(e.case_no == case_no)
                            .order_by(e.requested_at, e.extension_id)).all()
        original = time_limits.original_due_at(conn, case_no)
    return ExtensionHistory(pd.DataFrame(rows, columns=HISTORY_COLUMNS), original, case.due_at)


BY_UNIT_COLUMNS = ["unit_code", "unit_name", "requested", "approved", "refused", "pending", "days_granted",
                   "avg_days_granted", "share_refused"]


def extensions_by_unit(engine: Engine, f: CaseFilter, now: datetime | None = None) -> pd.DataFrame:
    """Extension requests by requesting unit over the cases of ``f`` (module docstring), most requests first.

    The requests (few) are read first and their cases looked up by number (sqlfn.no_index_on): SQLite otherwise
    walked the period's cases through their index to find the few with requests (1.5 s at 1.07 M cases)."""
    r = resolve(engine, f)
    e = case_extensions.c

    def n(status: str):
        return func.coalesce(func.sum(sql_case((e.status == status, 1), else_=0)), 0)

    stmt = (select(e.unit_code, departments.c.name, func.count().label("requested"), n("approved"),
                   n("refused"), n("requested"),
                   func.coalesce(func.sum(sql_case((e.status == "approved", e.days), else_=0)), 0))
            .select_from(case_extensions.join(cases, cases.c.case_no == e.case_no)
                         .outerjoin(departments, departments.c.code == e.unit_code))
            .where(*(no_index_on(c, cases) for c in case_conditions(r, now or datetime.now(), text_per_row=True)))
            .group_by(e.unit_code, departments.c.name))
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    out = []
    for code, name, requested, approved, refused, pending, days in rows:
        out.append([code, name, int(requested), int(approved), int(refused), int(pending), int(days),
                    ratio(int(days), int(approved)), ratio(int(refused), int(approved) + int(refused))])
    df = pd.DataFrame(out, columns=BY_UNIT_COLUMNS)
    return df.sort_values(["requested", "unit_code"], ascending=[False, True], ignore_index=True)
