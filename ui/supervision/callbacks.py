"""回访 — recently closed cases whose reporter left a phone and gave no rating, oldest close first: staff ring them
back and record the rating (the data's satisfaction scale) and a note (writes/callbacks.py, audited); the
callbacks recorded, each undone by its author or an admin.  The rules: data_access/core/callbacks.py."""
from __future__ import annotations

import streamlit as st

from data_access.core.access import may_record_callback, may_undo_callback
from data_access.core.callbacks import CALLBACK_DAYS, NOTE_MAX, rating_scale
from data_access.queries.supervision import callbacks as cq
from data_access.writes import callbacks as cw
from data_access.writes.workflow import WriteRefused
from ui import capped, data, fmt, tables
from ui.auth import current_user
from ui.resilience import guarded_callback
from ui.state import lang, t
from ui.supervision.case_lists import capped_case_table

FLASH = "cb_flash"
DUE_COLUMNS = ["case_no", "title", "category", "closed_at",
               ("reporter_name", "cb.col.reporter", "text"), ("reporter_phone", "cb.col.phone", "text"),
               ("grid_name", "level.grid", "text"), ("township_name", "level.township", "text")]
RECORDED_COLUMNS = [("callback_id", "cb.col.id", "int"), ("case_no", "wb.col.case_no", "case"),
                    ("title", "wb.col.title", "text"), ("rating", "cb.col.rating", "int"),
                    ("satisfaction", "cb.col.case_rating", "int"), ("note", "cb.col.note", "text"),
                    ("recorded_by", "cb.col.recorded_by", "text"), ("recorded_at", "cb.col.recorded_at", "datetime")]


def _refusal(e: WriteRefused) -> str:
    key = f"write.{e.reason}"
    text = t(key, **{k: str(v) for k, v in e.params.items()}) if e.reason else str(e)
    return text if text != key else str(e)


@guarded_callback
def _record(case_no: str) -> None:
    rating = st.session_state.get("cb_rating")
    note = st.session_state.get("cb_note", "")
    try:
        data.write(cw.record_callback, current_user(), case_no, rating, note)
    except WriteRefused as e:
        st.session_state[FLASH] = ("error", t("cb.refused", reason=_refusal(e)))
    else:
        st.session_state[FLASH] = ("success", t("cb.done", case_no=case_no, rating=rating))
        st.session_state["cb_note"] = ""


@guarded_callback
def _undo(callback_id: int) -> None:
    try:
        data.write(cw.undo_callback, current_user(), callback_id)
    except WriteRefused as e:
        st.session_state[FLASH] = ("error", t("cb.refused", reason=_refusal(e)))
    else:
        st.session_state[FLASH] = ("success", t("cb.undone", id=callback_id))


def _form(rows) -> None:
    """Pick a listed case, its rating and a note; record."""
    low, high = rating_scale()
    labels = {f"{r.case_no} · {r.title}": r.case_no for r in rows.itertuples()}
    # two rows: the five labelled ratings need the width of half the page to show whole
    top = st.columns([2, 3], vertical_alignment="bottom")
    picked = top[0].selectbox(t("cb.pick"), list(labels), key="cb_pick")
    top[1].segmented_control(t("cb.rating"), list(range(low, high + 1)), key="cb_rating",
                             format_func=lambda v: t(f"cb.rating.{v}"), help=t("cb.rating.help", low=low, high=high))
    bottom = st.columns([4, 1], vertical_alignment="bottom")
    bottom[0].text_input(t("cb.note"), key="cb_note", max_chars=NOTE_MAX)
    bottom[1].button(t("cb.record"), key="cb_record", on_click=_record, args=(labels.get(picked, ""),),
                     icon=":material/call:", type="primary", width="stretch")


def _recorded(f, user, now) -> None:
    st.subheader(t("cb.recorded", days=CALLBACK_DAYS))
    rows = data.get(cq.callbacks_recorded, f, now)
    if rows.empty:
        st.caption(t("cb.recorded.none"))
        return
    st.caption(t("cb.recorded.help"))
    tables.show(rows, RECORDED_COLUMNS)
    mine = [int(r.callback_id) for r in rows.itertuples() if may_undo_callback(user, r.recorded_by)]
    if mine:
        c = st.columns([2, 1, 3], vertical_alignment="bottom")
        cid = c[0].selectbox(t("cb.undo.pick"), mine, key="cb_undo_pick")
        if cid is not None:
            c[1].button(t("cb.undo"), key="cb_undo", on_click=_undo, args=(cid,), icon=":material/undo:",
                        width="stretch")


def show(f, now) -> None:
    user = current_user()
    low, high = rating_scale()
    st.caption(t("cb.help", days=CALLBACK_DAYS, low=low, high=high))
    flash = st.session_state.pop(FLASH, None)
    if flash:
        (st.error if flash[0] == "error" else st.success)(flash[1])
    due = capped.fetch(cq.cases_to_call_back, f, user, now, rows=cq.DUE_ROWS)
    st.metric(t("cb.m.due"), fmt.count(due.total, lang()), help=t("cb.m.due.help", days=CALLBACK_DAYS),
              border=True)
    if due.total == 0:
        st.info(t("cb.none", days=CALLBACK_DAYS))
    else:
        capped_case_table(due, DUE_COLUMNS, t("sc.view.callbacks"), "sc_callbacks")
        if may_record_callback(user):
            _form(due.rows)
        else:
            st.caption(t("cb.no_role"))
    _recorded(f, user, now)
