"""The escalation rules page (自动督办规则): the rules that reach a place, and the orders they would issue now.

The preview is the pass's own plan (core/escalation.planned, what ``escalate --dry-run`` prints), kept to the
cases of the place asked about; the rules are those whose cases can lie in it (a rule of the whole city reaches a
county's cases; a county's rule reaches a township in it).
"""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, func, select

from data_access.core import escalation as esc
from data_access.core.clock import now_local
from data_access.core.filters import CASE_LEVEL_COLUMN, Scope, resolve
from data_access.core.schema import cases, rule_upgrades, supervisions

RULE_COLUMNS = ["rule_id", "name", "enabled", "grade", "step", "measure", "threshold", "category", "scope_code"]
PREVIEW_COLUMNS = ["rule_id", "rule", "grade", "case_no", "title", "category", "step", "hours", "limit_hours",
                   "from_level", "to_level"]   # the last two: upgrade rules' (empty for an order)
PREVIEW_ROWS = 200


def _reaches(tree, rule_scope: str | None, place: str | None) -> bool:
    if rule_scope is None or place is None:
        return True
    return tree.contains(rule_scope, place) or tree.contains(place, rule_scope)


def escalation_rules(engine: Engine, scope: Scope) -> pd.DataFrame:
    """Every rule (enabled or not) whose cases can lie in the place: RULE_COLUMNS, by id."""
    r = resolve(engine, scope)
    with engine.connect() as conn:
        rows = [vars(x) for x in esc.rules(conn) if _reaches(r.tree, x.scope_code, r.code)]
    return pd.DataFrame(rows, columns=RULE_COLUMNS)


def rule_order_counts(engine: Engine, scope: Scope) -> dict[str, int]:
    """Orders issued by escalation rules on the place's cases: all of them, and those still open (unresolved);
    the upgrades of upgrade rules (rule_upgrades) on them, and those of cases still open."""
    r = resolve(engine, scope)
    conds = [supervisions.c.rule_id.is_not(None)]
    if r.code is not None:
        conds.append(CASE_LEVEL_COLUMN[r.level] == r.code)
    stmt = (select(func.count(), func.count(supervisions.c.resolved_at))
            .select_from(supervisions.join(cases, cases.c.case_no == supervisions.c.case_no)).where(*conds))
    ups = (select(func.count(), func.count(cases.c.closed_at))
           .select_from(rule_upgrades.join(cases, cases.c.case_no == rule_upgrades.c.case_no)).where(*conds[1:]))
    with engine.connect() as conn:
        issued, resolved = conn.execute(stmt).one()
        upgraded, closed = conn.execute(ups).one()
    return {"issued": int(issued), "open": int(issued) - int(resolved), "upgraded": int(upgraded),
            "upgraded_open": int(upgraded) - int(closed)}


def escalation_preview(engine: Engine, scope: Scope, now: datetime | None = None,
                       rule_ids: tuple[int, ...] | None = None, limit: int = PREVIEW_ROWS) -> tuple[pd.DataFrame, int]:
    """The orders the enabled rules (or ``rule_ids``, enabled or not) would issue at ``now`` on the place's
    cases: (the first ``limit`` rows of PREVIEW_COLUMNS, rule by rule and case by case; how many in all)."""
    now = (now or now_local()).replace(microsecond=0, tzinfo=None)
    r = resolve(engine, scope)
    with engine.connect() as conn:
        rule_list = esc.rules(conn, enabled_only=rule_ids is None)
        if rule_ids is not None:
            rule_list = [x for x in rule_list if x.rule_id in set(rule_ids)]
        plan = esc.planned(conn, rule_list, now, r.tree, r.code)
        shown = plan[:limit]
        titles = dict(conn.execute(select(cases.c.case_no, cases.c.title)
                                   .where(cases.c.case_no.in_({p["case_no"] for p in shown}))).all()) if shown else {}
    df = pd.DataFrame([dict(p, title=titles.get(p["case_no"], "")) for p in shown], columns=PREVIEW_COLUMNS)
    return df, len(plan)


__all__ = ["escalation_preview", "escalation_rules", "rule_order_counts"]
