"""Write paths other than the bulk loader: reporting a case and moving it through the workflow.

Each write is ONE transaction that checks the case and its state first (else :class:`WriteRefused`, field first,
with a stable ``reason``; nothing is written), then updates the case's step columns, appends its ``case_events``
row (the next ``seq`` of the case's steps, 1, 2, 3 …, the source's run: these moves change the case's own
columns, which the source owns and a replacing load rewrites; the app's own log entries, an 升级's among them, are
numbered apart, from contract.APP_SEQ_BASE: :func:`next_app_seq`), keeps the derived columns exact (ancestor
codes, report month, due time, hours to close, closed late and late hours with the functions of
data_access/core/derived.py that the loader calls too; the step hours, event counts and re-report flag through
data_access.core.derive), changes the roll-ups by the case's difference (rollups.apply_contributions) and marks
the data changed (meta.touch).

The workflow (docs/DATA_CONTRACT.md: each timestamp is when the case entered that step, ``status`` is the
last step it entered)::

    reported --accept--> accepted --dispatch--> dispatched --handle--> handling --feedback--> feedback
    feedback --close--> closed
    dispatched | handling --return (回退)--> accepted   (dispatched_at, handled_at, department_code cleared:
                                                          the case is dispatched again)
    dispatched | handling --reassign (改派)--> same status, another department
    open --escalate (升级)--> same status, one level up (grid → village → township → county → city: the
                                                          ``escalate`` log entry names the case's region
                                                          of the new level; core/escalation.py)
    closed --reopen (重新打开)--> handling             (feedback_at, closed_at, resolution_level,
                                                          satisfaction and the closed-case columns cleared;
                                                          handled_at kept: the case is handled again and
                                                          goes through feedback and close once more).
                                                          A case settled on the spot has no handling step:
                                                          it goes back to ``reported`` (on_the_spot cleared).

The move itself is a conditional UPDATE (``WHERE status = <the status read>``): of two writers moving the
same case at once, one wins and the other is refused with reason ``conflict``.  On SQLite the transaction
starts with ``BEGIN IMMEDIATE`` so that a writer waits for another (busy timeout) instead of failing when
it upgrades from reading to writing.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from data_access.core import derive, derived, escalation as esc, meta, time_limits
from data_access.core.clock import TZ, wall_now
from data_access.core.contract import APP_SEQ_BASE, max_len, own_app_run
from data_access.core.metrics import RESOLUTION_LEVELS, SOURCES
from data_access.core.regions import region_tree
from data_access.core.rollups import apply_contributions, contributions, lock_rollups
from data_access.core.schema import case_events, cases, categories, departments


class WriteRefused(ValueError):
    """The write was refused; the message says why (field first).  Nothing was written.

    ``reason`` is a stable code and ``params`` its values, so the UI can say the same in the user's language."""

    def __init__(self, message: str, reason: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.reason = reason
        self.params = params


def checked_text(value: str | None, field: str, max_len: int, key: str, required: bool = False) -> str:
    """A free-text field of a write (a note, a reason, a name): control characters dropped
    (access.clean_text) and trimmed, then refused when ``required`` and empty (reason ``{key}_required``) or
    longer than ``max_len`` characters (``{key}_too_long``, with ``n`` and ``max``).  The one rule every write's
    text goes through; ``field`` names it in the message, ``key`` in the UI's translated refusal."""
    from data_access.core.access import clean_text

    text = clean_text(value or "").strip()
    if required and not text:
        raise WriteRefused(f"{field}: required", f"{key}_required")
    if len(text) > max_len:
        raise WriteRefused(f"{field}: {len(text)} characters, at most {max_len}", f"{key}_too_long",
                           n=len(text), max=max_len)
    return text


@dataclass(frozen=True)
class NewCase:
    """A case as a grid worker reports it (status ``reported``)."""

    case_no: str
    grid_code: str
    category: str
    source: str
    title: str
    reported_at: datetime
    description: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    actor: str | None = None


def _ancestry(engine: Engine, grid_code: str) -> dict[str, str | None]:
    """The case's ancestor-code columns (derived.ancestor_codes) for a case in ``grid_code``."""
    tree = region_tree(engine)
    node = tree.get(grid_code)
    if node is None or node.level not in ("grid", "micro_grid"):
        raise WriteRefused(f"grid_code: unknown grid {grid_code!r}", "grid_unknown", grid_code=grid_code)
    codes = derived.ancestor_codes(((anc.level, anc.code) for anc in tree.ancestors(grid_code)), node.code,
                                   node.parent if node.level == "micro_grid" else None)
    return dict(zip(derived.ANCESTOR_COLUMNS, codes))


def _local(at: datetime) -> datetime:
    """``at`` as stored: naive Asia/Shanghai time, whole seconds."""
    if at.tzinfo is not None:
        at = at.astimezone(TZ)
    return at.replace(tzinfo=None, microsecond=0)


def _stamps() -> dict[str, datetime]:
    """The sync columns of a row written now (schema.SYNC_STAMP_COLUMNS: the row time and the time written)."""
    now = wall_now()
    return {"produced_at": now, "changed_at": now}


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction; on SQLite taken with BEGIN IMMEDIATE (the write lock first, then the reads); on
    PostgreSQL with the roll-ups' lock (rollups.lock_rollups: a write reads its case's old contribution to the
    roll-ups, changes the case, and adds the difference; no other writer may change them in between)."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        lock_rollups(conn)
        yield conn


def check_length(table: str, column: str, value: str | None) -> None:
    """Refuse text longer than the contract allows for ``table.column`` (the loader and the sync refuse the
    same: data_access/core/contract.py), so nothing the app writes could not be exported and loaded again."""
    if value is not None and len(value) > (limit := max_len(table, column)):
        raise WriteRefused(f"{column}: {len(value)} characters, at most {limit}", "too_long",
                           n=len(value), max=limit)


def report_case(engine: Engine, c: NewCase) -> None:
    """Insert a newly reported case and its ``report`` event, and refresh its summary slice.

    ``due_at`` follows the category's time-limit rule (time_limits.due_at_for); ``source_due_at`` is the
    report time plus the category's limit in hours, as a dataset would give it.  Closed cases that this
    report re-reports (same phone, grid and category within metrics.REREPORT_DAYS) get their flag."""
    if not c.title.strip():
        raise WriteRefused("title: required", "title_required")
    for column in ("title", "description", "reporter_name", "reporter_phone"):
        check_length("cases", column, getattr(c, column))
    if c.source not in SOURCES:
        raise WriteRefused(f"source: not one of {', '.join(SOURCES)}", "source_unknown", source=c.source)
    anc = _ancestry(engine, c.grid_code)
    reported = _local(c.reported_at)
    month = derived.report_month(reported)
    try:
        with _transaction(engine) as conn:
            limit = conn.execute(
                select(categories.c.time_limit_hours).where(categories.c.code == c.category)
            ).scalar_one_or_none()
            if limit is None:
                raise WriteRefused(f"category: unknown category {c.category!r}", "category_unknown",
                                   category=c.category)
            if conn.execute(select(func.count()).where(cases.c.case_no == c.case_no)).scalar_one():
                raise WriteRefused(f"case_no: {c.case_no!r} already exists", "case_exists", case_no=c.case_no)
            conn.execute(insert(cases).values(
                case_no=c.case_no, grid_code=c.grid_code, category=c.category, source=c.source, title=c.title,
                description=c.description, reporter_name=c.reporter_name, reporter_phone=c.reporter_phone,
                status="reported", reported_at=reported,
                due_at=time_limits.due_at_for(conn, c.category, reported, float(limit)),
                source_due_at=derived.calendar_due_at(reported, float(limit)),
                on_the_spot=False, report_month=month, **anc, **_stamps(),
            ))
            conn.execute(insert(case_events).values(case_no=c.case_no, seq=1, at=reported, action="report",
                                                    actor=c.actor, org_code=c.grid_code,
                                                    changed_at=_stamps()["changed_at"]))
            derive.derive_step_hours(conn, [c.case_no])
            touched, before = [c.case_no], {}
            if c.reporter_phone:
                earlier = derive.rereport_candidates(conn, c.case_no)
                if earlier:
                    before = contributions(conn, earlier)   # the cases it may re-report, before their flag
                    derive.derive_rereported(conn, cases.c.case_no.in_(earlier))
                    touched += earlier
            apply_contributions(conn, before, contributions(conn, touched))
            meta.touch(conn)
    except IntegrityError as exc:  # another writer inserted the same case number at the same moment
        raise WriteRefused(f"case_no: {c.case_no!r} already exists", "case_exists", case_no=c.case_no) from exc


# --- the app's own run of log entries ----------------------------------------------------------------------

def next_app_seq(conn: Connection, case_no: str) -> int:
    """The number of the app's next log entry of the case: this installation's own run (from APP_SEQ_BASE ×
    GOV_APP_LOG_RUN), apart from the source's events 1, 2, 3 … and from the entries of other dashboards that a
    sync brought in (docs/DATA_CONTRACT.md, "Rows written in the dashboard").  The entries of orders, extension
    requests and upgrades (升级) take these numbers: a replacing load and a sync keep them (ingest/app_rows.py)."""
    return next_app_seqs(conn, [case_no])[case_no]


def next_app_seqs(conn: Connection, case_nos: list[str]) -> dict[str, int]:
    """:func:`next_app_seq` of many cases at once (one grouped query per chunk)."""
    return {no: nxt for no, (nxt, _at) in _app_runs(conn, case_nos).items()}


def _app_runs(conn: Connection, case_nos: list[str]) -> dict[str, tuple[int, datetime | None]]:
    """case_no -> (the next number of this installation's run, the time of its last entry there or None)."""
    first = own_app_run() * APP_SEQ_BASE
    out: dict[str, tuple[int, datetime | None]] = dict.fromkeys(case_nos, (first, None))
    for k in range(0, len(case_nos), 500):
        out.update((no, (last + 1, at)) for no, last, at in conn.execute(
            select(case_events.c.case_no, func.max(case_events.c.seq), func.max(case_events.c.at))
            .where(case_events.c.case_no.in_(case_nos[k:k + 500]), case_events.c.seq >= first,
                   case_events.c.seq < first + APP_SEQ_BASE).group_by(case_events.c.case_no)))
    return out


# --- the workflow -----------------------------------------------------------------------------------------

# action -> the statuses it may start from
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "accept": ("reported",),
    "dispatch": ("accepted",),
    "handle": ("dispatched",),
    "feedback": ("handling",),
    "close": ("feedback",),
    "return": ("dispatched", "handling"),
    "reassign": ("dispatched", "handling"),
    "reopen": ("closed",),
    "escalate": ("reported", "accepted", "dispatched", "handling", "feedback"),
}
_CLOSED_COLUMNS = dict.fromkeys(("closed_at", "resolution_level", "satisfaction", *derived.CLOSED_CASE_COLUMNS))
_READ = (cases.c.case_no, cases.c.status, cases.c.reported_at, cases.c.due_at, cases.c.report_month,
         cases.c.county_code, cases.c.township_code, cases.c.village_code, cases.c.city_code, cases.c.grid_code,
         cases.c.department_code, cases.c.on_the_spot)


@dataclass(frozen=True)
class _Move:
    action: str
    values: dict  # the case's new column values (status included)
    org_code: str | None = None
    note: str | None = None
    recount: bool = False  # the action is counted on the case (derive.derive_event_counts)


def _department(conn: Connection, code: str | None) -> str | None:
    if code is None:
        return None
    if conn.execute(select(departments.c.code).where(departments.c.code == code)).first() is None:
        raise WriteRefused(f"department_code: unknown department {code!r}", "department_unknown", department=code)
    return code


def _move(engine: Engine, case_no: str, action: str, at: datetime, actor: str | None, plan) -> None:
    """The one transaction of a workflow step: read and check the case, move it (conditional UPDATE),
    log the event, re-derive, refresh the roll-up slice.  ``plan(conn, case, at) -> _Move`` decides the
    new values and may refuse."""
    at = _local(at)
    try:
        with _transaction(engine) as conn:
            case = conn.execute(select(*_READ).where(cases.c.case_no == case_no)).mappings().first()
            if case is None:
                raise WriteRefused(f"case_no: no case {case_no!r}", "case_unknown", case_no=case_no)
            allowed = ALLOWED_FROM[action]
            if case["status"] not in allowed:
                raise WriteRefused(
                    f"status: case {case_no} is '{case['status']}'; {action} needs "
                    f"{' or '.join(repr(s) for s in allowed)}",
                    "status", case_no=case_no, action=action, status=case["status"])
            move: _Move = plan(conn, case, at)
            check_length("case_events", "note", move.note)
            # the case's own steps: the source's run of events (the app's log entries, numbered from
            # APP_SEQ_BASE, neither take a step's number nor hold its time back)
            last = conn.execute(select(func.max(case_events.c.at), func.max(case_events.c.seq))
                                .where(case_events.c.case_no == case_no, case_events.c.seq < APP_SEQ_BASE)).first()
            last_at = max(x for x in (last[0], case["reported_at"]) if x is not None)
            if at < last_at:
                raise WriteRefused(f"at: {at:%Y-%m-%d %H:%M:%S} is earlier than the case's last step "
                                   f"{last_at:%Y-%m-%d %H:%M:%S}", "at_before_last", case_no=case_no,
                                   at=f"{at:%Y-%m-%d %H:%M:%S}", last=f"{last_at:%Y-%m-%d %H:%M:%S}")
            before = contributions(conn, [case_no])
            done = conn.execute(update(cases).where(cases.c.case_no == case_no,
                                                    cases.c.status == case["status"])
                                .values(**move.values, **_stamps())).rowcount
            if done != 1:
                raise _conflict(case_no)
            conn.execute(insert(case_events).values(case_no=case_no, seq=(last[1] or 0) + 1, at=at,
                                                    action=move.action, actor=actor, org_code=move.org_code,
                                                    note=move.note, changed_at=_stamps()["changed_at"]))
            derive.derive_step_hours(conn, [case_no])
            if move.recount:
                derive.derive_event_counts(conn, [case_no])
            if move.action in derived.ROUTE_ACTIONS:   # a return, or the dispatch that tells where a returned case went
                derive.derive_bounces(conn, [case_no])
            if move.action in ("close", "reopen") and conn.execute(
                    select(cases.c.reporter_phone).where(cases.c.case_no == case_no)).scalar_one():
                derive.derive_rereported(conn, cases.c.case_no == case_no)
            apply_contributions(conn, before, contributions(conn, [case_no]))
            meta.touch(conn)
    except IntegrityError as exc:  # a concurrent write took the same event number: nothing was written
        raise _conflict(case_no) from exc


def _conflict(case_no: str) -> WriteRefused:
    return WriteRefused(f"case_no: case {case_no} changed at the same moment; please try again", "conflict",
                        case_no=case_no)


def accept_case(engine: Engine, case_no: str, at: datetime, actor: str | None = None) -> None:
    """受理: reported → accepted."""
    _move(engine, case_no, "accept", at, actor, lambda conn, case, at: _Move(
        "accept", {"status": "accepted", "accepted_at": at}, org_code=case["village_code"]))


def dispatch_case(engine: Engine, case_no: str, department_code: str | None, at: datetime,
                  actor: str | None = None) -> None:
    """分流: accepted → dispatched, to ``department_code`` (None: handled by the grid and village themselves,
    the event's org is then the township)."""
    def plan(conn, case, at):
        dept = _department(conn, department_code)
        return _Move("dispatch", {"status": "dispatched", "dispatched_at": at, "department_code": dept},
                     org_code=dept or case["township_code"])
    _move(engine, case_no, "dispatch", at, actor, plan)


def handle_case(engine: Engine, case_no: str, at: datetime, actor: str | None = None) -> None:
    """处置: dispatched → handling."""
    _move(engine, case_no, "handle", at, actor, lambda conn, case, at: _Move(
        "handle", {"status": "handling", "handled_at": at}, org_code=case["department_code"] or case["grid_code"]))


def feedback_case(engine: Engine, case_no: str, at: datetime, actor: str | None = None) -> None:
    """反馈: handling → feedback."""
    _move(engine, case_no, "feedback", at, actor, lambda conn, case, at: _Move(
        "feedback", {"status": "feedback", "feedback_at": at}, org_code=case["grid_code"]))


def close_case(engine: Engine, case_no: str, at: datetime, resolution_level: str,
               satisfaction: int | None = None, actor: str | None = None) -> None:
    """办结: feedback → closed at ``resolution_level`` (not on the spot), with the closed-case columns as the
    loader derives them (data_access/core/derived.py): hours to close, closed late and late hours."""
    if resolution_level not in RESOLUTION_LEVELS:
        raise WriteRefused(f"resolution_level: not one of {', '.join(RESOLUTION_LEVELS)}",
                           "resolution_level_unknown", resolution_level=resolution_level)
    if satisfaction is not None and (isinstance(satisfaction, bool) or not isinstance(satisfaction, int)
                                     or not 1 <= satisfaction <= 5):
        raise WriteRefused(f"satisfaction: must be a whole number 1–5, got {satisfaction!r}",
                           "satisfaction_range", satisfaction=satisfaction)

    def plan(conn, case, at):
        reported, due = case["reported_at"], case["due_at"]
        org = {"grid": case["grid_code"], "village": case["village_code"], "township": case["township_code"],
               "county": case["county_code"], "city": case["city_code"]}[resolution_level]
        return _Move("close", {
            "status": "closed", "closed_at": at, "resolution_level": resolution_level, "on_the_spot": False,
            "satisfaction": satisfaction,
            "hours_to_close": derived.hours_to_close(reported, at),
            "closed_late": derived.closed_late(at, due),
            "late_hours": derived.late_hours(at, due),
        }, org_code=org)
    _move(engine, case_no, "close", at, actor, plan)


def return_case(engine: Engine, case_no: str, at: datetime, note: str | None = None,
                actor: str | None = None) -> None:
    """回退: dispatched or handling → accepted; the department, dispatched_at and handled_at are cleared so
    that the case is dispatched again (each timestamp stays the moment the case entered that step)."""
    _move(engine, case_no, "return", at, actor, lambda conn, case, at: _Move(
        "return", {"status": "accepted", "dispatched_at": None, "handled_at": None, "department_code": None},
        org_code=case["department_code"] or case["township_code"], note=note, recount=True))


def reassign_case(engine: Engine, case_no: str, department_code: str, at: datetime,
                  actor: str | None = None) -> None:
    """改派: another department takes a dispatched or handling case (its status and times stay)."""
    def plan(conn, case, at):
        dept = _department(conn, department_code)
        if dept is None:
            raise WriteRefused("department_code: required", "department_required")
        if dept == case["department_code"]:
            raise WriteRefused(f"department_code: case {case_no} is already with {dept}", "department_same",
                               case_no=case_no, department=dept)
        return _Move("reassign", {"status": case["status"], "department_code": dept}, org_code=dept,
                     recount=True)
    _move(engine, case_no, "reassign", at, actor, plan)


def reopen_case(engine: Engine, case_no: str, at: datetime, note: str | None = None,
                actor: str | None = None) -> None:
    """重新打开: a closed case goes back to ``handling`` (feedback_at, closed_at, resolution level,
    satisfaction and the closed-case columns cleared; handled_at kept), or, if it was settled on the spot
    (it has no handling step), back to ``reported`` with on_the_spot cleared."""
    def plan(conn, case, at):
        if case["on_the_spot"]:
            values = dict(status="reported", on_the_spot=False, **_CLOSED_COLUMNS)
        else:
            values = dict(status="handling", feedback_at=None, **_CLOSED_COLUMNS)
        return _Move("reopen", values, org_code=case["township_code"], note=note, recount=True)
    _move(engine, case_no, "reopen", at, actor, plan)


def upgrade_case(engine: Engine, case_no: str, at: datetime, actor: str | None = None,
                 note: str | None = None) -> tuple[str, str]:
    """升级: an open case moves one level up from the level now responsible for it (core/escalation
    .responsible_levels); returns (from level, to level).  Refused for a case the city is responsible for."""
    try:
        with _transaction(engine) as conn:
            return upgrade_case_on(conn, region_tree(engine), case_no, _local(at), actor, note)[:2]
    except IntegrityError as exc:
        raise _conflict(case_no) from exc


def upgrade_case_on(conn: Connection, tree, case_no: str, at: datetime, actor: str | None = None,
                    note: str | None = None) -> tuple[str, str, str]:
    """:func:`upgrade_case` in ``conn``'s write transaction; returns (from level, to level, the region code of
    the new level that the log entry names)."""
    done, refused = upgrade_cases_on(conn, tree, [(case_no, actor, note)], at)
    if refused:
        raise refused[0][1]
    return done[0][2:]


@dataclass(frozen=True)
class _Up:
    i: int            # its place in ``wanted``
    case_no: str
    actor: str | None
    note: str | None


def upgrade_cases_on(conn: Connection, tree, wanted: list[tuple[str, str | None, str | None]], at: datetime
                     ) -> tuple[list[tuple[int, str, str, str, str]], list[tuple[int, WriteRefused]]]:
    """升级 of many cases in ``conn``'s write transaction (the escalation pass), ``wanted`` = (case, actor, note) each:
    the same checks as :func:`_move` — the case open, ``at`` not before its last step (nor the app's last entry
    of it), a level above it; the case's row stamped (status kept), its ``escalate`` entry numbered in the app's
    own run (:func:`next_app_seq`: an upgrade changes no column of the case, the entry is the app's record of it,
    kept by a replacing load and by a sync like an order's entries), the step hours re-derived, the roll-ups
    changed by the cases' difference — a statement per chunk instead of a transaction per case (3,322 upgrades
    one by one took 29 s of CPU at 1.07 M cases).  A case wanted twice moves twice, each from where the one
    before left it.  Returns (done: (index in wanted, case, from, to, org code) …, refused: (index in wanted,
    WriteRefused) …); nothing of a refused case is written."""
    done: list[tuple[int, str, str, str, str]] = []
    refused: list[tuple[int, WriteRefused]] = []
    rounds: list[list[_Up]] = []
    seen: dict[str, int] = {}
    for i, (no, actor, note) in enumerate(wanted):   # a case once per round
        k = seen[no] = seen.get(no, -1) + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(_Up(i, no, actor, note))
    for ups in rounds:
        nos = [u.case_no for u in ups]
        rows, last = {}, {}
        for k in range(0, len(nos), 500):
            part = nos[k:k + 500]
            rows.update((r["case_no"], r) for r in conn.execute(select(*_READ).where(cases.c.case_no.in_(part)))
                        .mappings())
            last.update(conn.execute(   # the time of the case's last step (the source's run)
                select(case_events.c.case_no, func.max(case_events.c.at))
                .where(case_events.c.case_no.in_(part), case_events.c.seq < APP_SEQ_BASE)
                .group_by(case_events.c.case_no)).all())
        app_run = _app_runs(conn, [no for no in nos if no in rows])
        levels = esc.responsible_levels(conn, [no for no in nos if no in rows], tree)
        ok, events = [], []
        stamp = _stamps()
        for u in ups:
            try:
                case = rows.get(u.case_no)
                if case is None:
                    raise WriteRefused(f"case_no: no case {u.case_no!r}", "case_unknown", case_no=u.case_no)
                if case["status"] not in ALLOWED_FROM["escalate"]:
                    raise WriteRefused(f"status: case {u.case_no} is '{case['status']}'; escalate needs an open case",
                                       "status", case_no=u.case_no, action="escalate", status=case["status"])
                up = esc.next_level(levels[u.case_no])
                if up is None:
                    raise WriteRefused(f"case_no: {u.case_no} is already with the city; there is no level above",
                                       "upgrade_top", case_no=u.case_no)
                check_length("case_events", "note", u.note)
                seq, app_at = app_run[u.case_no]
                # the case's last step, or the app's last entry of it: its run never goes back in time either
                last_at = max(x for x in (last.get(u.case_no), app_at, case["reported_at"]) if x is not None)
                if at < last_at:
                    raise WriteRefused(f"at: {at:%Y-%m-%d %H:%M:%S} is earlier than the case's last step "
                                       f"{last_at:%Y-%m-%d %H:%M:%S}", "at_before_last", case_no=u.case_no,
                                       at=f"{at:%Y-%m-%d %H:%M:%S}", last=f"{last_at:%Y-%m-%d %H:%M:%S}")
            except WriteRefused as exc:
                refused.append((u.i, exc))
                continue
            org = case[esc.LEVEL_CODE_COLUMN[up]]
            ok.append(u.case_no)
            events.append(dict(case_no=u.case_no, seq=seq, at=at, action="escalate", actor=u.actor,
                               org_code=org, note=u.note, changed_at=stamp["changed_at"]))
            done.append((u.i, u.case_no, levels[u.case_no], up, org))
        if not ok:
            continue
        before = contributions(conn, ok)
        for k in range(0, len(ok), 500):
            part = ok[k:k + 500]
            if conn.execute(update(cases).where(cases.c.case_no.in_(part), cases.c.status != "closed")
                            .values(**stamp)).rowcount != len(part):
                raise _conflict(part[0])
        conn.execute(insert(case_events), events)
        derive.derive_step_hours(conn, ok)
        apply_contributions(conn, before, contributions(conn, ok))
        meta.touch(conn)
    return done, refused
