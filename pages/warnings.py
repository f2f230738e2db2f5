"""风险预警 — the early warnings of the selected region, most severe first: each with what was seen against what
was expected and since when, its daily series with the usual range, a link to the cases behind it in the
workbench, and the state staff set (new → acknowledged → handled or false alarm, with a note).

The warnings are computed after each load and sync and stored (data_access/core/warnings.py); this page reads
them (data_access/queries/warnings.py) and writes a state (data_access/writes/warnings.py)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from data_access.core.access import may_write
from data_access.core.warnings import STATES
from data_access.queries import warnings as wq
from data_access.writes import warnings as ww
from data_access.writes.workflow import WriteRefused
from ui import charts, data, fmt, tables, urlstate
from ui.auth import current_user
from ui.frame import current_filter, page_header
from ui.setup import friendly_errors
from ui.state import lang, t

COLUMNS = [
    ("severity", "wn.col.severity", "num1"),
    ("kind", "wn.col.kind", "text", {"labels": "wn.kind"}),
    ("region_name", "wn.col.place", "text"),
    ("level", "wn.col.level", "text", {"labels": "level"}),
    ("category_name", "wn.col.category", "text"),
    ("first_day", "wn.col.first_day", "date"),
    ("last_day", "wn.col.last_day", "date"),
    ("observed", "wn.col.observed", "num0"),
    ("expected", "wn.col.expected", "num1"),
    ("state", "wn.col.state", "text", {"labels": "wn.state"}),
]
PARAMS = [urlstate.Param("state", "list", STATES, list(wq.OPEN_STATES), widget="wn_states"),
          urlstate.Param("w", "text", default="", widget="wn_pick")]


def _num(x: float) -> str:
    return fmt.count(int(round(x)), lang()) if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def explain(w: pd.Series) -> str:
    """What was seen against what was expected, in words (the catalog's sentence of the warning's kind)."""
    return t(f"wn.explain.{w['kind']}", place=fmt.plain(w["region_name"]), category=fmt.plain(w["category_name"]),
             first=f"{w['first_day']:%Y-%m-%d}", last=f"{w['last_day']:%Y-%m-%d}", observed=_num(w["observed"]),
             expected=_num(w["expected"]), lower=_num(w["lower"] if pd.notna(w["lower"]) else 0),
             upper=_num(w["upper"] if pd.notna(w["upper"]) else 0))


def cases_link(w: pd.Series) -> None:
    """The workbench with the warning's place, category and days as its filter."""
    first, last = wq.case_period(w["first_day"], w["last_day"])
    query = {"region": w["region_code"], "period": "custom", "from": first.isoformat(), "to": last.isoformat()}
    if w["category"]:
        query["cat"] = w["category"]
    if w["kind"] in ("backlog", "overdue"):  # the open (overdue) cases of the place, whenever reported
        query = {"region": w["region_code"], "period": "all", "status": "reported,accepted,dispatched,handling"}
        if w["kind"] == "overdue":
            query = {"region": w["region_code"], "period": "all", "overdue": "open"}
    st.page_link("pages/cases.py", label=t("wn.cases"), icon=":material/assignment:", query_params=query)


def state_form(w: pd.Series) -> None:
    st.markdown(f"**{t('wn.state.title')}** · {t('wn.state.current', state=t('wn.state.' + w['state']))}")
    if w["state_at"] is not None and pd.notna(w["state_at"]):
        st.caption(t("wn.state.by", by=fmt.plain(w["state_by"] or ""), at=f"{w['state_at']:%Y-%m-%d %H:%M}",
                     note=fmt.plain(w["state_note"] or "—")))
    steps = ww.NEXT_STATES[w["state"]]
    if not steps:
        st.caption(t("wn.state.final"))
        return
    if not may_write(current_user()):
        st.caption(t("wn.state.readonly"))
        return
    with st.form(f"wn_state_{w['id']}", border=True):
        nxt = st.segmented_control(t("wn.state.next"), steps, default=steps[0], required=True,
                                   format_func=lambda s: t(f"wn.state.{s}"), key=f"wn_next_{w['id']}")
        note = st.text_area(t("wn.state.note"), max_chars=ww.MAX_NOTE_LENGTH, key=f"wn_note_{w['id']}")
        if st.form_submit_button(t("wn.state.submit"), type="primary"):
            try:
                data.write(ww.set_state, current_user(), int(w["id"]), nxt or steps[0], note or "")
            except WriteRefused as e:
                reason = t(f"wn.refused.{e.reason}", **{k: str(v) for k, v in e.params.items()})
                st.error(t("wn.refused", reason=reason), icon=":material/block:")
            else:
                st.toast(t("wn.state.done", state=t(f"wn.state.{nxt or steps[0]}")), icon=":material/check_circle:")
                st.rerun()


def detail(w: pd.Series, f) -> None:
    st.markdown(explain(w))
    m = st.columns(3)
    m[0].metric(t("wn.m.observed"), _num(w["observed"]), help=t("wn.help.observed"), border=True)
    m[1].metric(t("wn.m.expected"), _num(w["expected"]), help=t("wn.help.expected"), border=True)
    m[2].metric(t("wn.m.since"), f"{w['first_day']:%Y-%m-%d}", help=t("wn.help.since"), border=True)
    series = data.get(wq.warning_series, f.scope, int(w["id"]))
    if series.empty:
        st.caption(t("wn.chart.none"))
    else:
        st.subheader(t("wn.chart.title"))
        charts.draw(charts.warning_series_chart, series)
    cases_link(w)
    state_form(w)


def main() -> None:
    f = current_filter()
    urlstate.seed(PARAMS)
    states = st.pills(t("wn.f.states"), STATES, selection_mode="multi", key="wn_states",
                      format_func=lambda s: t(f"wn.state.{s}"))
    counts, lg = data.get(wq.state_counts, f.scope), lang()
    for col, state in zip(st.columns(len(counts)), counts):
        col.metric(t(f"wn.state.{state}"), fmt.count(counts[state], lg), help=t(f"wn.help.state.{state}"),
                   border=True)
    as_of = data.get(wq.as_of_day)
    if as_of is None:
        urlstate.publish(PARAMS)
        st.info(t("wn.never"), icon=":material/info:")
        return
    found = data.get(wq.warnings_of, f.scope, tuple(states or ()))
    if found.empty:
        urlstate.publish(PARAMS)
        st.info(t("wn.none"), icon=":material/info:")
        return
    cat_name = data.category_labels()
    found = found.assign(category_name=[cat_name.get(c, c) if c else t("wn.all_categories")
                                        for c in found["category"]])
    st.caption(t("wn.count", n=fmt.count(len(found), lang())) + " "
               + t("wn.as_of", day=f"{as_of:%Y-%m-%d}", at=f"{found['computed_at'].max():%Y-%m-%d %H:%M}"))
    tables.show(found, COLUMNS, width="stretch", hide_index=True)
    ids = [str(i) for i in found["id"]]
    if st.session_state.get("wn_pick") not in ids:
        st.session_state["wn_pick"] = ids[0]
    label = {str(r.id): f"{t('wn.kind.' + r.kind)} · {r.region_name} · {r.category_name} · {r.first_day:%m-%d}"
             for r in found.itertuples()}
    pick = st.selectbox(t("wn.pick"), ids, key="wn_pick", format_func=lambda i: label.get(i, i))
    urlstate.publish(PARAMS)
    detail(found[found["id"].astype(str) == pick].iloc[0], f)


page_header("warnings", "wn.title", "wn.caption")
with friendly_errors():
    main()
