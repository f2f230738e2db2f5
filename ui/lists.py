"""Small tables shared by several pages (layout only)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from . import data
from .state import lang, t


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
