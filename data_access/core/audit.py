"""The audit log: who signed in (or failed to), who exported what, who wrote what.

Rows are only ever appended.  A write records its audit row in the write's own transaction (pass ``conn``),
so a refused or rolled-back write leaves no trace that it happened, and a committed one always has one.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, fields, is_dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Connection, Engine, and_, func, insert, or_, select

from data_access.core.access import User, clean_text, may_read_audit
from data_access.core.clock import wall_now
from data_access.core.regions import region_tree
from data_access.core.schema import audit_log

EVENTS = ("sign_in", "sign_in_failed", "locked", "sign_out", "export", "write", "user_admin")
MAX_DETAIL = 4000  # characters of JSON detail kept per row
PAGE_SIZE = 200


def _json_default(v: object) -> object:
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, (set, frozenset, tuple)):
        return list(v)
    return str(v)


def filter_detail(f: object) -> dict:
    """A filter as the audit log keeps it: only the fields that narrow (``CaseFilter`` or any dataclass)."""
    if not is_dataclass(f):
        return {}
    d = asdict(f)
    defaults = {fl.name: fl.default for fl in fields(f)}
    return {k: v for k, v in d.items() if v not in (None, "", (), [], False) and v != defaults.get(k)}


def _actor(user: User | None, username: str | None) -> str | None:
    name = (user.username or user.name) if user is not None else username
    return None if name is None else clean_text(str(name))[:64]


def record(target_conn: Engine | Connection, event: str, *, user: User | None = None,
           username: str | None = None, target: str | None = None, rows: int | None = None,
           detail: Mapping[str, object] | None = None, at: datetime | None = None) -> None:
    """Append one audit row (in ``target_conn``'s transaction when it is a connection)."""
    if event not in EVENTS:
        raise ValueError(f"event: {event!r} is not one of {', '.join(EVENTS)}")
    text = json.dumps(dict(detail or {}), ensure_ascii=False, default=_json_default, sort_keys=True)
    values = dict(
        at=(at or wall_now()).replace(microsecond=0, tzinfo=None), event=event,
        username=_actor(user, username),
        role=user.role if user is not None else None,
        scope_code=user.scope_code if user is not None else None,
        target=clean_text(target) if target is not None else None, rows=rows,
        detail=clean_text(text)[:MAX_DETAIL] if text != "{}" else None,
    )
    if isinstance(target_conn, Connection):
        target_conn.execute(insert(audit_log).values(**values))
    else:
        with target_conn.begin() as conn:
            conn.execute(insert(audit_log).values(**values))


def _visible_condition(engine: Engine, viewer: User):
    """Rows the viewer may read: everything for a user without a jurisdiction; otherwise rows of actors whose
    jurisdiction lies inside the viewer's (failed sign-ins of unknown names carry none and are admin-only)."""
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
