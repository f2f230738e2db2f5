"""The case panel's extension requests (延期申请, ui/case_panel.py): the history, the original and the current due
time, the request form for the roles that may request, approve / refuse buttons for those who may decide and the
withdraw button for the one who decided.  Layout only; the rules are data_access's (queries/extensions.py,
writes/extensions.py)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from data_access.core.time_limits import EXTENSION_KINDS
from data_access.queries import extensions as ext_q
from data_access.writes import extensions as ext_w
from data_access.writes.extensions import MAX_DAYS, MAX_REASON_LENGTH, ExtensionRequest
from data_access.writes.workflow import WriteRefused
from ui import data, fmt, tables
from ui.auth import current_user
from ui.refusals import flash_write, write_refusal
from ui.resilience import guarded_callback
from ui.state import t

HISTORY_COLUMNS = [
    ("requested_at", "wb.ext.col.requested_at", "datetime", {"format": "YYYY-MM-DD HH:mm"}),
    ("asked", "wb.ext.col.days", "text"),
    ("reason", "wb.ext.col.reason", "text", {"width": "medium"}),
    ("requested_by", "wb.ext.col.requested_by", "text"),
    ("status", "wb.ext.col.status", "text", {"labels": "wb.ext.status"}),
    ("decided_by", "wb.ext.col.decided_by", "text"),
    ("decided_at", "wb.ext.col.decided_at", "datetime", {"format": "YYYY-MM-DD HH:mm"}),
    ("decision_note", "wb.ext.col.note", "text"),
]


def _ts(x) -> str:
    return "—" if x is None or pd.isna(x) else pd.Timestamp(x).strftime("%Y-%m-%d %H:%M")


def _asked(days, kind) -> str:
    return t(f"wb.ext.kind.{kind}.n", n=int(days))


def extensions_section(case_no: str, status: str, user) -> None:
    """The section under the case's orders."""
    h = data.fresh(ext_q.case_extension_history, user, case_no)
    if h.due_at is None:
        return
    requester, decider = ext_w.may_request(user), ext_w.may_decide(user)
    if h.rows.empty and not (requester and status != "closed"):
        return
    st.markdown(f"**{t('wb.ext.title')}**")
    if h.original_due_at is not None and pd.Timestamp(h.original_due_at) != pd.Timestamp(h.due_at):
        st.caption(t("wb.ext.due.moved", original=_ts(h.original_due_at), due=_ts(h.due_at)))
    else:
        st.caption(t("wb.ext.due.same", due=_ts(h.due_at)))
    if not h.rows.empty:
        rows = h.rows.assign(asked=[_asked(d, k) for d, k in zip(h.rows["days"], h.rows["day_kind"])])
        tables.show(rows, HISTORY_COLUMNS, width="stretch")
        me = user.username or user.name if user is not None else None
        for _, r in h.rows.iterrows():
            eid = r["extension_id"]
            if decider and r["status"] == "requested" and r["requested_by_user"] != me:
                c = st.columns([3, 1, 1], vertical_alignment="bottom")
                c[0].text_input(t("wb.ext.decision_note", id=eid), max_chars=MAX_REASON_LENGTH,
                                key=f"ext_note_{eid}")
                c[1].button(t("wb.ext.approve"), key=f"ext_approve_{eid}", on_click=_decide,
                            args=(eid, True), icon=":material/check:", type="primary",
                            width="stretch")
                c[2].button(t("wb.ext.refuse"), key=f"ext_refuse_{eid}", on_click=_decide,
                            args=(eid, False), icon=":material/block:", width="stretch")
            elif r["status"] in ("approved", "refused") and decider and r["decided_by_user"] == me:
                st.button(t("wb.ext.withdraw", id=eid), key=f"ext_withdraw_{eid}", on_click=_withdraw,
                          args=(eid,), icon=":material/undo:")
    if requester and status != "closed" and not (h.rows["status"] == "requested").any():
        request_form(case_no)


@guarded_callback  # a database failure here gets the app's own message (ui/resilience.py)
def _decide(eid: str, approve: bool) -> None:
    flash_write(ext_w.decide_extension, eid, approve, st.session_state.get(f"ext_note_{eid}", ""),
                success=t("wb.ext.approved" if approve else "wb.ext.refused", id=eid))


@guarded_callback
def _withdraw(eid: str) -> None:
    flash_write(ext_w.withdraw_decision, eid, success=t("wb.ext.withdrawn", id=eid))


def request_form(case_no: str) -> None:
    with st.form(f"ext_{case_no}", clear_on_submit=False, border=True):
        st.markdown(f"**{t('wb.ext.request.title')}**")
        c = st.columns([1, 2])
        kind = c[1].segmented_control(t("wb.ext.kind"), EXTENSION_KINDS, default="working_days", required=True,
                                      format_func=lambda k: t(f"wb.ext.kind.{k}"), key=f"ext_kind_{case_no}")
        days = c[0].number_input(t("wb.ext.days"), min_value=0, max_value=max(MAX_DAYS.values()), value=None,
                                 step=1, key=f"ext_days_{case_no}", placeholder=t("wb.ext.days.placeholder"))
        reason = st.text_area(t("wb.ext.reason"), max_chars=MAX_REASON_LENGTH, key=f"ext_reason_{case_no}",
                              placeholder=t("wb.ext.reason.placeholder"))
        if st.form_submit_button(t("wb.ext.submit"), icon=":material/more_time:", type="primary"):
            try:
                eid = data.write(ext_w.request_extension, current_user(),
                                 ExtensionRequest(case_no, None if days is None else int(days), kind or "",
                                                  reason or ""))
            except WriteRefused as e:
                st.error(t("wb.order.refused", reason=write_refusal(e)), icon=":material/block:")
            else:
                st.toast(t("wb.ext.requested", id=fmt.plain(eid)), icon=":material/check_circle:")
                for k in (f"ext_kind_{case_no}", f"ext_days_{case_no}", f"ext_reason_{case_no}"):
                    st.session_state.pop(k, None)
                st.rerun()
