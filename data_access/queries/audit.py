"""Questions the audit log page asks: entries per event, and the newest entries the viewer may read.

The log is written by core/audit.py (``record``), in each write's own transaction.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, and_, func, or_, select

from data_access.core.access import User, clean_text, may_read_audit
from data_access.core.audit import EVENTS, PAGE_SIZE
from data_access.core.regions import region_tree
from data_access.core.schema import audit_log


def _visible_condition(engine: Engine, viewer: User):
    """Rows the viewer may read: everything for a user without a jurisdiction; otherwise rows of actors whose
    jurisdiction lies inside the viewer's, failed sign-ins and locks of its accounts included (they carry the
    account's jurisdiction; those of unknown names carry none and are admin-only)."""
    if viewer.scope_code is None:
        return None
    tree = region_tree(engine)
    with engine.connect() as conn:
        scopes = [s for (s,) in conn.execute(select(audit_log.c.scope_code).distinct()) if s is not None]
    inside = [s for s in scopes if s in tree.nodes and tree.contains(viewer.scope_code, s)]
    return audit_log.c.scope_code.in_(inside) if inside else audit_log.c.id < 0


def _date_conditions(date_from: date | None, date_to: date | None) -> list:
    conds = []
    if date_from is not None:
        conds.append(audit_log.c.at >= datetime(date_from.year, date_from.month, date_from.day))
    if date_to is not None:
        conds.append(audit_log.c.at < datetime(date_to.year, date_to.month, date_to.day) + timedelta(days=1))
    return conds


def audit_event_counts(engine: Engine, viewer: User, date_from: date | None = None, date_to: date | None = None
                       ) -> dict[str, int]:
    """Entries per event in the period, of the accounts the viewer may see (every event, zeros included)."""
    if not may_read_audit(viewer):
        raise PermissionError(f"role: {viewer.role if viewer else None} may not read the audit log")
    conds = _date_conditions(date_from, date_to)
    visible = _visible_condition(engine, viewer)
    if visible is not None:
        conds.append(visible)
    q = select(audit_log.c.event, func.count()).group_by(audit_log.c.event)
    if conds:
        q = q.where(and_(*conds))
    with engine.connect() as conn:
        got = dict(conn.execute(q).all())
    return {e: int(got.get(e, 0)) for e in EVENTS}


def audit_entries(engine: Engine, viewer: User, *, events: tuple[str, ...] = (), username: str = "",
                  date_from: date | None = None, date_to: date | None = None, limit: int = PAGE_SIZE
                  ) -> tuple[pd.DataFrame, int]:
    """The newest audit rows the viewer may read, filtered; returns ``(rows, total matching)``."""
    if not may_read_audit(viewer):
        raise PermissionError(f"role: {viewer.role if viewer else None} may not read the audit log")
    conds = []
    visible = _visible_condition(engine, viewer)
    if visible is not None:
        conds.append(visible)
    if events:
        conds.append(audit_log.c.event.in_(events))
    name = clean_text(username).strip()
    if name:
        esc = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conds.append(or_(audit_log.c.username.like(f"%{esc}%", escape="\\"),
                         audit_log.c.target.like(f"%{esc}%", escape="\\")))
    conds += _date_conditions(date_from, date_to)
    where = and_(*conds) if conds else None
    cols = [audit_log.c.id, audit_log.c.at, audit_log.c.event, audit_log.c.username, audit_log.c.role,
            audit_log.c.scope_code, audit_log.c.target, audit_log.c.rows, audit_log.c.detail]
    q = select(*cols).order_by(audit_log.c.id.desc()).limit(limit)
    n = select(func.count()).select_from(audit_log)
    if where is not None:
        q, n = q.where(where), n.where(where)
    with engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).mappings().all(), columns=[c.name for c in cols])
        total = conn.execute(n).scalar_one()
    return df, int(total)
