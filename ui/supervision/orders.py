"""督办成效 — what supervision orders achieved, by grade; cases supervised again and again; orders past their
deadline."""
from __future__ import annotations

import streamlit as st

from data_access.queries.supervision import effect
from ui import capped, charts, data, fmt, tables
from ui.state import lang, t
from ui.supervision.case_lists import capped_case_table

GRADE = ("grade", "sup_eff.col.grade", "text", {"labels": "enum.grade"})
GRADE_COLUMNS = [
    ("grade", "sup_eff.col.grade", "text", {"labels": "enum.grade", "pinned": True}),
    ("orders", "sup_eff.col.orders", "int"),
    ("cases", "sup_eff.col.cases", "int"),
    ("closed_after", "sup_eff.col.closed_after", "int"),
    ("median_hours_to_close", "sup_eff.col.median_hours_to_close", "num1"),
    ("mean_hours_to_close", "sup_eff.col.mean_hours_to_close", "num1"),
    ("still_open", "sup_eff.col.still_open", "int"),
    ("past_deadline", "sup_eff.col.past_deadline", "int"),
    ("share_past_deadline", "sup_eff.col.share_past_deadline", "pct"),
]
ISSUER_COLUMNS = [("issuer", "sup_eff.col.issuer", "text", {"labels": "enum.issuer", "pinned": True}),
                  *GRADE_COLUMNS[1:]]
UPGRADE_COLUMNS = [("rule_id", "rules.col.rule_id", "int", {"pinned": True}), ("rule", "rules.col.name", "text"),
                   ("upgrades", "sup_eff.col.upgrades", "int"), ("closed_after", "sup_eff.col.closed_after", "int"),
                   ("still_open", "sup_eff.col.still_open", "int")]
REPEAT_COLUMNS = ["case_no", "title", ("orders", "sup_eff.col.orders", "number"), GRADE,
                  ("first_issued", "sup_eff.col.first_issued", "datetime"),
                  ("last_issued", "sup_eff.col.last_issued", "datetime"), "status"]
PAST_COLUMNS = ["case_no", "title", GRADE,
                ("issued_at", "wb.orders.issued_at", "datetime"),
                ("deadline", "wb.orders.deadline", "datetime"),
                ("resolved_at", "sc.col.resolved_at", "datetime"),
                ("state", "sup_eff.col.state", "text", {"labels": "sup_eff.state"}),
                ("days_past", "sup_eff.col.days_past", "num1"),
                ("township_name", "level.township", "text")]


def show(f, now) -> None:
    st.caption(t("sup_eff.help"))
    grades, issuers = data.get(effect.supervision_effect, f, now)
    if grades["orders"].sum() == 0:
        st.info(t("sc.orders.none"))
        return
    tables.show(grades, GRADE_COLUMNS)
    left, _ = st.columns([2, 3])
    with left:
        charts.draw(charts.grade_hours_chart, grades)
    st.subheader(t("sup_eff.by_issuer"))
    st.caption(t("sup_eff.by_issuer.help"))
    tables.show(issuers, ISSUER_COLUMNS)
    upgrades = data.get(effect.rule_upgrades_by_rule, f, now)
    if len(upgrades):
        st.subheader(t("sup_eff.upgrades"))
        st.caption(t("sup_eff.upgrades.help"))
        tables.show(upgrades, UPGRADE_COLUMNS)
    repeat = capped.fetch(effect.repeat_orders, f, now=now, rows=effect.REPEAT_ROWS)
    st.subheader(t("sup_eff.repeat") + f" · {fmt.count(repeat.total, lang())}")
    st.caption(t("sup_eff.repeat.help"))
    if repeat.total == 0:
        st.info(t("sc.orders.no_repeat"))
    else:
        capped_case_table(repeat, REPEAT_COLUMNS, t("sup_eff.repeat"), "sc_repeat")
    st.subheader(t("sup_eff.past"))
    st.caption(t("sup_eff.past.help"))
    past = capped.fetch(effect.orders_past_deadline, f, now, rows=effect.PAST_ROWS)
    if past.total == 0:
        st.info(t("sc.orders.none_past"))
        return
    capped_case_table(past, PAST_COLUMNS, t("sup_eff.past"), "sc_past")
