"""环节用时 — the time each step of the process takes against its share of the limit, overall and by category
or department."""
from __future__ import annotations

import streamlit as st

from data_access.core.metrics import STEP_SHARES
from data_access.core.schema import PROCESS_STEPS
from data_access.queries.supervision import process
from data_access.queries.supervision.process import BY_CHOICES
from ui import charts, data, fmt, tables
from ui.state import lang, t

BY_KEYS = tuple(b or "none" for b in BY_CHOICES)  # the choices of ?by= (None: "none")


def show(f, now) -> None:
    st.caption(t("proc.help"))
    by_key = st.segmented_control(t("proc.by"), BY_KEYS, key="sc_by", required=True,
                                  format_func=lambda b: t(f"proc.by.{b}")) or "category"
    by = None if by_key == "none" else by_key
    dist = data.get(process.step_time_distribution, f, by=by, now=now)
    if dist.empty or dist["cases"].sum() == 0:
        st.info(t("ov.empty"))
        return
    overall = dist if by is None else data.get(process.step_time_distribution, f, by=None, now=now)
    charts.draw(charts.step_ratio_chart, overall, t("proc.title"))
    per_step = overall.drop_duplicates("step")
    cols = st.columns(len(per_step))
    for col, (_, row) in zip(cols, per_step.iterrows()):
        col.metric(t(f"proc.step.{row['step']}"), fmt.pct(row["within_share"]),
                   help=t("sc.steps.within.help", share=fmt.pct(STEP_SHARES[row["step"]], 0),
                          mean=fmt.hours(row["mean_hours"], lang())), border=True)
    if by is None:
        return
    st.subheader(t("sc.steps.by", by=t(f"proc.by.{by_key}")))
    table = process.step_share_table(dist, by)
    labels = data.category_labels() if by == "category" else {}
    table["name"] = [labels.get(x, x) if isinstance(x, str) and x else t("sc.steps.no_department")
                     for x in table["name"]]
    tables.show(table, [("name", f"proc.by.{by_key}", "text"), ("cases", "proc.col.n", "int"),
                        *[(s, f"proc.step.{s}", "bar", {"help": "proc.col.within_share", "color": charts.WITHIN_COLOR})
                          for s in PROCESS_STEPS]])
