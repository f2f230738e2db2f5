"""Escalation rules set by an admin, and the pass that applies them (``python -m data_access escalate``).

Every order the pass issues goes through orders.write_order, the write of a hand-issued order: the same row, log
entry and audit row, with the rule's id.  A rule of action ``upgrade`` (升级) moves each case it reaches one level up
through workflow.upgrade_case_on, the write that moves a case (its ``escalate`` log entry, derived columns and
roll-ups by difference), with an audit row and a ``rule_upgrades`` row that keeps it to once per rule and case.  The pass is one transaction (all of its orders or none), holds the
escalation lock (core/locks.py: a second pass waits, then finds nothing left to do), and a case gets at most one
order per rule (core/escalation.py; a unique index backs it).  Reversible: an order is resolved like any other,
and a rule is disabled (``rules disable``), never deleted, so the orders it issued keep their reference.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select, update

from data_access.core import audit, escalation as esc, meta
from data_access.core.access import User
from data_access.core.clock import now_local, wall_now
from data_access.core.locks import escalation_lock
from data_access.core.regions import region_tree
from data_access.core.regions import RegionTree
from data_access.core.rollups import lock_rollups
from data_access.core.schema import categories, escalation_rules, rule_upgrades
from data_access.writes.orders import OrderWrite, default_deadline, write_orders
from data_access.writes.workflow import WriteRefused, checked_text, upgrade_cases_on

STEP_NAMES_ZH = {"accept": "受理", "dispatch": "分流", "handle": "处置", "feedback": "反馈", "case": "办结"}
LEVEL_NAMES_ZH = {"grid": "网格", "village": "村（社区）", "township": "乡镇（街道）", "county": "县（市、区）", "city": "市"}


def _check_admin(user: User | None) -> User:
    if user is None or user.role != "admin":
        raise WriteRefused("role: only an admin may set escalation rules", "role")
    return user


def add_rule(engine: Engine, user: User | None, *, name: str, step: str, measure: str, threshold: float,
             grade: str, category: str | None = None, scope_code: str | None = None, enabled: bool = False,
             now: datetime | None = None) -> int:
    """Save a rule (disabled unless ``enabled``); returns its id.  An admin with a jurisdiction sets rules for it
    only (the rule's scope defaults to it)."""
    user = _check_admin(user)
    name = checked_text(name, "name", 100, "rule_name", required=True)
    for fld, reason, params in esc.rule_problems(step, measure, threshold, grade):
        raise WriteRefused(f"{fld}: {params['value']!r} is not allowed", reason, **params)
    tree = region_tree(engine)
    scope_code = scope_code or user.scope_code
    if scope_code is not None and (tree.get(scope_code) is None
                                   or (user.scope_code is not None and not tree.contains(user.scope_code, scope_code))):
        raise WriteRefused(f"scope: {scope_code!r} is not a region in your jurisdiction", "rule_scope", scope=scope_code)
    now = (now or wall_now()).replace(microsecond=0, tzinfo=None)
    with engine.begin() as conn:
        if category is not None and conn.execute(
                select(categories.c.code).where(categories.c.code == category)).first() is None:
            raise WriteRefused(f"category: no category {category!r}", "rule_category", category=category)
        rule_id = conn.execute(insert(escalation_rules).values(
            name=name, category=category, step=step, measure=measure, threshold=float(threshold), grade=grade,
            scope_code=scope_code, enabled=bool(enabled), created_by=user.username or user.name, created_at=now,
            changed_at=now)).inserted_primary_key[0]
        audit.record(conn, "write", user=user, target=f"rule {rule_id}",
                     detail={"action": "add_escalation_rule", "rule_id": rule_id, "step": step, "measure": measure,
                             "threshold": threshold, "grade": grade, "category": category, "scope": scope_code,
                             "enabled": bool(enabled)})
    return rule_id


def set_rule_enabled(engine: Engine, user: User | None, rule_id: int, enabled: bool) -> None:
    user = _check_admin(user)
    tree = region_tree(engine)
    with engine.begin() as conn:
        row = conn.execute(select(escalation_rules.c.scope_code).where(escalation_rules.c.rule_id == rule_id)).first()
        if row is None or (user.scope_code is not None
                           and (row.scope_code is None or not tree.contains(user.scope_code, row.scope_code))):
            raise WriteRefused(f"rule: no rule {rule_id} in your jurisdiction", "rule_unknown", rule_id=rule_id)
        conn.execute(update(escalation_rules).where(escalation_rules.c.rule_id == rule_id)
                     .values(enabled=bool(enabled), changed_at=wall_now().replace(microsecond=0, tzinfo=None)))
        audit.record(conn, "write", user=user, target=f"rule {rule_id}",
                     detail={"action": "enable_escalation_rule" if enabled else "disable_escalation_rule",
                             "rule_id": rule_id})


@dataclass
class EscalationRun:
    now: datetime
    planned: list[dict] = field(default_factory=list)   # core/escalation.planned
    issued: list[str] = field(default_factory=list)     # the orders' ids (empty in a dry run)
    upgraded: list[str] = field(default_factory=list)   # the cases moved one level up (upgrade rules)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (case, reason) an upgrade could not move now
    dry_run: bool = False


def rule_note(p: dict) -> str:
    """The note of an order a rule issues (its log entry reads 黄牌督办：自动督办（规则 3「…」）：…); of an upgrade,
    自动升级（规则 5「…」）：…，由网格升级至村（社区）."""
    step = STEP_NAMES_ZH[p["step"]]
    if p["grade"] == esc.UPGRADE:
        return (f"自动升级（规则 {p['rule_id']}「{p['rule']}」）：{step}已用 {p['hours']:.0f} 小时，"
                f"时限 {p['limit_hours']:.0f} 小时，由{LEVEL_NAMES_ZH[p['from_level']]}升级至"
                f"{LEVEL_NAMES_ZH[p['to_level']]}")
    return (f"自动督办（规则 {p['rule_id']}「{p['rule']}」）：{step}已用 {p['hours']:.0f} 小时，"
            f"时限 {p['limit_hours']:.0f} 小时")


def escalate(engine: Engine, now: datetime | None = None, *, dry_run: bool = False,
             rule_ids: list[int] | None = None) -> EscalationRun:
    """Apply the enabled rules at ``now``: every order they call for, in one transaction (none in a dry run).
    ``rule_ids``: only those rules; a dry run previews them even when disabled, a real pass refuses a disabled
    or unknown one."""
    now = (now or now_local()).replace(microsecond=0, tzinfo=None)
    tree = region_tree(engine)
    run = EscalationRun(now=now, dry_run=dry_run)
    with escalation_lock(engine), engine.begin() as conn:
        rule_list = esc.rules(conn, enabled_only=rule_ids is None)
        if rule_ids is not None:
            known = {r.rule_id: r for r in rule_list}
            for rid in rule_ids:
                if rid not in known or not (dry_run or known[rid].enabled):
                    raise WriteRefused(f"rule: no {'' if rid not in known else 'enabled '}rule {rid}", "rule_unknown",
                                       rule_id=rid)
            rule_list = [known[rid] for rid in dict.fromkeys(rule_ids)]
        run.planned = esc.planned(conn, rule_list, now, tree)
        if dry_run:
            return run
        deadline = default_deadline(now)
        scopes = {r.rule_id: r.scope_code for r in rule_list}
        issuers = {rid: User(name=f"自动督办规则 {rid}", role="staff", scope_code=scope) for rid, scope in scopes.items()}
        run.issued = write_orders(conn, tree, [
            OrderWrite(issuers[p["rule_id"]], p["case_no"], p["grade"], deadline, rule_note(p), p["rule_id"])
            for p in run.planned if p["grade"] != esc.UPGRADE], now)
        _upgrade(conn, tree, run, [p for p in run.planned if p["grade"] == esc.UPGRADE], issuers)
        if run.issued:
            meta.touch(conn)
    return run


# refusals of workflow.upgrade_cases_on that the pass goes on after (that case is not written)
SKIPPED = ("at_before_last", "upgrade_top", "status")


def _upgrade(conn: Connection, tree: RegionTree, run: EscalationRun, plan: list[dict], issuers: dict[int, User]
             ) -> None:
    """The upgrades of the pass, through the write that moves a case (workflow.upgrade_cases_on: set-based),
    each with its audit row and its ``rule_upgrades`` row.  A case two rules reach moves once per rule (each from
    where the last left it); a case whose last step is later than the pass's clock, or that the city has
    already, is skipped (its reason in ``run.skipped``), the rest still written."""
    if not plan:
        return
    lock_rollups(conn)
    done, refused = upgrade_cases_on(conn, tree, [(p["case_no"], issuers[p["rule_id"]].name, rule_note(p))
                                                  for p in plan], run.now)
    for k, exc in refused:
        if exc.reason not in SKIPPED:
            raise exc
        run.skipped.append((plan[k]["case_no"], exc.reason))
    rows, audits = [], []
    for k, no, frm, to, code in sorted(done):
        p, user = plan[k], issuers[plan[k]["rule_id"]]
        rows.append(dict(rule_id=p["rule_id"], case_no=no, upgraded_at=run.now, from_level=frm, to_level=to,
                         to_code=code))
        audits.append(audit.row("write", user=user, target=no,
                                detail={"action": "upgrade_case", "rule_id": p["rule_id"], "from_level": frm,
                                        "to_level": to}))
        run.upgraded.append(no)
    if rows:
        conn.execute(insert(rule_upgrades), rows)
        audit.record_many(conn, audits)


__all__ = ["EscalationRun", "add_rule", "escalate", "rule_note", "set_rule_enabled"]
