"""矛盾纠纷 — the case workbench: filter, page through and open cases, issue and follow supervision orders,
export the filtered set.  Every filter lives in the URL (ui/urlstate.py), so a view is a shareable link.  The
list is drawn by ui/case_list.py, the opened case by ui/case_panel.py."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from data_access.core import counting, reference
from data_access.core.filters import OVERDUE_KINDS
from data_access.core.metrics import RESOLUTION_LEVELS, SOURCES, STATUSES
from data_access.queries import cases
from data_access.queries.cases import DEFAULT_SORT, SORTS
from ui import capped, charts, data, fmt, tables, urlstate
from ui.case_list import case_list
from ui.case_panel import case_panel, open_case, open_picked
from ui.frame import current_filter, no_regions
from ui.guard import require_frame
from ui.setup import friendly_errors
from ui.state import lang, t

SATISFACTION = ("1", "2", "3", "4", "5")


OVERDUE_CHOICES = ("", *OVERDUE_KINDS)  # "" = every case; the filter's definitions: core/filters.overdue_condition


def params(categories: list[str], departments: list[str]) -> list[urlstate.Param]:
    P = urlstate.Param
    return [
        P("q", "text", default=""),
        P("cat", "list", categories, []),
        P("status", "list", STATUSES, []),
        P("src", "list", SOURCES, []),
        P("dept", "list", departments, []),
        P("level", "list", RESOLUTION_LEVELS, []),
        P("sat", "list", SATISFACTION, []),
        P("overdue", "choice", OVERDUE_CHOICES, default=""),
        P("sup", "bool", default=False),
        P("sort", "choice", SORTS, DEFAULT_SORT),
        P("case", "text", default=""),
    ]


def follow_old_links() -> None:
    """A link from before the overdue choice (``overdue=1``: open overdue or closed late) keeps its meaning."""
    if st.query_params.get("overdue") == "1":
        st.query_params["overdue"] = "any"


def enum_label(kind: str):
    return lambda code: t(f"enum.{kind}.{code}")


MORE_FILTERS = ("wb_src", "wb_dept", "wb_level", "wb_sat", "wb_sup")  # the rarer ones, behind 更多筛选


def filter_bar(cat_name: dict[str, str], depts: pd.DataFrame, ps: list[urlstate.Param]) -> None:
    """One row on a laptop screen: search, category, status and the overdue choice, the rarer filters in a
    popover whose label counts those in use, so the list starts high on the page."""
    dept_name = dict(zip(depts["code"], depts["name"]))
    c = st.columns([2.6, 2, 2, 2.2, 1.8], vertical_alignment="bottom")
    c[0].text_input(t("wb.f.q"), key="wb_q", placeholder=t("wb.f.q.placeholder"), max_chars=urlstate.MAX_TEXT,
                    help=t("wb.f.q.help"), icon=":material/search:")
    c[1].multiselect(t("wb.f.cat"), list(cat_name), key="wb_cat", format_func=lambda x: cat_name.get(x, x),
                     placeholder=t("wb.f.any"))
    c[2].multiselect(t("wb.f.status"), STATUSES, key="wb_status", format_func=enum_label("status"),
                     placeholder=t("wb.f.any"))
    c[3].selectbox(t("wb.f.overdue"), OVERDUE_CHOICES, key="wb_overdue", help=t("wb.f.overdue.help"),
                   format_func=lambda k: t(f"wb.f.overdue.{k or 'all'}"))
    in_use = sum(1 for k in MORE_FILTERS if st.session_state.get(k))
    label = t("wb.f.more") + (f" · {in_use}" if in_use else "")
    with c[4].popover(label, icon=":material/tune:", width="stretch", key="wb_more",
                      type="primary" if in_use else "secondary"):
        st.multiselect(t("wb.f.src"), SOURCES, key="wb_src", format_func=enum_label("source"),
                       placeholder=t("wb.f.any"))
        st.multiselect(t("wb.f.dept"), list(dept_name), key="wb_dept", format_func=lambda x: dept_name.get(x, x),
                       placeholder=t("wb.f.any"))
        st.multiselect(t("wb.f.level"), RESOLUTION_LEVELS, key="wb_level", format_func=enum_label("level"),
                       placeholder=t("wb.f.any"))
        st.multiselect(t("wb.f.sat"), SATISFACTION, key="wb_sat", format_func=lambda s: "★" * int(s),
                       placeholder=t("wb.f.any"))
        st.toggle(t("wb.f.sup"), key="wb_sup", help=t("wb.f.sup.help"))
        st.button(t("wb.f.reset"), icon=":material/filter_alt_off:", on_click=urlstate.reset, args=(ps,),
                  type="tertiary", key="wb_reset")


def build_filter(v: dict):
    """The list's filter: the frame's, narrowed by the filter bar; a search by case number looks in every period
    (a number read out over the phone is found whatever the sidebar says)."""
    f = current_filter().with_(
        text=v["q"], categories=tuple(v["cat"]), statuses=tuple(v["status"]), sources=tuple(v["src"]),
        departments=tuple(v["dept"]), resolution_levels=tuple(v["level"]),
        satisfaction=tuple(int(s) for s in v["sat"]), overdue=v["overdue"] or "", supervised_only=bool(v["sup"]),
    )
    if f.date_from is not None or f.date_to is not None:
        if data.get(cases.case_no_search, f, primary=True):
            st.caption(t("wb.case_no_any_period"), help=t("wb.case_no_any_period.help"))
            return f.with_(date_from=None, date_to=None)
    return f


def kpi_strip(f, now, k) -> None:
    counts = data.get(cases.open_supervision_counts, f, now, primary=True)
    lg = lang()
    c = st.columns(5)
    c[0].metric(t("wb.kpi.found"), fmt.count(k.cases, lg), help=t("help.wb.found"), border=True)
    c[1].metric(t("ov.kpi.closure_rate"), fmt.pct(k.closure_rate), help=t("help.wb.closure_rate"), border=True)
    c[2].metric(t("wb.kpi.overdue"), fmt.count(k.overdue, lg), help=t("help.wb.overdue"), border=True)
    c[3].metric(t("wb.kpi.median_hours"), fmt.hours(k.median_hours_to_close, lg, unit=False),
                help=t("help.wb.median_hours"), border=True)
    c[4].metric(t("wb.kpi.orders"), t("wb.kpi.orders.value", red=fmt.count(counts["red"], lg),
                                      yellow=fmt.count(counts["yellow"], lg)),
                help=t("wb.kpi.orders.help"), border=True)


# --- open supervision orders ----------------------------------------------------------------------------------

def _past_deadline(days_left) -> str:
    return charts.OVERDUE_STYLE if days_left < 0 else ""


ORDER_COLUMNS = [
    ("deadline", "wb.orders.deadline", "datetime"),
    ("days_left", "wb.orders.days_left", "num1", {"help": "wb.orders.days_left.help", "style": _past_deadline}),
    ("grade", "wb.col.grade", "text", {"labels": "enum.grade", "style": tables.colored(charts.GRADE_TEXT_COLORS)}),
    ("case_no", "wb.col.case_no", "text"),
    ("title", "wb.col.title", "text"),
    ("status", "wb.col.status", "text", {"labels": "enum.status"}),
    ("township_name", "wb.col.township", "text"),
    ("village_name", "wb.col.village", "text"),
    ("issued_by_name", "wb.orders.issued_by", "text"),
    ("issued_at", "wb.orders.issued_at", "datetime"),
    ("note", "wb.ev.note", "text"),
]


def orders_tab(f, now) -> None:
    counts = data.get(cases.open_supervision_counts, f.scope.cases(), now, primary=True)  # the list's own place
    lg = lang()
    c = st.columns(4)
    for col, key in zip(c, ("red", "yellow", "normal")):
        col.metric(t(f"wb.orders.{key}"), fmt.count(counts[key], lg), border=True, help=t(f"wb.orders.{key}.help"))
    c[3].metric(t("wb.orders.past"), fmt.count(counts["past_deadline"], lg), border=True,
                help=t("wb.orders.past.help"))
    listed = capped.fetch(cases.open_supervisions, f, now, primary=True).map(
        lambda df: df.assign(days_left=df["hours_left"] / 24))
    if listed.total == 0:
        st.info(t("wb.orders.none"))
        return
    rows = listed.rows
    event = tables.show(rows, ORDER_COLUMNS, on_select="rerun", selection_mode="single-row", key="wb_orders",
                        width="stretch")
    capped.note(listed, ORDER_COLUMNS, t("wb.tab.orders"), "wb_orders")
    open_picked("wb_orders_picked", tables.selected(event, rows, "case_no"))


# --- the page ----------------------------------------------------------------------------------------------------

def workbench() -> None:
    now = data.now_bucket()
    if no_regions():
        return
    cat_name = data.category_labels()
    depts = data.reference_list(reference.case_departments)
    ps = params(list(cat_name), list(depts["code"]))
    follow_old_links()
    urlstate.seed(ps)
    filter_bar(cat_name, depts, ps)
    values = urlstate.publish(ps)
    f = build_filter(values)
    flash = st.session_state.pop("wb_flash", None)
    if flash:
        (st.error if flash[0] == "error" else st.success)(flash[1])
    with st.spinner(t("wb.loading")):
        k = data.get(counting.case_kpis, f, now, primary=True)  # its count is the list's total too
    kpi_strip(f, now, k)
    tabs = st.tabs([t("wb.tab.list"), t("wb.tab.orders")], key="wb_tab", on_change="rerun")
    with tabs[0]:
        if tabs[0].open is not False:
            case_list(f, now, cat_name, k.cases)
    with tabs[1]:
        if tabs[1].open:
            orders_tab(f, now)
    case_no = st.session_state.get("wb_case") or ""
    urlstate.publish(ps)  # a row picked in this run changes ?case=
    if case_no:
        case_dialog(case_no, now, cat_name)


def case_dialog(case_no: str, now, cat_name: dict) -> None:
    """The opened case over the list (a large dialog, on any screen without scrolling to it); closing it
    (✕, Esc, a click beside it or the panel's own button) takes ``?case=`` out of the URL.  A button inside
    reruns the dialog alone (st.dialog is a fragment), so its message is shown here too."""
    def body() -> None:
        if not st.session_state.get("wb_case"):
            st.rerun()  # closed by the panel's button: the whole page again, without the dialog
        flash = st.session_state.pop("wb_flash", None)
        if flash:
            (st.error if flash[0] == "error" else st.success)(flash[1])
        case_panel(case_no, now, cat_name)

    st.dialog(t("wb.case.dialog"), width="large", icon=":material/folder_open:",
              on_dismiss=lambda: open_case(None))(body)()


require_frame("cases")
region = data.tree().get(current_filter().region_code)
st.title(t("wb.title") + (f" · {fmt.plain(region.name)}" if region else ""))
with friendly_errors():
    workbench()
