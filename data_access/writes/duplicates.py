"""Deciding a proposed group of repeat cases (重复件): confirm it, reject it, or undo either decision.

Each write checks first and raises :class:`WriteRefused` naming the field: the role (core/access.may_write),
the jurisdiction (every case of the group must lie inside the user's, as for supervision orders), the state
(only a proposed group is confirmed or rejected; only a decided one is undone), the note's length, and that a
confirmed group never takes a case that another confirmed group already counts as a duplicate or a primary
(a case is a duplicate of at most one primary).  Then the group's state and its audit row are written in one
transaction, the state change guarded (``WHERE state = …``) so that two officials deciding at once cannot both
succeed.  Undo puts the group back to proposed and keeps the earlier decision in the audit log: reversible.

A confirmed duplicate links to its primary (queries/supervision/duplicates.case_links), and the supervision
centre's repeat-case view counts the matter once.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, and_, select, update

from data_access.core import audit
from data_access.core.access import User, may_write
from data_access.core.clock import now_local
from data_access.core.regions import region_tree
from data_access.core.schema import cases, duplicate_groups, duplicate_members
from data_access.writes.workflow import WriteRefused, checked_text

MAX_NOTE_LENGTH = 500
ACTIONS = {"confirmed": "confirm_duplicates", "rejected": "reject_duplicates"}  # the audit row's action


def _check_writer(user: User | None) -> User:
    if user is None or not may_write(user):
        raise WriteRefused("role: your role may not decide repeat cases", "dup_role")
    return user


def _note(note: str | None) -> str | None:
    return checked_text(note, "note", MAX_NOTE_LENGTH, "dup_note") or None


def _group_in_scope(conn: Connection, user: User, group_id: int) -> tuple[dict, list[str]]:
    """The group and its case numbers; refused when unknown or when any of its cases lies outside the user's
    jurisdiction (said the same way: an official never learns of a group outside it)."""
    g = duplicate_groups.c
    row = conn.execute(select(g.group_id, g.state, g.primary_case_no).where(g.group_id == group_id)
                       ).mappings().first()
    unknown = WriteRefused(f"group_id: no group {group_id!r} in your jurisdiction", "dup_unknown", id=group_id)
    if row is None:
        raise unknown
    members = conn.execute(select(duplicate_members.c.case_no, cases.c.grid_code)
                           .join(cases, cases.c.case_no == duplicate_members.c.case_no, isouter=True)
                           .where(duplicate_members.c.group_id == group_id)).all()
    if user.scope_code is not None:
        tree = region_tree(conn.engine)
        if any(grid is None or not tree.contains(user.scope_code, grid) for _, grid in members):
            raise unknown
    return dict(row), [c for c, _ in members]


def _parse_id(group_id) -> int:
    try:
        return int(group_id)
    except (TypeError, ValueError):
        raise WriteRefused(f"group_id: {group_id!r} is not a group number", "dup_unknown", id=group_id) from None


def _decide(engine: Engine, user: User | None, group_id, to_state: str, note: str | None,
            now: datetime | None) -> None:
    user = _check_writer(user)
    gid = _parse_id(group_id)
    text = _note(note)
    now = (now or now_local()).replace(microsecond=0, tzinfo=None)
    g, m = duplicate_groups.c, duplicate_members.c
    with engine.begin() as conn:
        row, members = _group_in_scope(conn, user, gid)
        if row["state"] != "proposed":
            raise WriteRefused(f"group_id: group {gid} is already {row['state']}", "dup_decided", id=gid,
                               state=row["state"])
        if to_state == "confirmed":
            taken = conn.execute(
                select(m.case_no, g.group_id).join(duplicate_groups, g.group_id == m.group_id)
                .where(g.state == "confirmed", g.group_id != gid, m.case_no.in_(members))).first()
            if taken is not None:
                raise WriteRefused(f"group_id: case {taken[0]} is already in confirmed group {taken[1]}",
                                   "dup_taken", case_no=taken[0], id=taken[1])
        done = conn.execute(update(duplicate_groups).where(and_(g.group_id == gid, g.state == "proposed"))
                            .values(state=to_state, decided_by=user.name, decided_at=now, note=text)).rowcount
        if done != 1:
            raise WriteRefused(f"group_id: group {gid} changed at the same moment; please try again", "conflict")
        audit.record(conn, "write", user=user, target=row["primary_case_no"],
                     detail={"action": ACTIONS[to_state],
                             "group_id": gid, "cases": sorted(members), "note": text})


def confirm_group(engine: Engine, user: User | None, group_id: int, note: str | None = None,
                  now: datetime | None = None) -> None:
    """Confirm a proposed group: every member other than the primary is a duplicate of the primary."""
    _decide(engine, user, group_id, "confirmed", note, now)


def reject_group(engine: Engine, user: User | None, group_id: int, note: str | None = None,
                 now: datetime | None = None) -> None:
    """Reject a proposed group: its cases are different matters (it is not proposed again)."""
    _decide(engine, user, group_id, "rejected", note, now)


def undo_decision(engine: Engine, user: User | None, group_id: int) -> None:
    """Put a confirmed or rejected group back to proposed (the decision stays in the audit log)."""
    user = _check_writer(user)
    gid = _parse_id(group_id)
    g = duplicate_groups.c
    with engine.begin() as conn:
        row, members = _group_in_scope(conn, user, gid)
        if row["state"] == "proposed":
            raise WriteRefused(f"group_id: group {gid} is not decided", "dup_not_decided", id=gid)
        done = conn.execute(update(duplicate_groups).where(and_(g.group_id == gid, g.state == row["state"]))
                            .values(state="proposed", decided_by=None, decided_at=None, note=None)).rowcount
        if done != 1:
            raise WriteRefused(f"group_id: group {gid} changed at the same moment; please try again", "conflict")
        audit.record(conn, "write", user=user, target=row["primary_case_no"],
                     detail={"action": "undo_duplicates", "group_id": gid, "was": row["state"],
                             "cases": sorted(members)})
