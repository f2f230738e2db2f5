"""职能部门 — each department that received cases: how many, how fast, how many it returned or bounced."""
from __future__ import annotations

import streamlit as st

from data_access.queries.supervision import process
from ui import data, tables
from ui.state import t

COLUMNS = [
    ("name", "dept.col.name", "text"),
    ("received", "dept.col.received", "int"),
    ("closed", "dept.col.closed", "int"),
    ("on_time_share", "dept.col.on_time_share", "pct"),
    ("median_handle_hours", "dept.col.median_handle_hours", "num1"),
    ("returns", "dept.col.returns", "int"),
    ("reassignments", "dept.col.reassignments", "int"),
    ("bounced", "dept.col.bounced", "int"),
    ("open_overdue", "dept.col.open_overdue", "int"),
]


def show(f, now) -> None:
    st.caption(t("dept.help"))
    df = data.get(process.department_table, f, now)
    if df.empty:
        st.info(t("dept.none"))
        return
    tables.show(df, COLUMNS)
    st.caption(t("sc.departments.sort_hint"))
