"""The case workbench's case panel (pages/cases.py): one case in full — its facts, steps against their limits,
event log, confirmed repeat cases (重复件) and supervision orders — with the form that issues an order and the buttons that resolve one,
then its extension requests (延期, ui/case_extensions.py).
Layout only; the rules are data_access's (queries/cases.py, writes/orders.py)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from data_access.core.access import may_see_personal_data, may_write
from data_access.core.metrics import RESOLUTION_LEVELS, overdue_days
from data_access.queries import cases
from data_access.queries.cases import GRADES, resolved_order_id
from data_access.queries.supervision import duplicates
from data_access.writes import orders
from data_access.writes.orders import MAX_NOTE_LENGTH, SupervisionOrder
from data_access.writes.workflow import WriteRefused
from ui import charts, data, fmt, tables
from ui.auth import current_user
from ui.case_extensions import extensions_section
from ui.frame import current_filter
from data_access.core.errors import DATABASE_ERRORS
from ui.refusals import flash_write, write_refusal
from ui.resilience import forget_typed, guarded_callback, keep_typed, show_error
from ui.state import lang, t


def _over(flag) -> str:
    return charts.OVERDUE_STYLE if flag else ""


FACT_COLUMNS = [("field", "wb.case.field", "text"), ("value", "wb.case.value", "text")]
# Each step: when it was reached, hours taken against its limit (a bar of the share used), red when over.
STEP_COLUMNS = [
    ("step", "wb.ev.action", "text", {"labels": "enum.step", "style": _over, "style_by": "over"}),
    ("entered_at", "wb.step.entered", "datetime", {"format": "MM-DD HH:mm"}),
    ("hours", "wb.case.hours", "num1", {"style": _over, "style_by": "over"}),
    ("limit_hours", "wb.case.step_limit", "num1"),
    ("used", "wb.step.used", "text", {"help": "wb.step.used.help", "style": _over, "style_by": "over"}),
    ("state", "wb.step.state", "text", {"labels": "wb.step", "style": _over, "style_by": "over"}),
]
EVENT_COLUMNS = [
    ("seq", "#", "number", {"width": "small"}),
    ("at", "wb.ev.at", "datetime"),
    ("action", "wb.ev.action", "text", {"labels": "enum.action"}),
    ("actor", "wb.ev.actor", "text"),
    ("org_name", "wb.ev.org", "text"),
    ("note", "wb.ev.note", "text", {"width": "medium"}),
    ("hours_since_previous", "wb.ev.gap", "num1"),
]


def open_case(case_no: str | None) -> None:
    """Show ``case_no`` in the panel (None: close it); the page keeps it in the URL (``?case=``)."""
    st.session_state.wb_case = case_no or ""


def open_picked(key: str, picked: str | None) -> None:
    """Open the case of a row just picked in a table (``key`` remembers the table's last pick): a row that stays
    selected after its case was closed does not open it again on the next run."""
    if picked != st.session_state.get(key):
        st.session_state[key] = picked
        if picked is not None:
            open_case(picked)


def _ts(x) -> str:
    return "—" if x is None or pd.isna(x) else pd.Timestamp(x).strftime("%Y-%m-%d %H:%M")


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
        _badges(d)
        left, right = st.columns([4, 5])
        with left:
            tables.show(_facts(d, cat_name), FACT_COLUMNS, width="stretch")
            if not may_see_personal_data(user):
                st.caption(t("wb.case.masked"))
            if x["description"]:
                st.markdown(f"**{t('wb.case.description')}**")
                st.text(x["description"])
            st.markdown(f"**{t('wb.case.settled')}**")
            st.caption(level_path(x["resolution_level"]))
        with right:
            st.markdown(f"**{t('wb.case.steps')}**")
            used = [None if pd.isna(h) or not lim else fmt.share_of_limit(h / lim, lang())
                    for h, lim in zip(d.steps["hours"], d.steps["limit_hours"])]
            tables.show(d.steps.assign(used=used), STEP_COLUMNS, width="stretch")
            st.caption(t("wb.case.steps.help"))
        duplicate_links(case_no, user)  # above the log: the first thing to know about a repeat case
        st.markdown(f"**{t('wb.case.timeline')}**")
        tables.show(_log(d.events), EVENT_COLUMNS, width="stretch")
        orders_on_case(d, user)
        refused = orders.issue_refusal(user, x["status"])
        if refused is None:
            order_form(case_no, now)
        else:
            st.caption(t("wb.order.closed_case" if refused == "case_closed" else "wb.order.no_role"))
        extensions_section(case_no, x["status"], user)


def _log(events: pd.DataFrame) -> pd.DataFrame:
    """The case log with each supervise entry's grade in the session's language (红牌督办：… / Red card: …),
    whoever wrote it (queries/cases.split_grade_note)."""
    def shown(grade, note):
        if isinstance(grade, str):
            return t("wb.ev.graded_note", grade=t(f"enum.grade.{grade}"), note=note or "").rstrip("：: ")
        order = resolved_order_id(note)
        return t("wb.ev.order_resolved", id=order) if order else note

    notes = [shown(g, n) for g, n in zip(events["grade"], events["note"])]
    return events.assign(note=pd.Series(notes, index=events.index, dtype=object))


def _badges(d) -> None:
    x = d.fields
    with st.container(horizontal=True):
        st.badge(t(f"enum.status.{x['status']}"), color=charts.STATUS_BADGE[x["status"]])
        days = overdue_days(x["overdue_hours"])
        if days is not None:
            st.badge(t("wb.case.overdue_by", d=f"{days:.1f}"), color="red",
                     icon=":material/schedule:")
        if x["on_the_spot"]:
            st.badge(t("wb.case.on_the_spot"), color="violet")
        for g in d.supervisions.loc[d.supervisions["state"] != "resolved", "grade"]:
            st.badge(t(f"enum.grade.{g}"), color=charts.GRADE_BADGE.get(g, "gray"), icon=":material/gavel:")


def _facts(d, cat_name: dict) -> pd.DataFrame:
    x = d.fields
    place = " / ".join(p for p in (x["county_name"], x["township_name"], x["village_name"], x["grid_name"]) if p)
    category = cat_name.get(x["category"], x["category"])
    return pd.DataFrame([
        (t("wb.col.category"), category),
        (t("wb.case.source"), t(f"enum.source.{x['source']}")),
        (t("wb.case.place"), place),
        (t("wb.col.reported"), _ts(x["reported_at"])),
        (t("wb.col.due"), _ts(x["due_at"])),
        (t("wb.case.allowed"), limit_text(d)),
        (t("wb.case.closed_at"), _ts(x["closed_at"])),
        (t("wb.col.department"), x.get("department_name") or "—"),
        (t("wb.case.satisfaction"), "★" * int(x["satisfaction"]) if x["satisfaction"] else "—"),
        (t("wb.case.reporter"), f"{x['reporter_name'] or '—'} · {x['reporter_phone'] or '—'}"),
    ], columns=["field", "value"])


def _h(hours: float) -> str:
    return f"{round(hours, 1):g}"


def limit_text(d) -> str:
    """The case's own time limit (its allowed hours, what the step limits share out): in working days with this
    case's hours, or in hours, saying when a platform extended the category's limit."""
    if d.working_days is not None:
        return t("wb.case.limit.days", n=d.working_days, h=_h(d.allowed_hours))
    if abs(d.allowed_hours - d.category_hours) >= 0.05:
        return t("wb.case.limit.extended", h=_h(d.allowed_hours), c=_h(d.category_hours))
    return t("wb.case.limit", h=_h(d.allowed_hours))


def level_path(level: str | None) -> str:
    """网格 → 村 → 乡镇 → 县 → 市 with the level the case was settled at marked."""
    if not level:
        return t("wb.case.not_settled")
    return " → ".join(f"【{t(f'enum.level.{lv}')}】" if lv == level else t(f"enum.level.{lv}")
                      for lv in RESOLUTION_LEVELS)


def duplicate_links(case_no: str, user) -> None:
    """A confirmed repeat case (重复件): the first report it duplicates, or the duplicates of this one, each a
    button that opens it (queries/supervision/duplicates.case_links)."""
    links = data.get(duplicates.case_links, case_no, current_filter().scope_code)
    if links["primary"] is None and not links["duplicates"]:
        return
    st.markdown(f"**{t('wb.case.duplicates')}**")
    if links["primary"] is not None:
        c = st.columns([4, 1], vertical_alignment="center")
        c[0].caption(t("wb.case.duplicate_of", case_no=fmt.plain(links["primary"])))
        c[1].button(links["primary"], key=f"dup_open_{links['primary']}", on_click=open_case,
                    args=(links["primary"],), icon=":material/link:", width="stretch")
    if links["duplicates"]:
        st.caption(t("wb.case.has_duplicates", n=len(links["duplicates"])))
        cols = st.columns(6)  # a button a sixth wide, however many
        for i, no in enumerate(links["duplicates"]):
            cols[i % len(cols)].button(no, key=f"dup_open_{no}", on_click=open_case, args=(no,),
                                       icon=":material/link:", width="stretch")


def orders_on_case(d, user) -> None:
    if d.supervisions.empty:
        return
    st.markdown(f"**{t('wb.case.orders')}**")
    for _, o in d.supervisions.iterrows():
        c = st.columns([5, 1], vertical_alignment="center")
        state = t("wb.order.state.resolved", at=_ts(o["resolved_at"])) if o["state"] == "resolved" else \
            t(f"wb.order.state.{o['state']}")
        c[0].markdown(t("wb.order.line", grade=t(f"enum.grade.{o['grade']}"), by=o["issued_by_name"] or "—",
                        at=_ts(o["issued_at"]), deadline=_ts(o["deadline"]), state=state))
        if o["note"]:
            c[0].caption(fmt.plain(o["note"]))
        if o["state"] != "resolved" and may_write(user):
            c[1].button(t("wb.order.resolve"), key=f"resolve_{o['supervision_id']}", on_click=_resolve,
                        args=(o["supervision_id"],), icon=":material/task_alt:", width="stretch")


@guarded_callback  # a database failure here gets the app's own message (ui/resilience.py)
def _resolve(sid: str) -> None:
    flash_write(orders.resolve_supervision, sid, success=t("wb.order.resolved", id=sid))


def order_form(case_no: str, now: datetime) -> None:
    keys = [f"order_{part}_{case_no}" for part in ("grade", "day", "time", "note")]
    failure = None
    # Not cleared on submit: a refused order keeps what was typed, to be corrected; a written one clears it below.
    # A database failure (the disk full, the database file gone, the server away) is shown below the form, which
    # stays drawn with what was typed: raised out of the page, the form was not drawn and Streamlit dropped the note.
    with st.form(f"order_{case_no}", clear_on_submit=False, border=True):
        st.markdown(f"**{t('wb.order.title')}**")
        c = st.columns([2, 2, 1])
        grade = c[0].segmented_control(t("wb.order.grade"), GRADES, default="normal", required=True,
                                       format_func=lambda g: t(f"enum.grade.{g}"), key=f"order_grade_{case_no}")
        default = orders.default_deadline(now)
        # Wide bounds, not "from today": a date outside them would be silently swapped for the default; the
        # write refuses a past or far-off deadline with the app's own message (orders.WIDGET_FIRST_DAY).
        day = c[1].date_input(t("wb.order.deadline"), value=default.date(), min_value=orders.WIDGET_FIRST_DAY,
                              max_value=orders.WIDGET_LAST_DAY, format="YYYY-MM-DD", key=f"order_day_{case_no}")
        at = c[2].time_input(t("wb.order.time"), value=default.time(), key=f"order_time_{case_no}",
                             step=timedelta(minutes=30))
        keep_typed(keys[3])  # the note outlives runs that could not draw the form (the database file gone)
        note = st.text_area(t("wb.order.note"), max_chars=MAX_NOTE_LENGTH, key=keys[3],
                            placeholder=t("wb.order.note.placeholder"))
        if st.form_submit_button(t("wb.order.submit"), icon=":material/gavel:", type="primary"):
            deadline = None if day is None or at is None else datetime.combine(day, at)
            try:
                sid = data.write(orders.issue_supervision, current_user(),
                                 SupervisionOrder(case_no, grade or "normal", deadline, note or ""))
            except WriteRefused as e:
                st.error(t("wb.order.refused", reason=write_refusal(e)), icon=":material/block:")
            except DATABASE_ERRORS as exc:  # nothing was written (one transaction); the message after the form
                failure = exc
            else:
                st.toast(t("wb.order.done", id=sid), icon=":material/check_circle:")
                for k in keys:  # the next order starts from the defaults
                    st.session_state.pop(k, None)
                forget_typed(keys[3])
                st.rerun()
    if failure is not None:
        show_error(failure)  # its own message and "retry now" (ui/resilience.py); submit again to retry the order
