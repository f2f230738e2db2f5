"""Small tables shared by several pages (layout only)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from . import data
from .state import lang, set_region, t


def focus_tags(focus: str | None) -> str:
    """``patrol;care`` as translated tags."""
    sep = "、" if lang() == "zh" else ", "
    return sep.join(t(f"enum.activity.{x}") for x in (focus or "").split(";") if x)


def recent_cases(df: pd.DataFrame) -> None:
    """Recent cases, each number a link that opens it in the case workbench."""
    names = data.category_labels()
    view = df.assign(case_no=[f"cases?case={c}" for c in df["case_no"]],
                     category=[names.get(x, x) for x in df["category"]],
                     status=[t(f"enum.status.{s}") for s in df["status"]])
    st.dataframe(view, hide_index=True, column_order=["case_no", "reported_at", "category", "status", "title"],
                 column_config={"case_no": st.column_config.LinkColumn(t("wb.col.case_no"), display_text=r"case=(.*)$"),
                                "reported_at": st.column_config.DatetimeColumn(t("wb.col.reported"),
                                                                               format="YYYY-MM-DD HH:mm"),
                                "category": st.column_config.TextColumn(t("wb.col.category")),
                                "status": st.column_config.TextColumn(t("wb.col.status")),
                                "title": st.column_config.TextColumn(t("wb.col.title"))})


def picked(df: pd.DataFrame, key: str, column: str = "code", **dataframe_kwargs) -> str | None:
    """``df`` as a table in which clicking a row picks it: returns that row's ``column`` (or None)."""
    event = st.dataframe(df, hide_index=True, placeholder="—", on_select="rerun", selection_mode="single-row",
                         key=key, **dataframe_kwargs)
    rows = event.selection.rows if event is not None else []
    return str(df[column].iloc[rows[0]]) if rows else None


def drill_table(df: pd.DataFrame, key: str, **dataframe_kwargs) -> None:
    """A table of regions or grids (a ``code`` column): clicking a row selects that region (drill-down)."""
    code = picked(df, key, **dataframe_kwargs)
    if code is not None:
        set_region(code)
        st.rerun()
