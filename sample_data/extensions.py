"""The sample's extension requests (延期申请, extensions.csv): a handling unit asking for more time on a case it was
dispatched, as the source platform records them, so that the supervision centre's 延期申请 view has something to
show in a demo (a few awaiting a decision today, the rest approved or refused earlier).

Drawn from their own random stream (``EXTENSION_SEED_OFFSET``): every other file of the sample stays as it was.
Who asks: the department a case was dispatched to (``unit_code``), before the case's handling step; more often for
cases that ran past their time limit, and for cases still open.  A request is decided within a day and a half by
the county's 综治中心 (four in five approved), unless it was made in the last days before the data's end on a case
still open: those await a decision.  At most one request per case, so at most one awaiting.  A request's id is
``YQ`` and its case's number (without 娄底's ``LD``: the other cities of the province sample keep their prefix, so
the ids stay unique across cities).
"""
from __future__ import annotations

import numpy as np

EXTENSION_SEED_OFFSET = 4_241
HOUR, DAY, NA = 3_600, 86_400, -1
SHARE_LATE, SHARE_ON_TIME, SHARE_OPEN = 0.08, 0.01, 0.35   # of the cases dispatched to a department
PENDING_DAYS = 7            # a request of the last days before the end on an open case still awaits a decision
APPROVED_SHARE = 0.8
WORKING_DAY_CATEGORIES = ("labour", "demolition", "other")   # sample_data.SAMPLE_WORKING_DAY_RULES' categories
CALENDAR_DAYS = ((3, 5, 7, 10, 15), (0.25, 0.35, 0.2, 0.15, 0.05))
WORKING_DAYS = ((5, 10, 15), (0.5, 0.35, 0.15))
REASONS = (
    "涉及多个部门职责，需协调联合处置",
    "需调取不动产登记档案核实产权",
    "当事人外出务工，暂无法当面调解",
    "需等待第三方鉴定（评估）结果",
    "连续降雨，现场施工条件受限",
    "需报请上级主管部门审批",
    "双方分歧较大，需多次上门调解",
    "涉及资金拨付，需走财务审批流程",
)
APPROVED_NOTES = ("同意延期，请按期办结并及时反馈", "同意，请加强跟踪督办", "同意延期")
REFUSED_NOTES = ("理由不充分，请按原时限办结", "可先行处置，不予延期")
HEADER = ["extension_id", "case_no", "unit_code", "days", "day_kind", "reason", "status", "requested_at",
          "requested_by", "decided_at", "decided_by", "decision_note"]


def write_extensions(ctx, w, c: dict, seed: int) -> None:
    """Write extensions.csv for the cases ``c`` of sample_data.generator (its arrays, after the case events)."""
    from . import vocab
    from .generator import _names, _ts

    rng = np.random.default_rng(seed + EXTENSION_SEED_OFFSET)
    n = c["n"]
    steps, due, closed = c["steps"], c["due"], c["closed"]
    dispatched, handled, closed_at = steps[:, 1], steps[:, 2], steps[:, 4]
    ended = np.where(closed, closed_at, ctx.end_sec)
    late = ended > due
    share = np.where(~closed, SHARE_OPEN, np.where(late, SHARE_LATE, SHARE_ON_TIME))
    pick = c["has_dept"] & ~c["on_spot"] & (dispatched != NA) & (rng.random(n) < share)
    # asked before the deadline (a third to nine tenths of the way there), or soon after dispatch when it was
    # dispatched late already; always before the handling step, and before the data's end
    span = np.maximum(HOUR, due - dispatched)
    asked = dispatched + (span * rng.uniform(0.33, 0.9, n)).astype(np.int64)
    stop = np.where(handled != NA, handled, ctx.end_sec) - HOUR
    asked = np.minimum(asked, stop)
    pick &= asked > dispatched
    idx = np.nonzero(pick)[0]
    asked = asked[idx]
    open_ = ~closed[idx]
    pending = open_ & (asked >= ctx.end_sec - PENDING_DAYS * DAY)
    decided = asked + rng.integers(HOUR, 36 * HOUR, len(idx))
    limit = np.where(closed[idx], closed_at[idx], ctx.end_sec) - 60   # a decision before the case closed (or now)
    pending |= open_ & (decided > limit)
    decided = np.minimum(decided, np.maximum(asked + 60, limit))
    approved = rng.random(len(idx)) < APPROVED_SHARE
    cat_codes = np.array([x[0] for x in vocab.CATEGORIES])[c["cat"][idx]]
    working = np.isin(cat_codes, WORKING_DAY_CATEGORIES)
    days = np.where(working, rng.choice(WORKING_DAYS[0], len(idx), p=WORKING_DAYS[1]),
                    rng.choice(CALENDAR_DAYS[0], len(idx), p=CALENDAR_DAYS[1]))
    reason = rng.integers(0, len(REASONS), len(idx))
    note_a = rng.integers(0, len(APPROVED_NOTES), len(idx))
    note_r = rng.integers(0, len(REFUSED_NOTES), len(idx))
    who = _names(rng, len(idx))
    unit = ctx.dept_code[c["dept_row"][idx], c["dept_kind"][idx]]
    county = np.array(ctx.counties + [ctx.city_code], dtype=object)[c["dept_row"][idx]]
    asked_s, decided_s = _ts(asked), _ts(np.where(pending, NA, decided))
    rows = []
    for j, i in enumerate(idx.tolist()):
        case_no = str(c["case_no"][i])
        if pending[j]:
            status, by, note = "requested", "", ""
        else:
            status = "approved" if approved[j] else "refused"
            by = ctx.region_name[county[j]] + "综治中心"
            note = APPROVED_NOTES[note_a[j]] if approved[j] else REFUSED_NOTES[note_r[j]]
        rows.append(["YQ" + case_no.removeprefix("LD"), case_no, unit[j], int(days[j]), "working_days" if working[j] else "days",
                     REASONS[reason[j]], status, asked_s[j], str(who[j]), decided_s[j], by, note])
    w.write("extensions.csv", HEADER, rows)
