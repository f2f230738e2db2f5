"""The state of an early warning (风险预警), set by staff: new → acknowledged → handled or false alarm.

A write checks everything first (role, jurisdiction, the step from the current state, the note) and raises
:class:`WriteRefused` naming the field; the state and its audit row are written in one transaction.  A
recomputation of the warnings (core/warnings.refresh) keeps the state set here.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select, update

from data_access.core import audit, meta
from data_access.core.access import User, may_write
from data_access.core.clock import now_local
from data_access.core.regions import region_tree
from data_access.core.schema import warnings as warnings_table
from data_access.writes.workflow import WriteRefused, checked_text

MAX_NOTE_LENGTH = 500
# The steps a warning may take; handled and false alarm are final.  'expired' is set by the recomputation
# (core/warnings.store: an open warning not seen for EXPIRE_DAYS days), never by staff; it may still be closed.
NEXT_STATES = {"new": ("acknowledged", "handled", "false_alarm"), "acknowledged": ("handled", "false_alarm"),
               "handled": (), "false_alarm": (), "expired": ("handled", "false_alarm")}
NOTE_REQUIRED = ("handled", "false_alarm")  # what was done, or why it was no warning


def set_state(engine: Engine, user: User | None, warning_id: int, state: str, note: str = "",
              now: datetime | None = None) -> None:
    """Move warning ``warning_id`` to ``state`` with ``note`` (required for handled and false alarm)."""
    now = (now or now_local()).replace(microsecond=0)
    if user is None or not may_write(user):
        raise WriteRefused("role: your role may not change a warning's state", "role")
    if state not in NEXT_STATES or state == "expired":
        raise WriteRefused(f"state: must be one of {', '.join(NEXT_STATES)}", "warning_state_unknown", state=state)
    note = checked_text(note, "note", MAX_NOTE_LENGTH, "note", required=state in NOTE_REQUIRED)
    tree = region_tree(engine)
    t = warnings_table
    with engine.begin() as conn:
        row = conn.execute(select(t.c.region_code, t.c.state, t.c.kind, t.c.category)
                           .where(t.c.id == warning_id)).mappings().first()
        if row is None or (user.scope_code is not None and not tree.contains(user.scope_code, row["region_code"])):
            raise WriteRefused(f"warning: no warning {warning_id!r} in your jurisdiction", "warning_not_in_scope",
                               id=warning_id)
        if state not in NEXT_STATES[row["state"]]:
            raise WriteRefused(f"state: a warning that is {row['state']} cannot become {state}",
                               "warning_state_step", current=row["state"], state=state)
        done = conn.execute(update(t).where(t.c.id == warning_id, t.c.state == row["state"]).values(
            state=state, state_note=note or None, state_by=(user.name or user.username or "")[:64],
            state_at=now)).rowcount
        if done != 1:  # another session moved it first: nothing written
            raise WriteRefused("state: the warning changed at the same moment; please try again", "conflict")
        audit.record(conn, "write", user=user, target=row["region_code"],
                     detail={"action": "warning_state", "warning_id": warning_id, "kind": row["kind"],
                             "category": row["category"], "from": row["state"], "to": state, "note": note})
        meta.touch(conn)
