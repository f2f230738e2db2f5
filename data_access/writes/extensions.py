"""Extension requests (延期申请): a handling unit asks for more time on an open case; a leader or staff member
whose jurisdiction covers the case approves or refuses; the one who decided may withdraw the decision.

Who may do what (core/access.py): a request is recorded by a staff member (:data:`REQUEST_ROLES`) on behalf of
the case's handling unit (its ``department_code``); a decision is taken by a leader or staff member
(access.WRITE_ROLES), never by the one who recorded the request; each only on a case inside their
jurisdiction.  Each write is one transaction that checks first (else :class:`WriteRefused`, field first,
nothing written), writes the extension row, an entry in the case log (action ``note``, the app's own run of
numbers: writes/workflow.next_app_seq) and an audit row, and, when the approved days change, recomputes the
case's due time through its one definition (core/time_limits.apply_rules: the rule's due time + the approved
extensions) and changes the roll-ups by the case's difference (rollups.contributions / apply_contributions).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from data_access.core import audit, meta
from data_access.core.access import User, may_write
from data_access.core.clock import now_local, wall_now
from data_access.core.contract import EXTENSION_MAX_DAYS, EXTENSION_TEXT_MAX
from data_access.core.regions import region_tree
from data_access.core.rollups import apply_contributions, contributions
from data_access.core.schema import case_events, case_extensions, cases
from data_access.core.time_limits import EXTENSION_KINDS, apply_rules
from data_access.writes.workflow import WriteRefused, _transaction, checked_text, next_app_seq

REQUEST_ROLES = frozenset({"staff"})
MAX_DAYS = EXTENSION_MAX_DAYS  # more is a mistyped number, not an extension (extensions.csv: the same)
MAX_REASON_LENGTH = EXTENSION_TEXT_MAX
KIND_ZH = {"days": "天", "working_days": "个工作日"}
# the case log's note (zh, as the source platform writes its notes): what happened and to which request
LOG_NOTES = {
    "request": "延期申请 {id}：{days}{unit}（{reason}）",
    "approve": "延期批准 {id}：{days}{unit}",
    "refuse": "延期不予批准 {id}",
    "withdraw": "撤回延期决定 {id}（原为{was}）",
}
STATUS_ZH = {"requested": "待审批", "approved": "已批准", "refused": "不予批准"}


@dataclass(frozen=True)
class ExtensionRequest:
    """What the form fills in."""

    case_no: str
    days: int | None
    day_kind: str  # EXTENSION_KINDS
    reason: str


def may_request(user: User | None) -> bool:
    return user is not None and user.role in REQUEST_ROLES


def may_decide(user: User | None) -> bool:
    return may_write(user)


def _who(user: User) -> str:
    return user.username or user.name


def _case(conn: Connection, user: User, case_no: str) -> dict:
    row = conn.execute(select(cases.c.case_no, cases.c.status, cases.c.grid_code, cases.c.city_code,
                              cases.c.department_code).where(cases.c.case_no == case_no)).mappings().first()
    if row is None or (user.scope_code is not None
                       and not region_tree(conn.engine).contains(user.scope_code, row["grid_code"])):
        raise WriteRefused(f"case_no: no case {case_no!r} in your jurisdiction", "case_not_in_scope", case_no=case_no)
    return dict(row)


def _log(conn: Connection, case: dict, user: User, at: datetime, note: str) -> None:
    conn.execute(insert(case_events).values(
        case_no=case["case_no"], seq=next_app_seq(conn, case["case_no"]), at=at, action="note", actor=user.name,
        org_code=user.scope_code or case["city_code"], note=note, changed_at=wall_now()))


def request_extension(engine: Engine, user: User | None, req: ExtensionRequest, now: datetime | None = None) -> str:
    """Record a handling unit's request for more time on an open case; returns the request's id."""
    now = (now or now_local()).replace(microsecond=0, tzinfo=None)
    if not may_request(user):
        raise WriteRefused("role: your role may not request an extension", "ext_role_request")
    if req.day_kind not in EXTENSION_KINDS:
        raise WriteRefused(f"day_kind: must be one of {', '.join(EXTENSION_KINDS)}", "day_kind")
    days, limit = req.days, MAX_DAYS[req.day_kind]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= limit:
        raise WriteRefused(f"days: must be a whole number from 1 to {limit}, got {days!r}", "days_range",
                           days=days, max=limit)
    reason = checked_text(req.reason, "reason", MAX_REASON_LENGTH, "reason", required=True)
    try:
        with _transaction(engine) as conn:
            case = _case(conn, user, req.case_no)
            if case["status"] == "closed":
                raise WriteRefused(f"case_no: {req.case_no} is already closed", "case_closed", case_no=req.case_no)
            if case["department_code"] is None:
                raise WriteRefused(f"case_no: {req.case_no} has no handling unit yet (not dispatched)",
                                   "no_unit", case_no=req.case_no)
            _refuse_a_second_pending(conn, req.case_no)
            eid = f"EX{now:%Y%m%d%H%M%S}{secrets.token_hex(3).upper()}"
            conn.execute(insert(case_extensions).values(
                extension_id=eid, case_no=req.case_no, unit_code=case["department_code"], days=days,
                day_kind=req.day_kind, reason=reason, status="requested", requested_at=now,
                requested_by=user.name, requested_by_user=_who(user), origin="app", produced_at=wall_now(),
                changed_at=wall_now()))
            _log(conn, case, user, now, LOG_NOTES["request"].format(id=eid, days=days, unit=KIND_ZH[req.day_kind],
                                                                     reason=reason))
            audit.record(conn, "write", user=user, target=req.case_no,
                         detail={"action": "request_extension", "extension_id": eid, "days": days,
                                 "day_kind": req.day_kind})
            meta.touch(conn)
    except IntegrityError as exc:
        raise WriteRefused("case_no: the case changed at the same moment; please try again", "conflict") from exc
    return eid


def _refuse_a_second_pending(conn: Connection, case_no: str) -> None:
    """One request of a case awaits a decision at a time (a new request, a decision taken back)."""
    pending = conn.execute(select(case_extensions.c.extension_id).where(
        case_extensions.c.case_no == case_no, case_extensions.c.status == "requested")).first()
    if pending is not None:
        raise WriteRefused(f"case_no: {case_no} already has a request awaiting a decision ({pending[0]})",
                           "pending", case_no=case_no, id=pending[0])


def _recompute_due(conn: Connection, case_no: str) -> None:
    """The case's due time through its one definition, the roll-ups by the case's difference."""
    before = contributions(conn, [case_no])
    apply_rules(conn, case_nos=[case_no])
    apply_contributions(conn, before, contributions(conn, [case_no]))


def _extension(conn: Connection, extension_id: str) -> dict:
    row = conn.execute(select(case_extensions).where(case_extensions.c.extension_id == extension_id)
                       ).mappings().first()
    if row is None:
        raise WriteRefused(f"extension_id: no extension request {extension_id!r}", "extension_unknown",
                           id=extension_id)
    return dict(row)


def decide_extension(engine: Engine, user: User | None, extension_id: str, approve: bool, note: str = "",
                     now: datetime | None = None) -> None:
    """Approve or refuse a request awaiting a decision; an approval moves the case's due time."""
    now = (now or now_local()).replace(microsecond=0, tzinfo=None)
    if not may_decide(user):
        raise WriteRefused("role: your role may not approve or refuse extensions", "ext_role_decide")
    note = checked_text(note, "note", MAX_REASON_LENGTH, "ext_note")
    try:
        with _transaction(engine) as conn:
            ext = _extension(conn, extension_id)
            case = _case(conn, user, ext["case_no"])
            if ext["status"] != "requested":
                raise WriteRefused(f"extension_id: {extension_id} was already decided ({ext['status']})",
                                   "decided", id=extension_id, status=ext["status"])
            if case["status"] == "closed" and approve:
                raise WriteRefused(f"case_no: {case['case_no']} is already closed", "case_closed",
                                   case_no=case["case_no"])
            if ext["requested_by_user"] == _who(user):
                raise WriteRefused("user: you recorded this request; another official decides it", "own_request")
            status = "approved" if approve else "refused"
            done = conn.execute(update(case_extensions).where(
                case_extensions.c.extension_id == extension_id, case_extensions.c.status == "requested"
            ).values(status=status, decided_at=now, decided_by=user.name, decided_by_user=_who(user),
                     decision_note=note or None, produced_at=wall_now(), changed_at=wall_now())).rowcount
            if done != 1:
                raise WriteRefused(f"extension_id: {extension_id} was already decided", "decided", id=extension_id,
                                   status="?")
            if approve:
                _recompute_due(conn, case["case_no"])
                log = LOG_NOTES["approve"].format(id=extension_id, days=ext["days"], unit=KIND_ZH[ext["day_kind"]])
            else:
                log = LOG_NOTES["refuse"].format(id=extension_id)
            _log(conn, case, user, now, log + (f"：{note}" if note else ""))
            audit.record(conn, "write", user=user, target=case["case_no"],
                         detail={"action": f"{'approve' if approve else 'refuse'}_extension",
                                 "extension_id": extension_id})
            meta.touch(conn)
    except IntegrityError as exc:
        raise WriteRefused("case_no: the case changed at the same moment; please try again", "conflict") from exc


def withdraw_decision(engine: Engine, user: User | None, extension_id: str, now: datetime | None = None) -> None:
    """The official who approved or refused a request takes the decision back: the request awaits a decision
    again, and an approval's days leave the due time."""
    now = (now or now_local()).replace(microsecond=0, tzinfo=None)
    if not may_decide(user):
        raise WriteRefused("role: your role may not approve or refuse extensions", "ext_role_decide")
    try:
        with _transaction(engine) as conn:
            ext = _extension(conn, extension_id)
            case = _case(conn, user, ext["case_no"])
            if ext["status"] == "requested":
                raise WriteRefused(f"extension_id: {extension_id} has no decision to withdraw", "undecided",
                                   id=extension_id)
            if ext["decided_by_user"] != _who(user):
                raise WriteRefused(f"user: only {ext['decided_by']}, who decided {extension_id}, may withdraw it",
                                   "not_decider", id=extension_id, who=ext["decided_by"])
            _refuse_a_second_pending(conn, ext["case_no"])
            conn.execute(update(case_extensions).where(case_extensions.c.extension_id == extension_id).values(
                status="requested", decided_at=None, decided_by=None, decided_by_user=None, decision_note=None,
                produced_at=wall_now(), changed_at=wall_now()))
            if ext["status"] == "approved":
                _recompute_due(conn, case["case_no"])
            _log(conn, case, user, now, LOG_NOTES["withdraw"].format(id=extension_id, was=STATUS_ZH[ext["status"]]))
            audit.record(conn, "write", user=user, target=case["case_no"],
                         detail={"action": "withdraw_extension_decision", "extension_id": extension_id,
                                 "was": ext["status"]})
            meta.touch(conn)
    except IntegrityError as exc:
        raise WriteRefused("case_no: the case changed at the same moment; please try again", "conflict") from exc
