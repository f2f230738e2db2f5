"""重复件与积案 — repeat cases proposed by `python -m data_access duplicates` (core/duplicates.py) beside their
primary, to confirm or reject (writes/duplicates.py, audited and reversible); and the chronic lists: places and
reporters with many cases in the last 90 days, matters reported again after closing."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from data_access.core.access import may_write
from data_access.core.metrics import CHRONIC_DAYS, CHRONIC_MIN_CASES, DUP_MIN_MATTER, DUP_MIN_SCORE, DUP_WINDOW_DAYS
from data_access.queries.supervision import duplicates as dq
from data_access.writes import duplicates as dw
from data_access.writes.workflow import WriteRefused
from ui import data, fmt, tables
from ui.auth import current_user
from ui.resilience import guarded_callback
from ui.state import lang, t
from ui.supervision.case_lists import case_columns, case_table

FLASH = "dup_flash"
PLACE_COLUMNS = [("name", "dup.col.place", "text"), ("code", "dup.col.code", "text"),
                 ("cases", "dup.col.cases", "int")]
REPORTER_COLUMNS = [("phone", "dup.col.phone", "text"), ("cases", "dup.col.cases", "int"),
                    ("last_reported", "dup.col.last_reported", "datetime")]
AGAIN_COLUMNS = ["case_no", "title", "category", ("grid_code", "dup.col.grid", "text"), "closed_at"]
DECIDED_COLUMNS = [("group_id", "dup.col.group", "int"), ("case_no", "dup.col.primary", "case"),
                   ("dup_case_no", "dup.col.duplicate", "case"), ("score", "dup.col.score", "num2"),
                   ("decided_by", "dup.col.decided_by", "text"), ("decided_at", "dup.col.decided_at", "datetime"),
                   ("note", "dup.col.note", "text")]


def _refusal(e: WriteRefused) -> str:
    key = f"write.{e.reason}"
    text = t(key, **{k: str(v) for k, v in e.params.items()}) if e.reason else str(e)
    return text if text != key else str(e)


@guarded_callback
def _decide(action: str, group_id: int) -> None:
    note = st.session_state.get(f"dup_note_{group_id}", "")
    try:
        if action == "confirm":
            data.write(dw.confirm_group, current_user(), group_id, note)
        elif action == "reject":
            data.write(dw.reject_group, current_user(), group_id, note)
        else:
            data.write(dw.undo_decision, current_user(), group_id)
    except WriteRefused as e:
        st.session_state[FLASH] = ("error", t("dup.refused", reason=_refusal(e)))
    else:
        st.session_state[FLASH] = ("success", t(f"dup.done.{action}", id=group_id))


def _case_card(row: pd.Series, prefix: str, title_key: str, cat_name: dict) -> None:
    with st.container(border=True):
        st.markdown(f"**{t(title_key)}** · {fmt.plain(row[prefix + 'case_no'])}")
        st.markdown(f"**{fmt.plain(row[prefix + 'title'])}**")
        if row[prefix + "description"]:
            st.text(row[prefix + "description"])
        st.caption(t("dup.case.facts", grid=fmt.plain(row[prefix + "grid_name"]),
                     source=t(f"enum.source.{row[prefix + 'source']}"),
                     status=t(f"enum.status.{row[prefix + 'status']}"),
                     at=pd.Timestamp(row[prefix + "reported_at"]).strftime("%Y-%m-%d %H:%M"),
                     phone=fmt.plain(row[prefix + "reporter_phone"] or "—")))


def _proposed(scope, user, cat_name: dict) -> None:
    st.subheader(t("dup.proposed"))
    st.caption(t("dup.proposed.help", days=DUP_WINDOW_DAYS, score=f"{DUP_MIN_SCORE:g}", matter=f"{DUP_MIN_MATTER:g}"))
    rows = data.get(dq.groups, scope, user, "proposed")
    if rows.empty:
        st.info(t("dup.proposed.none"))
        return
    # the options are the labels themselves (a format_func's labels go stale across runs: AppTest, a rerun after a
    # write); each names its pair, so they are unique
    labels = {t("dup.pick", score=f"{r.member_score:.2f}", primary=r.case_no, dup=r.dup_case_no,
                title=r.title, caller=t("dup.same_caller") if r.same_caller else "").strip(): i
              for i, r in rows.iterrows()}
    picked = st.selectbox(t("dup.pick.label"), list(labels), key="dup_pick")
    row = rows.loc[labels.get(picked, next(iter(labels.values())))]
    left, right = st.columns(2)
    with left:
        _case_card(row, "", "dup.primary", cat_name)
    with right:
        _case_card(row, "dup_", "dup.duplicate", cat_name)
    gid = int(row["group_id"])
    members = rows[rows["group_id"] == gid]
    st.caption(t("dup.group.line", id=gid, n=len(members) + 1, score=f"{row['score']:.2f}",
                 cases=", ".join([row["case_no"], *members["dup_case_no"]])))
    if may_write(user):
        c = st.columns([4, 1, 1], vertical_alignment="bottom")
        c[0].text_input(t("dup.note"), key=f"dup_note_{gid}", max_chars=dw.MAX_NOTE_LENGTH)
        c[1].button(t("dup.confirm"), key="dup_confirm", on_click=_decide, args=("confirm", gid),
                    icon=":material/link:", type="primary", width="stretch")
        c[2].button(t("dup.reject"), key="dup_reject", on_click=_decide, args=("reject", gid),
                    icon=":material/link_off:", width="stretch")
    else:
        st.caption(t("dup.no_role"))


def _decided(scope, user) -> None:
    st.subheader(t("dup.decided"))
    for state in ("confirmed", "rejected"):
        rows = data.get(dq.groups, scope, user, state)
        st.markdown(f"**{t(f'dup.state.{state}')}** · {fmt.count(rows['group_id'].nunique(), lang())}")
        if rows.empty:
            continue
        tables.show(rows, DECIDED_COLUMNS)
        if may_write(user):
            ids = sorted(set(int(g) for g in rows["group_id"]))
            c = st.columns([2, 1, 3], vertical_alignment="bottom")
            gid = c[0].selectbox(t("dup.undo.pick"), ids, key=f"dup_undo_pick_{state}")
            if gid is not None:
                c[1].button(t("dup.undo"), key=f"dup_undo_{state}", on_click=_decide, args=("undo", gid),
                            icon=":material/undo:", width="stretch")


def _chronic(scope, user, now) -> None:
    st.subheader(t("dup.chronic", days=CHRONIC_DAYS))
    st.caption(t("dup.chronic.help", days=CHRONIC_DAYS, n=CHRONIC_MIN_CASES))
    left, right = st.columns(2)
    for col, level in ((left, "grid"), (right, "village")):
        with col:
            st.markdown(f"**{t(f'dup.chronic.{level}')}**")
            places = data.get(dq.chronic_places, scope, now, level)
            if places.empty:
                st.caption(t("dup.chronic.none"))
            else:
                tables.show(places, PLACE_COLUMNS)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('dup.reporters')}**")
        st.caption(t("dup.reporters.help"))
        reporters = data.get(dq.frequent_reporters, scope, user, now)
        if reporters.empty:
            st.caption(t("dup.chronic.none"))
        else:
            tables.show(reporters, REPORTER_COLUMNS)
    with right:
        st.markdown(f"**{t('dup.again')}**")
        st.caption(t("dup.again.help"))
        again = data.get(dq.reported_again, scope, now)
        if again.empty:
            st.caption(t("dup.chronic.none"))
        else:
            case_table(again, AGAIN_COLUMNS)


def show(f, now) -> None:
    user = current_user()
    scope = f.scope
    st.caption(t("dup.help"))
    flash = st.session_state.pop(FLASH, None)
    if flash:
        (st.error if flash[0] == "error" else st.success)(flash[1])
    c = data.get(dq.counts, scope)
    cols = st.columns(3)
    cols[0].metric(t("dup.m.proposed"), fmt.count(c.proposed, lang()), help=t("dup.m.proposed.help"), border=True)
    cols[1].metric(t("dup.m.matters"), fmt.count(c.confirmed, lang()),
                   help=t("dup.m.matters.help", cases=c.confirmed_cases, n=c.confirmed), border=True)
    cols[2].metric(t("dup.m.duplicates"), fmt.count(c.duplicates, lang()), help=t("dup.m.duplicates.help"),
                   border=True)
    st.caption(t("dup.counts_once", cases=c.confirmed_cases, matters=c.confirmed, dups=c.duplicates))
    cat_name = data.category_labels()
    _proposed(scope, user, cat_name)
    _decided(scope, user)
    _chronic(scope, user, now)


__all__ = ["show", "case_columns"]
