"""Small tables shared by several pages (layout only).  A table's columns are described as data
(ui/tables.py): ``columns=`` on :func:`picked`, :func:`drill_table` and :func:`opening`."""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from . import data, tables
from .state import lang, set_region, t

RECENT_CASES = [
    ("case_no", "wb.col.case_no", "case"),
    ("reported_at", "wb.col.reported", "datetime"),
    ("category", "wb.col.category", "text"),
    ("status", "wb.col.status", "text"),
    ("title", "wb.col.title", "text"),
]


def focus_tags(focus: str | None) -> str:
    """``patrol;care`` as translated tags."""
    sep = "、" if lang() == "zh" else ", "
    return sep.join(t(f"enum.activity.{x}") for x in (focus or "").split(";") if x)


def recent_cases(df: pd.DataFrame) -> None:
    """Recent cases, each number a link that opens it in the case workbench."""
    names = data.category_labels()
    tables.show(df.assign(category=[names.get(x, x) for x in df["category"]],
                          status=[t(f"enum.status.{s}") for s in df["status"]]), RECENT_CASES)


def picked(df: pd.DataFrame, key: str, column: str = "code", columns: Sequence[tables.Column] | None = None,
           **dataframe_kwargs) -> str | None:
    """``df`` as a table in which clicking a row picks it: returns that row's ``column`` (or None).  With
    ``columns`` (ui/tables.py), the table shows those."""
    shown = df
    if columns is not None:
        shown = tables.prepare(df, columns)
        dataframe_kwargs = {**tables.options(columns, df), **dataframe_kwargs}
    event = tables.dataframe(shown, on_select="rerun", selection_mode="single-row", key=key, **dataframe_kwargs)
    rows = event.selection.rows if event is not None else []
    return str(df[column].iloc[rows[0]]) if rows else None


def drill_table(df: pd.DataFrame, key: str, columns: Sequence[tables.Column] | None = None,
                **dataframe_kwargs) -> None:
    """A table of regions or grids (a ``code`` column): clicking a row selects that region (drill-down)."""
    code = picked(df, key, columns=columns, **dataframe_kwargs)
    if code is not None:
        set_region(code)
        st.rerun()


def opening(df: pd.DataFrame, key: str, column: str, state_key: str, columns: Sequence[tables.Column] | None = None,
            **dataframe_kwargs) -> None:
    """A list in which clicking a row opens that row's card: session state ``state_key`` (the widget of the
    card's URL parameter) gets the row's ``column``, and the page runs again."""
    code = picked(df, key, column, columns=columns, **dataframe_kwargs)
    if code is not None:
        st.session_state[state_key] = code
        st.rerun()
