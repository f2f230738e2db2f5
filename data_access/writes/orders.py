"""Supervision orders (督办): issuing one and resolving one (the open orders are read in queries/cases.py).

A write checks everything first (role, jurisdiction, case state, deadline, note) and raises
:class:`WriteRefused` with a message naming the field; then the order and the case's event-log entry are
written in one transaction, so either both rows exist or neither does.

What the app writes never collides with the source's rows (docs/DATA_CONTRACT.md, "Rows written in the
dashboard"): its log entries are numbered in their own run from ``APP_SEQ_BASE`` (the source's events keep
1, 2, 3 …), and its orders have ``origin`` 'app' and ids ``DB`` + the issue time + 6 hex digits.  Rows written
here carry the time of the write as their row time (``produced_at``) and ``changed_at``.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Connection, Engine, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from data_access.core import audit, meta
from data_access.core.access import User, may_write
from data_access.core.clock import now_local, wall_now
from data_access.core.contract import max_len
from data_access.core.regions import RegionTree, region_tree
from data_access.core.schema import case_events, cases, supervisions
from data_access.core.time_limits import add_working_days
from data_access.queries.cases import GRADES, RESOLVED_NOTE, grade_note
from data_access.writes.workflow import WriteRefused, checked_text
from data_access.writes.workflow import next_app_seq as _next_seq, next_app_seqs as _next_seqs

MAX_NOTE_LENGTH = 500
_CHUNK = 500  # case numbers per IN list
# the order's note goes to the case log too, behind its grade (grade_note): both stay within the contract
assert MAX_NOTE_LENGTH + 100 <= min(max_len("supervisions", "note"), max_len("case_events", "note"))
MAX_DEADLINE_DAYS = 365  # a deadline further out is a mistyped year, not an order that urges anyone
DEFAULT_DEADLINE_WORKING_DAYS = 2
DEFAULT_DEADLINE_TIME = time(18, 0)  # the end of an office day
# The form's date widget gets these wide bounds, not "today or later": Streamlit silently puts a date outside a
# widget's bounds back to the default, so the order would be saved with a deadline nobody chose (issue 20).
# Inside them every typed date reaches issue_supervision, which refuses a past or far-off one with its message.
WIDGET_FIRST_DAY, WIDGET_LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def default_deadline(now: datetime) -> datetime:
    """The deadline the order form offers: 18:00 of the second working day after today (holidays and 调休 as
    in core/time_limits), a time an office works to, rather than now + 48 h at whatever minute the form was
    opened."""
    return datetime.combine(add_working_days(now.date(), DEFAULT_DEADLINE_WORKING_DAYS), DEFAULT_DEADLINE_TIME)


@dataclass(frozen=True)
class SupervisionOrder:
    """What the official fills in."""

    case_no: str
    grade: str  # one of GRADES
    deadline: datetime | None  # None: not filled in (refused)
    note: str


def _case_in_scope(conn: Connection, tree: RegionTree, user: User, case_no: str) -> dict:
    row = conn.execute(select(cases.c.case_no, cases.c.status, cases.c.grid_code, cases.c.city_code)
                       .where(cases.c.case_no == case_no)).mappings().first()
    if row is None or (user.scope_code is not None and not tree.contains(user.scope_code, row["grid_code"])):
        raise WriteRefused(f"case_no: no case {case_no!r} in your jurisdiction", "case_not_in_scope", case_no=case_no)
    return dict(row)


def _check_writer(user: User | None) -> User:
    if user is None or not may_write(user):
        raise WriteRefused("role: your role may not issue or resolve supervision orders", "role")
    return user


def issue_refusal(user: User | None, case_status: str) -> str | None:
    """Why :func:`issue_supervision` would refuse any order on a case of ``case_status`` by ``user``, before
    anything is filled in: its reason 'case_closed' (checked first: said to everyone) or 'role'; None when
    an order may be issued (the form is offered; the write still checks everything)."""
    if case_status == "closed":
        return "case_closed"
    if user is None or not may_write(user):
        return "role"
    return None


def _log(conn: Connection, case_no: str, at: datetime, action: str, user: User, org: str | None, note: str
         ) -> None:
    conn.execute(insert(case_events).values(case_no=case_no, seq=_next_seq(conn, case_no), at=at, action=action,
                                            actor=user.name, org_code=org, note=note, changed_at=wall_now()))


def issue_supervision(engine: Engine, user: User | None, order: SupervisionOrder,
                      now: datetime | None = None) -> str:
    """Write a supervision order and its ``supervise`` event; returns the new order's id."""
    now = (now or now_local()).replace(microsecond=0)
    user = _check_writer(user)
    if order.grade not in GRADES:
        raise WriteRefused(f"grade: must be one of {', '.join(GRADES)}", "grade")
    if not isinstance(order.deadline, datetime):  # the form's date or time left empty
        raise WriteRefused("deadline: required", "deadline_required")
    deadline = order.deadline.replace(microsecond=0, tzinfo=None)
    if deadline <= now:
        raise WriteRefused(f"deadline: {deadline:%Y-%m-%d %H:%M} is not in the future", "deadline_past",
                           deadline=f"{deadline:%Y-%m-%d %H:%M}")
    if deadline > now + timedelta(days=MAX_DEADLINE_DAYS):
        raise WriteRefused(f"deadline: {deadline:%Y-%m-%d %H:%M} is more than {MAX_DEADLINE_DAYS} days ahead",
                           "deadline_too_far", deadline=f"{deadline:%Y-%m-%d %H:%M}", days=MAX_DEADLINE_DAYS)
    note = checked_text(order.note, "note", MAX_NOTE_LENGTH, "note", required=True)
    tree = region_tree(engine)
    try:
        with engine.begin() as conn:
            sid = write_order(conn, tree, user, order.case_no, order.grade, deadline, note, now)
            meta.touch(conn)
    except IntegrityError as exc:  # a concurrent write took the same event number: nothing was written
        raise WriteRefused("case_no: the case changed at the same moment; please try again", "conflict") from exc
    return sid


@dataclass(frozen=True)
class OrderWrite:
    """One order to write (:func:`write_orders`): checked already, except the case's jurisdiction and state."""

    user: User
    case_no: str
    grade: str
    deadline: datetime
    note: str
    rule_id: int | None = None


def write_order(conn: Connection, tree: RegionTree, user: User, case_no: str, grade: str, deadline: datetime,
                note: str, now: datetime, rule_id: int | None = None) -> str:
    """One order through :func:`write_orders`; returns its id."""
    return write_orders(conn, tree, [OrderWrite(user, case_no, grade, deadline, note, rule_id)], now)[0]


def _ids_taken(conn: Connection, prefix: str) -> set[str]:
    """The stored orders' ids that begin with ``prefix`` (those issued in the same second)."""
    s = supervisions.c.supervision_id
    return set(conn.execute(select(s).where(s >= prefix, s < prefix + "\x7f")).scalars())


def _new_id(prefix: str, taken: set[str]) -> str:
    """A new order id: ``prefix`` + 6 random hex digits not in ``taken`` (then added to it).  An escalation pass
    issues all its orders in one second: 8,997 of them at 1.07 M cases drew the same digits twice (2.4 such
    collisions expected among 16.7 M values) and the pass failed on the unique key."""
    while True:
        sid = prefix + secrets.token_hex(3).upper()
        if sid not in taken:
            taken.add(sid)
            return sid


def write_orders(conn: Connection, tree: RegionTree, items: list[OrderWrite], now: datetime) -> list[str]:
    """The orders, their ``supervise`` log entries and audit rows, in ``conn``'s transaction: the one write of an
    order, by hand (:func:`issue_supervision`, which checks the form first) or by escalation rules
    (writes/escalation.py: many at once, a statement per table).  Each case must be in its writer's
    jurisdiction and open, or nothing is written (WriteRefused).  Returns the orders' ids, in order."""
    case_nos = sorted({i.case_no for i in items})
    found: dict[str, dict] = {}
    for k in range(0, len(case_nos), _CHUNK):
        found.update((r["case_no"], dict(r)) for r in conn.execute(
            select(cases.c.case_no, cases.c.status, cases.c.grid_code, cases.c.city_code)
            .where(cases.c.case_no.in_(case_nos[k:k + _CHUNK]))).mappings())
    for i in items:
        case = found.get(i.case_no)
        if case is None or (i.user.scope_code is not None and not tree.contains(i.user.scope_code, case["grid_code"])):
            raise WriteRefused(f"case_no: no case {i.case_no!r} in your jurisdiction", "case_not_in_scope",
                               case_no=i.case_no)
        if case["status"] == "closed":
            raise WriteRefused(f"case_no: {i.case_no} is already closed", "case_closed", case_no=i.case_no)
    seq = _next_seqs(conn, case_nos)
    stamp = wall_now()
    ids, orders, entries, audits = [], [], [], []
    prefix = f"DB{now:%Y%m%d%H%M%S}"
    taken = _ids_taken(conn, prefix) if items else set()
    for i in items:
        sid = _new_id(prefix, taken)
        issuer = i.user.scope_code or found[i.case_no]["city_code"]
        ids.append(sid)
        orders.append(dict(supervision_id=sid, case_no=i.case_no, grade=i.grade, issued_by=issuer, issued_at=now,
                           deadline=i.deadline, note=i.note, issued_by_name=i.user.name, origin="app",
                           rule_id=i.rule_id, produced_at=stamp, changed_at=stamp))
        entries.append(dict(case_no=i.case_no, seq=seq[i.case_no], at=now, action="supervise", actor=i.user.name,
                            org_code=issuer, note=grade_note(i.grade, i.note), changed_at=stamp))
        seq[i.case_no] += 1
        detail = {"action": "issue_supervision", "supervision_id": sid, "grade": i.grade, "deadline": i.deadline}
        if i.rule_id is not None:
            detail["rule_id"] = i.rule_id
        audits.append(audit.row("write", user=i.user, target=i.case_no, detail=detail))
    if orders:
        conn.execute(insert(supervisions), orders)
        conn.execute(insert(case_events), entries)
        audit.record_many(conn, audits)
    return ids


def resolve_supervision(engine: Engine, user: User | None, supervision_id: str, now: datetime | None = None
                        ) -> None:
    """Mark an open order resolved and log it on the case."""
    now = (now or now_local()).replace(microsecond=0)
    user = _check_writer(user)
    tree = region_tree(engine)
    try:
        with engine.begin() as conn:
            row = conn.execute(select(supervisions.c.case_no, supervisions.c.resolved_at, supervisions.c.issued_by)
                               .where(supervisions.c.supervision_id == supervision_id)).mappings().first()
            if row is None:
                raise WriteRefused(f"supervision_id: no order {supervision_id!r}", "order_unknown", id=supervision_id)
            _case_in_scope(conn, tree, user, row["case_no"])
            if row["resolved_at"] is not None:
                raise WriteRefused(f"supervision_id: {supervision_id} was already resolved", "order_resolved",
                                    id=supervision_id)
            done = conn.execute(update(supervisions).where(
                and_(supervisions.c.supervision_id == supervision_id, supervisions.c.resolved_at.is_(None))
            ).values(resolved_at=now, produced_at=wall_now(), changed_at=wall_now())).rowcount
            if done != 1:
                raise WriteRefused(f"supervision_id: {supervision_id} was already resolved", "order_resolved",
                                    id=supervision_id)
            _log(conn, row["case_no"], now, "note", user, user.scope_code or row["issued_by"],
                 RESOLVED_NOTE.format(supervision_id))
            audit.record(conn, "write", user=user, target=row["case_no"],
                         detail={"action": "resolve_supervision", "supervision_id": supervision_id})
            meta.touch(conn)
    except IntegrityError as exc:
        raise WriteRefused("supervision_id: the case changed at the same moment; please try again",
                            "conflict") from exc
