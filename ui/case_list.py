"""The case workbench's list (pages/cases.py): the filtered cases, sorted and paged (keyset cursors, back to the
first page whenever the filter or the sort changes), a row picked opens the case; the export buttons above it.
Layout only."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from data_access.core.metrics import overdue_days
from data_access.queries import cases
from data_access.queries.cases import DEFAULT_SORT, SORTS
from ui import charts, data, export, fmt, tables
from ui.case_panel import open_picked
from ui.frame import widen_period
from ui.state import lang, t


def _overdue(days) -> str:
    return "" if pd.isna(days) else charts.OVERDUE_STYLE


def list_columns(cat_name: dict[str, str], sort: str = DEFAULT_SORT) -> list[tables.Column]:
    """The list's columns, what a laptop screen shows first on the left: the sort's own key (overdue days when
    sorting by most overdue, the due time by due soonest), the case number, title, status, grade and overdue
    days; the places and the rest after them."""
    cols: list[tables.Column] = [
        ("case_no", "wb.col.case_no", "text", {"width": 150}),
        ("title", "wb.col.title", "text", {"width": "medium"}),
        ("status", "wb.col.status", "text",
         {"width": "small", "labels": "enum.status", "style": tables.colored(charts.STATUS_TEXT_COLORS)}),
        ("supervision_grade", "wb.col.grade", "text",
         {"labels": "enum.grade", "style": tables.colored(charts.GRADE_TEXT_COLORS)}),
        ("overdue_days", "wb.col.overdue_days", "num1", {"help": "help.overdue_by", "style": _overdue}),
        ("reported_at", "wb.col.reported", "datetime"),
        ("category", "wb.col.category", "text", {"labels": cat_name}),
        ("township_name", "wb.col.township", "text"),
        ("village_name", "wb.col.village", "text"),
        ("grid_name", "wb.col.grid", "text"),
        ("due_at", "wb.col.due", "datetime"),
        ("department_name", "wb.col.department", "text"),
    ]
    first = SORT_KEY_COLUMNS.get(sort, ())
    return [c for k in first for c in cols if c[0] == k] + [c for c in cols if c[0] not in first]


SORT_KEY_COLUMNS = {"overdue_desc": ("overdue_days",), "due_asc": ("due_at",)}
LIST_ROWS_SHOWN = 10  # rows in view at once (the table scrolls the page's 50): the list and its pager fit 768 px


def _pager_state(sig: str) -> tuple[int, object]:
    """Page and keyset cursor; back to page 1 whenever the filter or the sort changes."""
    if st.session_state.get("wb_sig") != sig:
        st.session_state.wb_sig = sig
        st.session_state.wb_page = 1
        st.session_state.wb_cursor = None
    return st.session_state.wb_page, st.session_state.wb_cursor


def _go(page: int, cursor) -> None:
    st.session_state.wb_page = page
    st.session_state.wb_cursor = cursor


def older_open_note(f, now) -> None:
    """The period hides open cases reported before it (the oldest overdue ones among them): say how many and
    offer to widen the period to all time."""
    older = data.get(cases.older_open_cases, f, now, primary=True)
    if older.count == 0:
        return
    c = st.columns([4, 1], vertical_alignment="center")
    c[0].warning(t("wb.older_open", n=fmt.count(older.count, lang()), start=f"{f.date_from:%Y-%m-%d}",
                   oldest=f"{older.oldest:%Y-%m-%d}"), icon=":material/history:")
    c[1].button(t("wb.older_open.widen"), icon=":material/date_range:", on_click=widen_period, key="wb_widen",
                width="stretch", help=t("wb.older_open.widen.help"))


def case_list(f, now, cat_name: dict, total: int) -> None:
    top = st.columns([4, 3], vertical_alignment="center")
    with top[0].container(horizontal=True, vertical_alignment="center", gap="small"):
        st.markdown(t("wb.sort"), width="content")
        st.segmented_control(t("wb.sort"), SORTS, key="wb_sort", format_func=lambda s: t(f"wb.sort.{s}"),
                             required=True, label_visibility="collapsed")
    sort = st.session_state.get("wb_sort") or DEFAULT_SORT
    page_no, cursor = _pager_state(repr((f, sort)))
    with st.spinner(t("wb.loading")):
        page = data.get(cases.case_page, f, sort=sort, page=page_no, cursor=cursor, now=now, total=total,
                        primary=True)
    with top[1]:
        export.export_buttons(f, page.total, now, sort)
    older_open_note(f, now)
    if page.total == 0:
        st.info(t("wb.empty"))
        return
    rows = page.rows.assign(overdue_days=[overdue_days(None if pd.isna(h) else h)  # as the export writes them
                                          for h in page.rows["overdue_hours"]])
    event = tables.show(rows, list_columns(cat_name, sort), on_select="rerun", selection_mode="single-row",
                        key=f"wb_list_{abs(hash((repr(f), sort, page.page)))}",
                        height=38 + 35 * min(len(rows), LIST_ROWS_SHOWN), width="stretch")
    open_picked("wb_list_picked", tables.selected(event, rows, "case_no"))
    c = st.columns([1, 1, 3, 1, 1], vertical_alignment="center")
    c[0].button(t("wb.page.first"), icon=":material/first_page:", disabled=page.page <= 1, on_click=_go,
                args=(1, None), width="stretch")
    c[1].button(t("wb.page.prev"), icon=":material/chevron_left:", disabled=page.prev is None, on_click=_go,
                args=(page.page - 1, page.prev), width="stretch")
    c[2].markdown(t("wb.page.of", page=f"{page.page:,}", pages=f"{page.pages:,}", total=fmt.count(page.total, lang())),
                  text_alignment="center")
    c[3].button(t("wb.page.next"), icon=":material/chevron_right:", disabled=page.next is None, on_click=_go,
                args=(page.page + 1, page.next), width="stretch")
    c[4].button(t("wb.page.last"), icon=":material/last_page:", disabled=page.page >= page.pages, on_click=_go,
                args=(page.pages, None), width="stretch")
    st.caption(t("wb.list.hint"))
