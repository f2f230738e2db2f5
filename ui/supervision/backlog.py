"""积压 — the open cases now, whatever their report date: how old, how far past due, where and of which kind."""
from __future__ import annotations

import streamlit as st

from data_access.queries.supervision import backlog
from data_access.queries.supervision.backlog import AGE_KEYS, OVERDUE_KEYS
from ui import charts, data, fmt, lists, tables
from ui.state import lang, t


def _columns(first: tables.Column) -> list[tables.Column]:
    """A backlog table whose first column names the row (a region, a category)."""
    return [first,
            ("open", "sc.backlog.open", "int"),
            ("open_overdue", "sc.backlog.open_overdue", "int"),
            ("share_overdue", "sc.backlog.share_overdue", "pct"),
            ("oldest_days", "sc.backlog.oldest_days", "num0")]


CHILD_COLUMNS = _columns(("name", "ov.rank.name", "text"))


def show(f, now) -> None:
    age = data.get(backlog.open_backlog_by_age, f, now)
    over = data.get(backlog.open_backlog_by_overdue, f, now)
    by_category = data.get(backlog.open_backlog_by_category, f, now)
    total, overdue = int(age["cases"].sum()), int(age["overdue"].sum())
    lg = lang()
    st.caption(t("sc.backlog.caption"))
    c = st.columns(4)
    c[0].metric(t("sc.backlog.open"), fmt.count(total, lg), help=t("sc.backlog.open.help"), border=True)
    c[1].metric(t("sc.backlog.open_overdue"), fmt.count(overdue, lg), help=t("sc.backlog.open_overdue.help"),
                border=True)
    c[2].metric(t("sc.backlog.share_overdue"), fmt.pct(overdue / total if total else None),
                help=t("sc.backlog.share_overdue.help"), border=True)
    # every open case of the selection has a category (a grid has no child regions to read it from)
    oldest = by_category["oldest_days"].max() if not by_category.empty else None
    c[3].metric(t("sc.backlog.oldest"), fmt.days(oldest, lg), help=t("sc.backlog.oldest.help"), border=True)
    if total == 0:
        st.info(t("sc.backlog.none"))
    else:
        left, right = st.columns(2)
        with left:
            st.subheader(t("sc.backlog.by_age"))
            charts.draw(charts.backlog_age_chart, age, [t(f"backlog.age.{k}") for k in AGE_KEYS])
        with right:
            st.subheader(t("sc.backlog.by_overdue"))
            charts.draw(charts.backlog_overdue_chart, over, [t(f"backlog.overdue.{k}") for k in OVERDUE_KEYS])
    st.subheader(t("sc.backlog.trend"))
    trend = data.get(backlog.overdue_backlog_trend, f, 12, now)
    if trend["open_overdue"].sum():
        charts.draw(charts.overdue_trend_chart, trend)
        st.caption(t("sc.backlog.trend.caption"))
    else:  # a line at zero reads as an empty chart
        st.info(t("empty.sc.trend"))
    left, right = st.columns(2)
    with left:
        child = data.get(backlog.open_backlog_by_child_region, f, now)
        if not child.empty:
            st.subheader(t("sc.backlog.by_child", level=t(f"level.{child['level'].iloc[0]}")))
            st.caption(t("ov.rank.hint"))
            lists.drill_table(tables.prepare(child, CHILD_COLUMNS), f"sc_child_{f.region_code or 'root'}",
                              **tables.options(CHILD_COLUMNS, child))
    with right:
        if not by_category.empty:
            st.subheader(t("sc.backlog.by_category"))
            tables.show(by_category, _columns(("category", "wb.col.category", "text",
                                               {"labels": data.category_labels()})))
