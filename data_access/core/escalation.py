"""Escalation rules (自动督办): which open cases a rule reaches, defined once for the preview and the pass.

A rule names a category (or every one), a **step** of an open case and a **threshold**; the cases past it get the
rule's **action** (the column ``grade``, RULE_ACTIONS): an order of that grade (普通, 黄牌, 红牌) through the same
write as a hand-issued one, or ``upgrade`` (升级): the case moves one level up through the write that moves a
case (writes/workflow.upgrade_case), at most once per case and rule (a unique key on ``supervisions (rule_id,
case_no)`` for orders, the primary key of ``rule_upgrades`` for upgrades).

- **the level now responsible** for an open case (:func:`responsible_levels`): the level of the region its last
  ``escalate`` log entry names (the source's 上报 or an earlier 升级), else ``grid`` — every case starts with its
  grid (小事不出村).  An upgrade moves it to the next of UPGRADE_LEVELS (grid → village → township → county →
  city) and names that region of the case (its ``village_code`` …) in the ``escalate`` entry; a case the city is
  responsible for is not reached by an upgrade rule.

- **step**: ``accept`` (受理), ``dispatch`` (分流), ``handle`` (处置), ``feedback`` (反馈) — the case is in that
  step now: it entered the step before and not this one (derived.STEP_HOUR_COLUMNS) — or ``case`` (the whole
  case, while it is open).
- **the step's limit**: its share of the case's allowed time (metrics.STEP_SHARES × ``allowed_hours``, the
  supervision centre's "step time" — due times follow the working-day calendar of core/time_limits), the whole
  allowed time for ``case``.
- **measure** ``share``: hours in the step ≥ threshold × the limit (1.0 = the limit reached);
  ``hours_past``: hours in the step − the limit ≥ threshold (for ``case``: hours past the due time).

The hours in the step are counted up to the pass's clock (``now``: ``escalate --as-of``); a case reported after
it is not reached.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, exists, literal, select

from data_access.core.contract import SUPERVISION_GRADES
from data_access.core.derived import STEP_HOUR_COLUMNS
from data_access.core.filters import CASE_LEVEL_COLUMN, open_condition
from data_access.core.metrics import STEP_SHARES
from data_access.core.regions import RegionTree
from data_access.core.schema import case_events, cases, escalation_rules, rule_upgrades, supervisions
from data_access.core.sqlfn import hours_between

RULE_STEPS = ("accept", "dispatch", "handle", "feedback", "case")
MEASURES = ("share", "hours_past")
UPGRADE = "upgrade"
RULE_ACTIONS = (*SUPERVISION_GRADES, UPGRADE)   # what a rule does: an order of a grade, or 升级
UPGRADE_LEVELS = ("grid", "village", "township", "county", "city")   # bottom up (metrics.RESOLUTION_LEVELS)
LEVEL_CODE_COLUMN = {"village": "village_code", "township": "township_code", "county": "county_code",
                     "city": "city_code"}   # the case's region of a level: where an upgrade to it goes
_CHUNK = 500   # case numbers per IN list
MAX_THRESHOLD = {"share": 100.0, "hours_past": 24 * 365.0}
# step -> (the timestamp entering the step before, the timestamp entering this one; None: the case's close)
STEP_BOUNDS = {step: STEP_HOUR_COLUMNS[f"{step}_hours"] for step in RULE_STEPS if step != "case"}
STEP_BOUNDS["case"] = ("reported_at", "closed_at")

# Shipped disabled (migration 0018): the common practice of grid platforms — a yellow card when a step has used
# its whole limit, a red card a working day past the due time.  An admin previews them and enables what fits.
DEFAULT_RULES = (
    dict(name="受理超时 黄牌", category=None, step="accept", measure="share", threshold=1.0, grade="yellow"),
    dict(name="处置超时 黄牌", category=None, step="handle", measure="share", threshold=1.0, grade="yellow"),
    dict(name="逾期 黄牌", category=None, step="case", measure="hours_past", threshold=0.0, grade="yellow"),
    dict(name="逾期一天 红牌", category=None, step="case", measure="hours_past", threshold=24.0, grade="red"),
)


@dataclass(frozen=True)
class Rule:
    rule_id: int
    name: str
    category: str | None
    step: str
    measure: str
    threshold: float
    grade: str
    scope_code: str | None
    enabled: bool


def rule_problems(step: str, measure: str, threshold: float, grade: str) -> list[tuple[str, str, dict]]:
    """What is wrong with a rule's settings, as (field, reason key, params); empty when it may be saved."""
    out = []
    if step not in RULE_STEPS:
        out.append(("step", "rule_step", {"value": step, "allowed": ", ".join(RULE_STEPS)}))
    if measure not in MEASURES:
        out.append(("measure", "rule_measure", {"value": measure, "allowed": ", ".join(MEASURES)}))
    elif not 0 <= threshold <= MAX_THRESHOLD[measure] or (measure == "share" and threshold <= 0):
        out.append(("threshold", "rule_threshold", {"value": threshold, "max": MAX_THRESHOLD[measure]}))
    if grade not in RULE_ACTIONS:
        out.append(("grade", "rule_grade", {"value": grade, "allowed": ", ".join(RULE_ACTIONS)}))
    return out


def rules(conn: Connection, *, enabled_only: bool = False) -> list[Rule]:
    q = select(*[escalation_rules.c[f] for f in Rule.__dataclass_fields__]).order_by(escalation_rules.c.rule_id)
    if enabled_only:
        q = q.where(escalation_rules.c.enabled.is_(True))
    return [Rule(**dict(r)) for r in conn.execute(q).mappings()]


def step_limit_sql(step: str, t=cases):
    """The limit of ``step`` in hours (the whole allowed time for ``case``); ``t``: ``cases`` or a select of its
    columns (the roll-ups read the response rate's 受理 limit from here: core/rollups.outcome_flags)."""
    return t.c.allowed_hours * (1.0 if step == "case" else STEP_SHARES[step])


def reached_select(rule: Rule, now: datetime, tree: RegionTree, scope_code: str | None = None):
    """The open cases past ``rule``'s threshold at ``now`` that have no order of the rule yet: case_no, the
    case's city (the issuing centre when the rule has no scope), hours in the step and its limit.
    ``scope_code``: only the cases inside it too (a preview for a user's jurisdiction)."""
    before, entered = (cases.c[c] for c in STEP_BOUNDS[rule.step])
    hours = hours_between(before, literal(now))
    limit = step_limit_sql(rule.step)
    reached = hours >= limit * rule.threshold if rule.measure == "share" else hours - limit >= rule.threshold
    done = (exists().where(rule_upgrades.c.rule_id == rule.rule_id, rule_upgrades.c.case_no == cases.c.case_no)
            if rule.grade == UPGRADE else
            exists().where(supervisions.c.rule_id == rule.rule_id, supervisions.c.case_no == cases.c.case_no))
    conds = [open_condition(), before.is_not(None), before <= now, entered.is_(None), cases.c.allowed_hours > 0,
             reached, ~done]
    if rule.category is not None:
        conds.append(cases.c.category == rule.category)
    for code in (rule.scope_code, scope_code):
        if code is not None:
            node = tree.get(code)
            if node is None:
                return None      # a region no longer in the data: the rule reaches nothing
            conds.append(CASE_LEVEL_COLUMN[node.level] == code)
    extra = [cases.c[c] for c in LEVEL_CODE_COLUMN.values() if c != "city_code"] if rule.grade == UPGRADE else []
    return (select(cases.c.case_no, cases.c.city_code, cases.c.category, hours.label("hours"),
                   limit.label("limit_hours"), *extra)
            .where(and_(*conds)).order_by(cases.c.case_no))


def responsible_levels(conn: Connection, case_nos: list[str], tree: RegionTree) -> dict[str, str]:
    """The level now responsible for each case (the module docstring): the level of the region named by its last
    ``escalate`` log entry (by time, then number), ``grid`` when it has none or it names no region (a
    department)."""
    out = dict.fromkeys(case_nos, "grid")
    last: dict[str, tuple] = {}
    for k in range(0, len(case_nos), _CHUNK):
        for no, at, seq, org in conn.execute(
                select(case_events.c.case_no, case_events.c.at, case_events.c.seq, case_events.c.org_code)
                .where(case_events.c.case_no.in_(case_nos[k:k + _CHUNK]), case_events.c.action == "escalate")):
            node = tree.get(org)
            if node is not None and node.level in UPGRADE_LEVELS and (no not in last or (at, seq) > last[no][:2]):
                last[no] = (at, seq, node.level)
    out.update((no, v[2]) for no, v in last.items())
    return out


def next_level(level: str) -> str | None:
    """The level above ``level`` (None above the city)."""
    i = UPGRADE_LEVELS.index(level)
    return UPGRADE_LEVELS[i + 1] if i + 1 < len(UPGRADE_LEVELS) else None


def planned(conn: Connection, rule_list: list[Rule], now: datetime, tree: RegionTree,
            scope_code: str | None = None) -> list[dict]:
    """The orders a pass at ``now`` would issue: one dict per (rule, case), rules in order, cases by number.
    The preview (queries/escalation.py) and the pass (writes/escalation.py) both read it."""
    out = []
    for rule in rule_list:
        q = reached_select(rule, now, tree, scope_code)
        if q is None:
            continue
        rows = [dict(rule_id=rule.rule_id, rule=rule.name, grade=rule.grade, step=rule.step, **dict(r))
                for r in conn.execute(q).mappings()]
        if rule.grade == UPGRADE:
            rows = _with_levels(conn, rows, tree)
        out += rows
    return out


def _with_levels(conn: Connection, rows: list[dict], tree: RegionTree) -> list[dict]:
    """An upgrade rule's rows with the level now responsible (``from_level``), the one above (``to_level``) and
    the case's region of it (``to_code``); a case the city is responsible for already is left out."""
    levels = responsible_levels(conn, [r["case_no"] for r in rows], tree)
    out = []
    for r in rows:
        up = next_level(levels[r["case_no"]])
        if up is None:
            continue
        codes = {c: r.pop(c, None) for c in LEVEL_CODE_COLUMN.values() if c != "city_code"}
        codes["city_code"] = r["city_code"]
        out.append(dict(r, from_level=levels[r["case_no"]], to_level=up, to_code=codes[LEVEL_CODE_COLUMN[up]]))
    return out


__all__ = ["DEFAULT_RULES", "MEASURES", "RULE_ACTIONS", "RULE_STEPS", "UPGRADE", "UPGRADE_LEVELS", "Rule",
           "next_level", "planned", "reached_select", "responsible_levels", "rule_problems", "rules", "step_limit_sql"]
