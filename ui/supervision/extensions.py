"""延期申请 — extension requests by requesting unit: how many, how many approved, the days granted, how often
refused (data_access/queries/extensions.extensions_by_unit; its docstring has the definitions)."""
from __future__ import annotations

import streamlit as st

from data_access.queries import extensions
from ui import data, tables
from ui.state import t

COLUMNS = [
    ("unit_name", "ext.col.unit", "text"),
    ("requested", "ext.col.requested", "int"),
    ("approved", "ext.col.approved", "int"),
    ("refused", "ext.col.refused", "int"),
    ("pending", "ext.col.pending", "int"),
    ("days_granted", "ext.col.days_granted", "int"),
    ("avg_days_granted", "ext.col.avg_days_granted", "num1"),
    ("share_refused", "ext.col.share_refused", "pct"),
]


def show(f, now) -> None:
    st.caption(t("ext.help"))
    df = data.get(extensions.extensions_by_unit, f, now)
    if df.empty:
        st.info(t("ext.none"))
        return
    tables.show(df.assign(unit_name=df["unit_name"].fillna(df["unit_code"])), COLUMNS)
