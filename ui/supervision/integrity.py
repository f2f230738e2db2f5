"""办结质量核查 — whether the closure rate can be trusted: the official rate beside the rate without the closures
that the checks flag, by region, and the flagged cases of each check."""
from __future__ import annotations

import streamlit as st

from data_access.queries.supervision import integrity
from data_access.queries.supervision.integrity import CHECKS
from ui import capped, data, fmt, tables
from ui.state import lang, t
from ui.supervision.case_lists import capped_case_table

CHECK_KEYS = tuple(CHECKS)  # the choices of ?check=
CHILD_COLUMNS = [
    ("name", "ov.rank.name", "text"),
    ("cases", "ov.rank.cases", "int"),
    ("closure_rate", "sc.integrity.official", "pct2"),
    ("verified_rate", "sc.integrity.verified", "pct2"),
    ("gap", "sc.integrity.gap", "pct2", {"format": "%.2f pp", "help": "sc.integrity.gap.help"}),
    *[(column, f"sc.integrity.check.{name}", "int") for name, (column, _f) in CHECKS.items()],
]
FLAGGED_COLUMNS = ["case_no", "title", "category", "reported_at", "closed_at",
                   ("hours_to_close", "ex.col.hours_to_close", "num2"),
                   ("reason", "sc.integrity.reason", "text")]


def show(f, now) -> None:
    st.caption(t("sc.integrity.caption"))
    rep = data.get(integrity.integrity_summary, f, now)
    if rep.cases == 0:
        st.info(t("ov.empty"))
        return
    lg = lang()
    c = st.columns(2)
    c[0].metric(t("sc.integrity.official"), fmt.pct(rep.closure_rate, 2), help=t("help.closure_rate"), border=True)
    d = fmt.delta_pct_points(rep.verified_closure_rate, rep.closure_rate)
    c[1].metric(t("sc.integrity.verified"), fmt.pct(rep.verified_closure_rate, 2), d, **fmt.delta_style(d),
                help=t("integrity.verified_rate.help"), border=True)
    c = st.columns(len(CHECKS))
    for col, name in zip(c, CHECKS):
        col.metric(t(f"sc.integrity.check.{name}"), fmt.count(getattr(rep, CHECKS[name][0]), lg),
                   help=t(f"integrity.check.{name}.help"), border=True)
    st.caption(t("sc.integrity.flagged", n=fmt.count(rep.n_flagged, lg), closed=fmt.count(rep.closed, lg)))
    child = data.get(integrity.integrity_by_child_region, f, now)
    if not child.empty:
        st.subheader(t("sc.integrity.by_child", level=t(f"level.{child['level'].iloc[0]}")))
        tables.show(child, CHILD_COLUMNS)
    st.subheader(t("sc.integrity.list"))
    check = st.segmented_control(t("sc.integrity.list.check"), CHECK_KEYS, key="sc_check", required=True,
                                 format_func=lambda k: t(f"sc.integrity.check.{k}")) or CHECK_KEYS[0]
    st.caption(t(f"integrity.check.{check}.help"))
    flagged = capped.fetch(integrity.flagged_cases, f, check, now=now, rows=integrity.FLAGGED_ROWS)
    if flagged.total == 0:
        st.info(t("sc.integrity.list.none"))
        return
    sep = "、" if lg == "zh" else ", "  # a case flagged by several checks: "a;b" → 甲、乙
    flagged = flagged.map(lambda df: df.assign(
        reason=[sep.join(t(f"sc.integrity.check.{k}") for k in r.split(";") if k) for r in df["reason"]]))
    capped_case_table(flagged, FLAGGED_COLUMNS, t("sc.integrity.list"), "sc_flagged")
