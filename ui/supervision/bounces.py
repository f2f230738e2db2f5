"""反复退回 — cases passed back and forth between departments, and between which departments."""
from __future__ import annotations

import streamlit as st

from data_access.core.metrics import BOUNCE_RETURNS
from data_access.queries.supervision import process
from ui import capped, data, fmt, tables
from ui.state import lang, t
from ui.supervision.case_lists import capped_case_table

PAIR_COLUMNS = [
    ("from_name", "bounce.col.from", "text"),
    ("to_name", "bounce.col.to", "text"),
    ("cases", "bounce.col.cases", "int"),
    ("returns", "bounce.col.returns", "int"),
]
CASE_COLUMNS = ["case_no", "title", "category", "status",
                ("n_returns", "bounce.col.n_returns", "number"),
                ("n_reassigns", "bounce.col.n_reassigns", "number"),
                ("departments", "bounce.col.departments", "text"),
                "reported_at"]


def show(f, now) -> None:
    st.caption(t("bounce.help"))
    n_bounced = data.get(process.bounced_case_count, f, now=now)
    st.metric(t("bounce.cases"), fmt.count(n_bounced, lang()), help=t("bounce.cases.help", n=BOUNCE_RETURNS),
              border=True, width="content")
    if n_bounced == 0:
        st.info(t("bounce.none"))
        return
    left, _ = st.columns([3, 2])
    with left:
        st.subheader(t("bounce.pairs"))
        st.caption(t("bounce.pairs.help"))
        tables.show(data.get(process.bounce_pairs, f, now=now), PAIR_COLUMNS)
    st.subheader(t("sc.bounces.list"))
    capped_case_table(capped.fetch(process.bounced_cases, f, now=now, rows=process.BOUNCED_ROWS), CASE_COLUMNS,
                      t("sc.bounces.list"), "sc_bounced")
