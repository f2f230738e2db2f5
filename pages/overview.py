"""总览 — the Overview cockpit: headline numbers, trend, where cases were settled,
the ranking of the selected region's children (click to drill down) and the county map.

It refreshes itself every GOV_REFRESH_SECONDS (default 60 s)."""
from __future__ import annotations

import streamlit as st

from data_access.core.geo import has_shapes
from data_access.core.regions import ancestor_code, map_city
from data_access.queries import overview
from data_access.queries import warnings as warning_queries
from ui import charts, data, fmt, frame, lists
from ui.frame import current_filter, page_header
from ui.setup import friendly_errors
from ui.state import lang, t

MAP_MEASURES = {  # measure: (title key, tooltip format, unit key)
    "closure_rate": ("ov.rank.closure_rate", ".2%", "unit.pct"),
    "on_time_rate": ("ov.rank.on_time_rate", ".2%", "unit.pct"),
    "cases_per_1000": ("ov.rank.per_1000", ".1f", "unit.cases_per_1000"),
    "open_overdue": ("ov.rank.open_overdue", ",d", "unit.cases"),
}


OUTCOME_CARDS = ("response_rate", "resolution_rate", "satisfaction_rate")   # the 三率 (core/metrics.py)


def kpi_cards(cur, prev) -> None:
    lg = lang()
    p = prev
    row1 = st.columns(4)
    d = fmt.delta_count(cur.cases, p and p.cases, lg)
    row1[0].metric(t("ov.kpi.cases"), fmt.count(cur.cases, lg), d, **fmt.delta_style(d, "off"), help=t("help.cases"),
                   border=True)
    d = fmt.delta_count(cur.closed, p and p.closed, lg)
    row1[1].metric(t("ov.kpi.closed"), fmt.count(cur.closed, lg), d, **fmt.delta_style(d, "off"),
                   help=t("help.closed"), border=True)
    d = fmt.delta_pct_points(cur.closure_rate, p and p.closure_rate)
    row1[2].metric(t("ov.kpi.closure_rate"), fmt.pct(cur.closure_rate), d, **fmt.delta_style(d),
                   help=t("help.closure_rate"), border=True)
    d = fmt.delta_pct_points(cur.on_time_rate, p and p.on_time_rate)
    row1[3].metric(t("ov.kpi.on_time_rate"), fmt.pct(cur.on_time_rate), d, **fmt.delta_style(d),
                   help=t("help.on_time_rate"), border=True)
    row2 = st.columns(4)
    # Open and overdue are states as of now, not flows of the period: no comparison with the previous period.
    row2[0].metric(t("ov.kpi.open"), fmt.count(cur.open, lg), help=t("help.open"), border=True)
    row2[1].metric(t("ov.kpi.open_overdue"), fmt.count(cur.open_overdue, lg), help=t("help.open_overdue"), border=True)
    row2[2].metric(t("ov.kpi.median_hours"), fmt.hours(cur.median_hours_to_close, lg), help=t("help.median_hours"),
                   border=True)
    d = fmt.delta_pct_points(cur.on_the_spot_share, p and p.on_the_spot_share)
    row2[3].metric(t("ov.kpi.on_the_spot"), fmt.pct(cur.on_the_spot_share), d, **fmt.delta_style(d),
                   help=t("help.on_the_spot"), border=True)


def outcome_cards(cur, prev, f, now) -> None:
    """The 三率 with their change on the previous period, and the sibling average under each."""
    comp = data.get(overview.outcome_rates_vs_siblings, f, now)
    row3 = st.columns(4)
    for col, rate in zip(row3, OUTCOME_CARDS):
        value, before = getattr(cur, rate), getattr(prev, rate) if prev else None
        d = fmt.delta_pct_points(value, before)
        col.metric(t(f"ov.kpi.{rate}"), fmt.pct(value), d, **fmt.delta_style(d), help=t(f"help.{rate}"),
                   border=True)
        if comp.siblings:
            col.caption(t("ov.outcomes.vs", value=fmt.pct(comp.siblings_mean[rate])))
    with row3[3]:
        if comp.siblings:
            st.caption(t("ov.outcomes.siblings", n=len(comp.siblings)), help=t("help.siblings"))
        else:
            st.caption(t("ov.outcomes.no_siblings"), help=t("help.siblings"))
    st.caption(t("ov.kpi.delta_prev"))


def resolution_levels(f, now) -> None:
    levels = data.get(overview.closed_cases_by_resolution_level, f, now)
    st.subheader(t("ov.levels.title"))
    if levels["cases"].sum() == 0:
        st.info(t("ov.empty"))
        return
    share = dict(zip(levels["resolution_level"], levels["share"]))
    st.caption(t("ov.levels.caption",
                 village=fmt.pct(share["grid"] + share["village"]),
                 township=fmt.pct(share["grid"] + share["village"] + share["township"]),
                 upward=fmt.pct(share["county"] + share["city"])))
    charts.draw(charts.resolution_level_chart, levels)


def ranking_table(f, now) -> None:
    ranking = data.get(overview.child_region_ranking, f, now)
    if ranking.empty:
        return
    level = ranking["level"].iloc[0]
    st.subheader(t("ov.rank.title", level=t(f"level.{level}")))
    st.caption(t("ov.rank.hint"))
    view = ranking.assign(
        closure_rate=ranking["closure_rate"].astype(float) * 100,
        on_time_rate=ranking["on_time_rate"].astype(float) * 100,
    )
    lists.drill_table(
        view, f"rank_{f.region_code or 'root'}",
        column_order=["name", "cases", "closure_rate", "on_time_rate", "open_overdue", "cases_per_1000",
                      "median_hours_to_close"],
        column_config={
            "name": st.column_config.TextColumn(t("ov.rank.name")),
            "cases": st.column_config.NumberColumn(t("ov.rank.cases"), format="localized"),
            "closure_rate": st.column_config.NumberColumn(t("ov.rank.closure_rate"), format="%.1f%%"),
            "on_time_rate": st.column_config.NumberColumn(t("ov.rank.on_time_rate"), format="%.1f%%"),
            "open_overdue": st.column_config.NumberColumn(t("ov.rank.open_overdue"), format="localized"),
            "cases_per_1000": st.column_config.NumberColumn(t("ov.rank.per_1000"), format="%.1f"),
            "median_hours_to_close": st.column_config.NumberColumn(t("ov.rank.median_hours"), format="%.1f"),
        })


def county_map(f, now, tree) -> None:
    # The counties of the city the selection lies in, the selected county outlined; no map for a user whose
    # jurisdiction lies below the city (regions.map_city).
    city = map_city(tree, f.region_code, f.scope_code)
    if city is None:
        return
    counties = data.get(overview.child_region_ranking, f.with_(region_code=city), now)
    shapes = has_shapes(list(counties["code"]))
    st.subheader(t("ov.map.title", measure=t(MAP_MEASURES[st.session_state.get("map_measure") or "closure_rate"][0])))
    measure = st.segmented_control(
        t("ov.map.measure"), list(MAP_MEASURES), default="closure_rate", key="map_measure",
        format_func=lambda m: t(MAP_MEASURES[m][0]), required=True, wrap=True,  # never cut off in a narrow column
    ) or "closure_rate"
    label_key, num_fmt, unit_key = MAP_MEASURES[measure]
    if not shapes:
        st.info(t("ov.map.none"))
        return
    values = counties[["code", "name"]].assign(value=counties[measure].astype(float))
    county = ancestor_code(tree, f.region_code, "county")
    charts.draw(charts.county_map, values, t(label_key), num_fmt, county, unit_key)
    st.caption(t("ov.map.attribution"))


@st.fragment(run_every=data.REFRESH_S)
def cockpit() -> None:
    with friendly_errors():
        _cockpit()


def _cockpit() -> None:
    f = current_filter()
    now = data.now_bucket()
    if frame.no_regions():
        return
    tree = data.tree()
    new_warnings = data.get(warning_queries.new_count, f.scope)
    if new_warnings:  # the early warnings of the selected region (pages/warnings.py)
        st.page_link("pages/warnings.py", label=t("ov.warnings.link", n=fmt.count(new_warnings, lang())),
                     icon=":material/crisis_alert:")
    cur, prev = data.get(overview.case_kpis_with_previous, f, now)
    if cur.cases == 0:
        st.info(t("ov.empty"))
        ranking_table(f, now)
        return
    kpi_cards(cur, prev)
    outcome_cards(cur, prev, f, now)
    left, right = st.columns([3, 2])
    with left:
        st.subheader(t("ov.trend.title"))
        charts.draw(charts.monthly_status_chart, data.get(overview.monthly_cases_by_status, f, now))
    with right:
        resolution_levels(f, now)
    left, right = st.columns([3, 2])
    with left:
        ranking_table(f, now)
    with right:
        county_map(f, now, tree)


page_header("overview", "ov.title", "app.subtitle")
frame.first_visit_tip()
cockpit()
