"""The audit log: who signed in (or failed to), who exported what, who wrote what.

Rows are only ever appended.  A write records its audit row in the write's own transaction (pass ``conn``),
so a refused or rolled-back write leaves no trace that it happened, and a committed one always has one.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, fields, is_dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, insert

from data_access.core.access import User, clean_text
from data_access.core.clock import wall_now
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


def row(event: str, *, user: User | None = None, username: str | None = None, target: str | None = None,
        rows: int | None = None, detail: Mapping[str, object] | None = None, at: datetime | None = None,
        scope_code: str | None = None) -> dict:
    """The values of one audit row (:func:`record` writes one, :func:`record_many` several at once)."""
    if event not in EVENTS:
        raise ValueError(f"event: {event!r} is not one of {', '.join(EVENTS)}")
    text = json.dumps(dict(detail or {}), ensure_ascii=False, default=_json_default, sort_keys=True)
    return dict(
        at=(at or wall_now()).replace(microsecond=0, tzinfo=None), event=event,
        username=_actor(user, username),
        role=user.role if user is not None else None,
        scope_code=user.scope_code if user is not None else scope_code,
        target=clean_text(target) if target is not None else None, rows=rows,
        detail=clean_text(text)[:MAX_DETAIL] if text != "{}" else None,
    )


def record(target_conn: Engine | Connection, event: str, *, user: User | None = None,
           username: str | None = None, target: str | None = None, rows: int | None = None,
           detail: Mapping[str, object] | None = None, at: datetime | None = None,
           scope_code: str | None = None) -> None:
    """Append one audit row (in ``target_conn``'s transaction when it is a connection).

    The row's jurisdiction is the user's; without a signed-in user, ``scope_code`` gives the account's (a failed
    sign-in or a lock of a known account), so that its region's leaders see it."""
    values = row(event, user=user, username=username, target=target, rows=rows, detail=detail, at=at,
                 scope_code=scope_code)
    if isinstance(target_conn, Connection):
        target_conn.execute(insert(audit_log).values(**values))
    else:
        with target_conn.begin() as conn:
            conn.execute(insert(audit_log).values(**values))


def record_many(conn: Connection, values: list[dict]) -> None:
    """Append the rows made by :func:`row`, in ``conn``'s transaction (one statement for many writes)."""
    if values:
        conn.execute(insert(audit_log), values)
