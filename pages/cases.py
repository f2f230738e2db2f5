"""矛盾纠纷 — the case workbench: filter, page through and open cases, issue and follow supervision orders,
export the filtered set.  Every filter lives in the URL (ui/urlstate.py), so a view is a shareable link."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from data_access.core.access import may_see_personal_data, may_write
from data_access.core import counting, reference
from data_access.queries import cases
from data_access.queries.cases import DEFAULT_SORT, GRADES, SORTS
from data_access.core.metrics import RESOLUTION_LEVELS, SOURCES, STATUSES
from data_access.writes import orders
from data_access.writes.orders import MAX_NOTE_LENGTH, SupervisionOrder
from data_access.writes.workflow import WriteRefused
from ui import charts, data, export, fmt, urlstate
from ui.auth import current_user
from ui.frame import current_filter
from ui.guard import require_frame
from ui.setup import friendly_errors
from ui.state import lang, t

SATISFACTION = ("1", "2", "3", "4", "5")


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
        P("overdue", "bool", default=False),
        P("sup", "bool", default=False),
        P("sort", "choice", SORTS, DEFAULT_SORT),
        P("case", "text", default=""),
    ]


def enum_label(kind: str):
    return lambda code: t(f"enum.{kind}.{code}")


def filter_bar(cat_name: dict[str, str], depts: pd.DataFrame, ps: list[urlstate.Param]) -> None:
    dept_name = dict(zip(depts["code"], depts["name"]))
    with st.container(border=True):
        c = st.columns([3, 2, 2, 2])
        c[0].text_input(t("wb.f.q"), key="wb_q", placeholder=t("wb.f.q.placeholder"), max_chars=urlstate.MAX_TEXT,
                        help=t("wb.f.q.help"), icon=":material/search:")
        c[1].multiselect(t("wb.f.cat"), list(cat_name), key="wb_cat", format_func=lambda x: cat_name.get(x, x),
                         placeholder=t("wb.f.any"))
        c[2].multiselect(t("wb.f.status"), STATUSES, key="wb_status", format_func=enum_label("status"),
                         placeholder=t("wb.f.any"))
        c[3].multiselect(t("wb.f.src"), SOURCES, key="wb_src", format_func=enum_label("source"),
                         placeholder=t("wb.f.any"))
        c = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
        c[0].multiselect(t("wb.f.dept"), list(dept_name), key="wb_dept", format_func=lambda x: dept_name.get(x, x),
                         placeholder=t("wb.f.any"))
        c[1].multiselect(t("wb.f.level"), RESOLUTION_LEVELS, key="wb_level", format_func=enum_label("level"),
                         placeholder=t("wb.f.any"))
        c[2].multiselect(t("wb.f.sat"), SATISFACTION, key="wb_sat", format_func=lambda s: "★" * int(s),
                         placeholder=t("wb.f.any"))
        with c[3]:
            st.toggle(t("wb.f.overdue"), key="wb_overdue", help=t("help.overdue"))
            st.toggle(t("wb.f.sup"), key="wb_sup", help=t("wb.f.sup.help"))
        st.button(t("wb.f.reset"), icon=":material/filter_alt_off:", on_click=urlstate.reset, args=(ps,),
                  type="tertiary")


def build_filter(v: dict):
    return current_filter().with_(
        text=v["q"], categories=tuple(v["cat"]), statuses=tuple(v["status"]), sources=tuple(v["src"]),
        departments=tuple(v["dept"]), resolution_levels=tuple(v["level"]),
        satisfaction=tuple(int(s) for s in v["sat"]), overdue_only=bool(v["overdue"]), supervised_only=bool(v["sup"]),
    )


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


# --- the list --------------------------------------------------------------------------------------------------

LIST_COLUMNS = ["case_no", "title", "category", "grid_name", "village_name", "township_name", "status",
                "reported_at", "due_at", "overdue_days", "department_name", "supervision_grade"]


def _list_view(rows: pd.DataFrame, cat_name: dict) -> pd.DataFrame:
    """The columns the list shows, and only those: the table is styled cell by cell (pandas' Styler, the
    costliest part of a click on this page), so a column nobody sees is not carried through it."""
    view = rows.copy()
    view["category"] = [cat_name.get(c, c) for c in view["category"]]
    view["status"] = [t(f"enum.status.{s}") for s in rows["status"]]
    view["overdue_days"] = [h / 24 if not pd.isna(h) and h > 0 else None for h in rows["overdue_hours"]]
    view["supervision_grade"] = [t(f"enum.grade.{g}") if isinstance(g, str) else None
                                 for g in rows["supervision_grade"]]
    return view[LIST_COLUMNS]


def _grade_color() -> dict[str, str]:
    """Translated grade label → its colour (tables style the labels they show)."""
    return {t(f"enum.grade.{g}"): c for g, c in charts.GRADE_TEXT_COLORS.items()}


def _style(view: pd.DataFrame):
    status_color = {t(f"enum.status.{s}"): c for s, c in charts.STATUS_TEXT_COLORS.items()}
    grade_color = _grade_color()
    return (view.style
            .map(lambda v: f"color: {status_color.get(v, 'inherit')}; font-weight: 600", subset=["status"])
            .map(lambda v: "" if pd.isna(v) else charts.OVERDUE_STYLE,
                 subset=["overdue_days"])
            .map(lambda v: f"color: {grade_color.get(v, 'inherit')}; font-weight: 600", subset=["supervision_grade"]))


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


def open_case(case_no: str | None) -> None:
    st.session_state.wb_case = case_no or ""


def case_list(f, now, cat_name: dict, total: int) -> None:
    top = st.columns([4, 3], vertical_alignment="bottom")
    top[0].segmented_control(t("wb.sort"), SORTS, key="wb_sort", format_func=lambda s: t(f"wb.sort.{s}"),
                             required=True)
    sort = st.session_state.get("wb_sort") or DEFAULT_SORT
    page_no, cursor = _pager_state(repr((f, sort)))
    with st.spinner(t("wb.loading")):
        page = data.get(cases.case_page, f, sort=sort, page=page_no, cursor=cursor, now=now, total=total,
                        primary=True)
    with top[1]:
        export.export_buttons(f, page.total, now)
    if page.total == 0:
        st.info(t("wb.empty"))
        return
    view = _list_view(page.rows, cat_name)
    event = st.dataframe(
        _style(view), hide_index=True, on_select="rerun", selection_mode="single-row",
        key=f"wb_list_{abs(hash((repr(f), sort, page.page)))}",
        column_order=LIST_COLUMNS,
        column_config={
            "case_no": st.column_config.TextColumn(t("wb.col.case_no"), width=150),
            "title": st.column_config.TextColumn(t("wb.col.title"), width="medium"),
            "category": st.column_config.TextColumn(t("wb.col.category")),
            "grid_name": st.column_config.TextColumn(t("wb.col.grid")),
            "village_name": st.column_config.TextColumn(t("wb.col.village")),
            "township_name": st.column_config.TextColumn(t("wb.col.township")),
            "status": st.column_config.TextColumn(t("wb.col.status"), width="small"),
            "reported_at": st.column_config.DatetimeColumn(t("wb.col.reported"), format="YYYY-MM-DD HH:mm"),
            "due_at": st.column_config.DatetimeColumn(t("wb.col.due"), format="YYYY-MM-DD HH:mm"),
            "overdue_days": st.column_config.NumberColumn(t("wb.col.overdue_days"), format="%.1f",
                                                          help=t("help.overdue_by")),
            "department_name": st.column_config.TextColumn(t("wb.col.department")),
            "supervision_grade": st.column_config.TextColumn(t("wb.col.grade"), width="small"),
        },
        placeholder="—", height=38 + 35 * min(len(view), 15), width="stretch",
    )
    selected = event.selection.rows if event is not None else []
    if selected:
        picked = str(page.rows["case_no"].iloc[selected[0]])
        if picked != st.session_state.get("wb_case"):
            st.toast(t("wb.case.opened", case_no=fmt.plain(picked)), icon=":material/south:")
        open_case(picked)
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


# --- one case --------------------------------------------------------------------------------------------------

def _ts(x) -> str:
    return "—" if x is None or pd.isna(x) else pd.Timestamp(x).strftime("%Y-%m-%d %H:%M")


def _refusal(e: WriteRefused) -> str:
    key = f"write.{e.reason}"
    text = t(key, **{k: str(v) for k, v in e.params.items()}) if e.reason else str(e)
    return text if text != key else str(e)


def order_form(case_no: str, now: datetime) -> None:
    with st.form(f"order_{case_no}", clear_on_submit=True, border=True):
        st.markdown(f"**{t('wb.order.title')}**")
        c = st.columns([2, 2, 1])
        grade = c[0].segmented_control(t("wb.order.grade"), GRADES, default="normal", required=True,
                                       format_func=enum_label("grade"), key=f"order_grade_{case_no}")
        default = now + timedelta(days=2)
        day = c[1].date_input(t("wb.order.deadline"), value=default.date(), min_value=now.date(),
                              format="YYYY-MM-DD", key=f"order_day_{case_no}")
        at = c[2].time_input(t("wb.order.time"), value=default.time().replace(second=0, microsecond=0),
                             key=f"order_time_{case_no}", step=timedelta(minutes=30))
        note = st.text_area(t("wb.order.note"), max_chars=MAX_NOTE_LENGTH, key=f"order_note_{case_no}",
                            placeholder=t("wb.order.note.placeholder"))
        if st.form_submit_button(t("wb.order.submit"), icon=":material/gavel:", type="primary"):
            try:
                sid = data.write(orders.issue_supervision, current_user(),
                                 SupervisionOrder(case_no, grade or "normal", datetime.combine(day, at), note or ""))
            except WriteRefused as e:
                st.error(t("wb.order.refused", reason=_refusal(e)), icon=":material/block:")
            else:
                st.toast(t("wb.order.done", id=sid), icon=":material/check_circle:")
                st.rerun()


def _resolve(sid: str) -> None:
    try:
        data.write(orders.resolve_supervision, current_user(), sid)
    except WriteRefused as e:
        st.session_state.wb_flash = ("error", t("wb.order.refused", reason=_refusal(e)))
    else:
        st.session_state.wb_flash = ("success", t("wb.order.resolved", id=sid))


def case_panel(case_no: str, now: datetime, cat_name: dict) -> None:
    user = current_user()
    d = data.fresh(cases.case_detail, case_no, user, scope_code=current_filter().scope_code, now=data.now_bucket())
    if d is None:
        st.warning(t("wb.case.not_found", case_no=fmt.plain(case_no)))
        open_case(None)
        return
    x = d.fields
    with st.container(border=True, key="case_panel"):
        head = st.columns([6, 1], vertical_alignment="center")
        head[0].subheader(f"{fmt.plain(x['case_no'])} · {fmt.plain(x['title'])}", anchor=False)
        head[1].button(t("wb.case.close"), icon=":material/close:", on_click=open_case, args=(None,), width="stretch")
        badges = st.container(horizontal=True)
        with badges:
            st.badge(t(f"enum.status.{x['status']}"), color=charts.STATUS_BADGE[x["status"]])
            if x["overdue_hours"] is not None and x["overdue_hours"] > 0:
                st.badge(t("wb.case.overdue_by", d=f"{x['overdue_hours'] / 24:.1f}"), color="red",
                         icon=":material/schedule:")
            if x["on_the_spot"]:
                st.badge(t("wb.case.on_the_spot"), color="violet")
            for g in d.supervisions.loc[d.supervisions["resolved_at"].isna(), "grade"]:
                st.badge(t(f"enum.grade.{g}"), color=charts.GRADE_BADGE.get(g, "gray"),
                         icon=":material/gavel:")
        left, right = st.columns([4, 5])
        with left:
            place = " / ".join(p for p in (x["county_name"], x["township_name"], x["village_name"], x["grid_name"]) if p)
            facts = [
                (t("wb.col.category"), f"{cat_name.get(x['category'], x['category'])}（{t('wb.case.limit', h=f'{d.time_limit_hours:g}')}）"),
                (t("wb.case.source"), t(f"enum.source.{x['source']}")),
                (t("wb.case.place"), place),
                (t("wb.col.reported"), _ts(x["reported_at"])),
                (t("wb.col.due"), _ts(x["due_at"])),
                (t("wb.case.closed_at"), _ts(x["closed_at"])),
                (t("wb.col.department"), x.get("department_name") or "—"),
                (t("wb.case.satisfaction"), "★" * int(x["satisfaction"]) if x["satisfaction"] else "—"),
                (t("wb.case.reporter"), f"{x['reporter_name'] or '—'} · {x['reporter_phone'] or '—'}"),
            ]
            st.dataframe(pd.DataFrame(facts, columns=[t("wb.case.field"), t("wb.case.value")]), hide_index=True,
                         width="stretch")
            if not may_see_personal_data(user):
                st.caption(t("wb.case.masked"))
            if x["description"]:
                st.markdown(f"**{t('wb.case.description')}**")
                st.text(x["description"])
            st.markdown(f"**{t('wb.case.settled')}**")
            st.caption(charts_level_path(x["resolution_level"]))
        with right:
            st.markdown(f"**{t('wb.case.steps')}**")
            step_table(d.steps)
            st.caption(t("wb.case.steps.help"))
        st.markdown(f"**{t('wb.case.timeline')}**")
        ev = d.events.assign(action=[t(f"enum.action.{a}") for a in d.events["action"]])
        st.dataframe(ev, hide_index=True, width="stretch",
                     column_order=["seq", "at", "action", "actor", "org_name", "note", "hours_since_previous"],
                     column_config={
                         "seq": st.column_config.NumberColumn("#", width="small"),
                         "at": st.column_config.DatetimeColumn(t("wb.ev.at"), format="YYYY-MM-DD HH:mm"),
                         "action": t("wb.ev.action"), "actor": t("wb.ev.actor"), "org_name": t("wb.ev.org"),
                         "note": st.column_config.TextColumn(t("wb.ev.note"), width="medium"),
                         "hours_since_previous": st.column_config.NumberColumn(t("wb.ev.gap"), format="%.1f"),
                     }, placeholder="—")
        orders_on_case(d, user)
        if may_write(user) and x["status"] != "closed":
            order_form(case_no, now)
        elif x["status"] == "closed":
            st.caption(t("wb.order.closed_case"))
        else:
            st.caption(t("wb.order.no_role"))


def step_table(steps: pd.DataFrame) -> None:
    """Each step: when it was reached, hours taken against its limit (a bar of the share used, red when over)."""
    view = steps.assign(
        step=[t(f"enum.step.{s}") for s in steps["step"]],
        used=[None if pd.isna(h) else min(999.0, 100 * h / lim)  # shown up to 999 %; the hours say the rest
              for h, lim in zip(steps["hours"], steps["limit_hours"])],
        state=[t(f"wb.step.{s}") for s in steps["state"]],
    )
    over = dict(zip(view["step"], steps["over"]))
    styled = view.style.apply(
        lambda row: [charts.OVERDUE_STYLE if over.get(row["step"]) else "" for _ in row], axis=1,
        subset=["step", "hours", "state"])
    st.dataframe(styled, hide_index=True, width="stretch",
                 column_order=["step", "entered_at", "hours", "limit_hours", "used", "state"],
                 column_config={
                     "step": t("wb.ev.action"),
                     "entered_at": st.column_config.DatetimeColumn(t("wb.step.entered"), format="MM-DD HH:mm"),
                     "hours": st.column_config.NumberColumn(t("wb.case.hours"), format="%.1f"),
                     "limit_hours": st.column_config.NumberColumn(t("wb.case.step_limit"), format="%.1f"),
                     "used": st.column_config.ProgressColumn(t("wb.step.used"), format="%.0f%%", min_value=0,
                                                             max_value=100, help=t("wb.step.used.help"),
                                                             width="small"),
                     "state": t("wb.step.state"),
                 }, placeholder="—")


def charts_level_path(level: str | None) -> str:
    """网格 → 村 → 乡镇 → 县 → 市 with the level the case was settled at marked."""
    if not level:
        return t("wb.case.not_settled")
    return " → ".join(f"【{t(f'enum.level.{lv}')}】" if lv == level else t(f"enum.level.{lv}") for lv in RESOLUTION_LEVELS)


def orders_on_case(d, user) -> None:
    if d.supervisions.empty:
        return
    st.markdown(f"**{t('wb.case.orders')}**")
    for _, o in d.supervisions.iterrows():
        c = st.columns([5, 1], vertical_alignment="center")
        state = (t("wb.order.state.resolved", at=_ts(o["resolved_at"])) if o["resolved_at"] is not None
                 and not pd.isna(o["resolved_at"]) else
                 t("wb.order.state.past") if o["past_deadline"] else t("wb.order.state.open"))
        c[0].markdown(t("wb.order.line", grade=t(f"enum.grade.{o['grade']}"), by=o["issued_by_name"] or "—",
                        at=_ts(o["issued_at"]), deadline=_ts(o["deadline"]), state=state))
        if o["note"]:
            c[0].caption(fmt.plain(o["note"]))
        if (o["resolved_at"] is None or pd.isna(o["resolved_at"])) and may_write(user):
            c[1].button(t("wb.order.resolve"), key=f"resolve_{o['supervision_id']}", on_click=_resolve,
                        args=(o["supervision_id"],), icon=":material/task_alt:", width="stretch")


# --- open supervision orders ----------------------------------------------------------------------------------

def orders_tab(f, now) -> None:
    counts = data.get(cases.open_supervision_counts, f, now, primary=True)
    lg = lang()
    c = st.columns(4)
    for col, key in zip(c, ("red", "yellow", "normal")):
        col.metric(t(f"wb.orders.{key}"), fmt.count(counts[key], lg), border=True, help=t(f"wb.orders.{key}.help"))
    c[3].metric(t("wb.orders.past"), fmt.count(counts["past_deadline"], lg), border=True,
                help=t("wb.orders.past.help"))
    open_orders = data.get(cases.open_supervisions, f, now, primary=True)
    if open_orders.empty:
        st.info(t("wb.orders.none"))
        return
    view = open_orders.assign(grade=[t(f"enum.grade.{g}") for g in open_orders["grade"]],
                         status=[t(f"enum.status.{s}") for s in open_orders["status"]],
                         days_left=open_orders["hours_left"] / 24)
    grade_color = _grade_color()
    styled = (view.style
              .map(lambda v: f"color: {grade_color.get(v, 'inherit')}; font-weight: 600", subset=["grade"])
              .map(lambda v: charts.OVERDUE_STYLE if v < 0 else "", subset=["days_left"]))
    event = st.dataframe(
        styled, hide_index=True, on_select="rerun", selection_mode="single-row", key="wb_orders",
        column_order=["deadline", "days_left", "grade", "case_no", "title", "status", "township_name",
                      "village_name", "issued_by_name", "issued_at", "note"],
        column_config={
            "deadline": st.column_config.DatetimeColumn(t("wb.orders.deadline"), format="YYYY-MM-DD HH:mm"),
            "days_left": st.column_config.NumberColumn(t("wb.orders.days_left"), format="%.1f",
                                                       help=t("wb.orders.days_left.help")),
            "grade": t("wb.col.grade"), "case_no": t("wb.col.case_no"), "title": t("wb.col.title"),
            "status": t("wb.col.status"), "township_name": t("wb.col.township"), "village_name": t("wb.col.village"),
            "issued_by_name": t("wb.orders.issued_by"),
            "issued_at": st.column_config.DatetimeColumn(t("wb.orders.issued_at"), format="YYYY-MM-DD HH:mm"),
            "note": t("wb.ev.note"),
        }, placeholder="—", width="stretch")
    if len(open_orders) >= 500:
        st.caption(t("wb.orders.limited"))
    selected = event.selection.rows if event is not None else []
    if selected:
        open_case(str(open_orders["case_no"].iloc[selected[0]]))


# --- the page ----------------------------------------------------------------------------------------------------

def workbench() -> None:
    now = data.now_bucket()
    tree = data.tree()
    if not tree.nodes:
        st.info(t("ov.empty_db"))
        return
    cat_name = data.category_labels()
    depts = data.reference_list(reference.case_departments)
    ps = params(list(cat_name), list(depts["code"]))
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
        case_panel(case_no, now, cat_name)


require_frame("cases")
region = data.tree().get(current_filter().region_code)
st.title(t("wb.title") + (f" · {fmt.plain(region.name)}" if region else ""))
with friendly_errors():
    workbench()
