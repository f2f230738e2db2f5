"""网格力量 — grid staffing: grids and staff by role for the region and each child region (click to drill down),
the county map, the "3+1+N" structure check with its gap lists, grid workers' workload with the overloaded and
quiet grids, finding a grid, and a grid's card (when the selected region is a grid or micro-grid).

The view is chosen in the URL (``?view=…``); the workload thresholds are in the URL too.
"""
from __future__ import annotations

import streamlit as st

from data_access.core.contract import STAFF_ROLES
from data_access.core.geo import has_shapes
from data_access.core.regions import ancestor_code, map_city
from data_access.queries import staffing
from data_access.queries.staffing import FLAGS, GAP_CHECKS
from ui import cards, charts, data, fmt, lists, tables, urlstate
from ui.auth import current_user
from ui.frame import current_filter, no_regions, page_header
from ui.setup import friendly_errors
from ui.state import lang, t
from ui.views import show_view, view_icons

VIEW_ICONS = view_icons("staffing")  # ui/views.py: the one list of views
VIEWS = tuple(VIEW_ICONS)
OVERLOAD_CHOICES = tuple(f"{x:g}" for x in staffing.OVERLOAD_MULTIPLES)  # "1.5", "2", "3"
QUIET_CHOICES = tuple(f"{x:g}" for x in staffing.QUIET_FRACTIONS)  # "0.1", "0.25", "0.5"
MAP_MEASURES = {"residents_per_worker": ("stf.kpi.residents_per_worker", ",.0f", "unit.residents"),
                "coverage": ("stf.kpi.coverage", ".1%", "unit.pct"),
                "party_share": ("stf.kpi.party_share", ".1%", "unit.pct")}  # (title key, format, unit key)
P = urlstate.Param
PARAMS = [
    P("view", "choice", VIEWS, "regions", widget="stf_view"),
    P("over", "choice", OVERLOAD_CHOICES, f"{staffing.DEFAULT_OVERLOAD_MULTIPLE:g}", widget="stf_over"),
    P("quiet", "choice", QUIET_CHOICES, f"{staffing.DEFAULT_QUIET_FRACTION:g}", widget="stf_quiet"),
    P("q", "text", None, "", widget="stf_q"),
]

# The tables (ui/tables.py): the child regions, a 3+1+N gap list's places, the workload lists, what was found.
REGIONS = [("name", "stf.col.name", "text"), ("grids", "stf.col.grids", "int"),
           ("micro_grids", "stf.col.micro_grids", "int"), ("population", "stf.col.population", "int"),
           *[(r, f"enum.role.{r}", "int") for r in STAFF_ROLES],
           ("coverage", "stf.col.coverage", "pct", {"help": "help.stf.coverage"}),
           ("residents_per_worker", "stf.col.residents_per_worker", "num0", {"help": "help.stf.residents_per_worker"}),
           ("party_share", "stf.col.party_share", "pct")]
GAP_PLACES = [(c, f"stf.col.{c}", "text") for c in staffing.GAP_PLACES]
WORKLOAD = [("name", "level.grid", "text"), ("village", "stf.col.village", "text"),
            ("township", "stf.col.township", "text"), ("workers", "stf.col.workers", "number"),
            ("cases", "stf.col.cases", "int"), ("patrol", "stf.col.patrol", "int"),
            ("workload", "stf.col.workload", "num2"), ("expected", "stf.col.expected", "num1")]
FOUND = [("name", "stf.col.name", "text"), ("level", "stf.col.level", "text"), ("village", "stf.col.village", "text"),
         ("township", "stf.col.township", "text"), ("matched", "stf.find.matched", "text")]


def kpis(f) -> None:
    s = data.get(staffing.staffing_summary, f.scope)
    lg = lang()
    c = st.columns(6)
    c[0].metric(t("stf.kpi.grids"), fmt.count(s.grids, lg), help=t("help.stf.grids"), border=True)
    c[1].metric(t("stf.kpi.micro_grids"), fmt.count(s.micro_grids, lg), help=t("help.stf.micro_grids"), border=True)
    c[2].metric(t("stf.kpi.workers"), fmt.count(s.grid_worker, lg), help=t("help.stf.workers"), border=True)
    c[3].metric(t("stf.kpi.coverage.card"), fmt.pct(s.coverage), help=t("help.stf.coverage"), border=True)
    c[4].metric(t("stf.kpi.residents_per_worker.card"), fmt.count(round(s.residents_per_worker), lg)
                if s.residents_per_worker is not None else "—", help=t("help.stf.residents_per_worker"), border=True)
    c[5].metric(t("stf.kpi.party_share"), fmt.pct(s.party_share), help=t("help.stf.party_share"), border=True)
    roles = " · ".join(f"{t(f'enum.role.{r}')} {fmt.count(getattr(s, r), lg)}" for r in STAFF_ROLES)
    st.caption(fmt.labelled(t("stf.roles"), roles, lg))


def regions_view(f) -> None:
    # the table takes the page's width (a column per role); the map sits below it
    table = data.get(staffing.staffing_by_child_region, f.scope)
    if not table.empty:
        level = table["level"].iloc[0]
        st.subheader(t("stf.rank.title", level=t(f"level.{level}")))
        st.caption(t("ov.rank.hint"))
        hidden = staffing.columns_without_meaning(level)
        lists.drill_table(table, f"stf_rank_{f.region_code or 'root'}",
                          columns=[c for c in REGIONS if c[0] not in hidden])
    left, _ = st.columns([3, 2])
    with left:
        county_map(f)


def county_map(f) -> None:
    tree = data.tree()
    city = map_city(tree, f.region_code, f.scope_code)  # no map for a jurisdiction below the city
    if city is None:
        return
    counties = data.get(staffing.staffing_by_child_region, f.scope.at(city))
    shapes = has_shapes(list(counties["code"]))
    measure = st.session_state.get("stf_map") or "residents_per_worker"
    st.subheader(t("stf.map.title", measure=t(MAP_MEASURES[measure][0])))
    measure = st.segmented_control(t("ov.map.measure"), list(MAP_MEASURES), default="residents_per_worker",
                                   key="stf_map", format_func=lambda m: t(MAP_MEASURES[m][0]),
                                   required=True) or "residents_per_worker"
    if not shapes:
        st.info(t("ov.map.none"))
        return
    label_key, num_fmt, unit_key = MAP_MEASURES[measure]
    values = counties[["code", "name"]].assign(value=counties[measure].astype(float))
    charts.draw(charts.county_map, values, t(label_key), num_fmt, ancestor_code(tree, f.region_code, "county"),
                unit_key)
    st.caption(t("ov.map.attribution"))


def structure_view(f) -> None:
    st.subheader(t("stf.gaps.title"))
    st.caption(t("stf.gaps.caption"))
    gaps = data.get(staffing.structure_gaps, f.scope)
    counts, lg = staffing.gap_counts(gaps), lang()
    cols = [c for _ in range(2) for c in st.columns(3)]  # two rows of three: whole titles on a laptop screen
    for col, check in zip(cols, GAP_CHECKS):
        col.metric(t(f"stf.gapcard.{check}"), fmt.count(counts[check], lg), help=t(f"help.stf.gap.{check}"),
                   border=True)
    for check, level in GAP_CHECKS.items():
        df = gaps[check]
        if df.empty:
            continue
        with st.expander(f"{t(f'stf.gap.{check}')}（{fmt.count(counts[check], lg)}）" if lg == "zh"
                         else f"{t(f'stf.gap.{check}')} ({fmt.count(counts[check], lg)})"):
            lists.drill_table(df, f"stf_gap_{check}", columns=[("name", f"level.{level}", "text"), *tables.pick(
                GAP_PLACES, staffing.gap_place_columns(df, level))])


def workload_view(f, now) -> None:
    st.subheader(t("stf.work.title"))
    c = st.columns(2)
    c[0].segmented_control(t("stf.work.overload"), OVERLOAD_CHOICES, key="stf_over", required=True,
                           format_func=lambda x: f"× {x}")
    c[1].segmented_control(t("stf.work.quiet"), QUIET_CHOICES, key="stf_quiet", required=True,
                           format_func=lambda x: f"× {x}")
    k = float(st.session_state.get("stf_over") or staffing.DEFAULT_OVERLOAD_MULTIPLE)
    q = float(st.session_state.get("stf_quiet") or staffing.DEFAULT_QUIET_FRACTION)
    w = data.get(staffing.grid_workload, f.scope, f.period, now, overload_multiple=k, quiet_fraction=q)
    lg = lang()
    if w.median is None:
        st.info(t("stf.work.none"))
        return
    if not w.total_cases:  # every workload 0: no median, histogram or flag says anything
        st.info(t("empty.stf.workload"))
        return
    st.caption(t("stf.work.caption", months=f"{w.months:.1f}", median=f"{w.median:.2f}"))
    m = st.columns(4)
    m[0].metric(t("stf.work.median"), f"{w.median:.2f}", help=t("help.stf.median"), border=True)
    m[1].metric(t("stf.flag.overloaded"), fmt.count(w.counts["overloaded"], lg), help=t("help.stf.overloaded", k=k),
                border=True)
    m[2].metric(t("stf.flag.quiet"), fmt.count(w.counts["quiet"], lg), help=t("help.stf.quiet", q=q), border=True)
    m[3].metric(t("stf.flag.no_worker"), fmt.count(w.counts["no_worker"], lg), help=t("help.stf.no_worker"),
                border=True)
    flag_labels = {k_: t(f"stf.flag.{k_}") for k_ in FLAGS}
    st.markdown(f"**{t('stf.work.hist')}**")
    charts.draw(charts.workload_histogram, w.grids, w.median, flag_labels)
    for flag in ("overloaded", "quiet"):
        df = w.grids[w.grids["flag"] == flag]
        st.markdown(f"**{t('stf.work.list', flag=flag_labels[flag], n=fmt.count(w.counts[flag], lg))}**")
        if not df.empty:
            lists.drill_table(df, f"stf_work_{flag}", columns=WORKLOAD, height=300)


def find_view(f) -> None:
    st.caption(t("stf.find.hint"))
    text = st.text_input(t("stf.find.label"), key="stf_q", max_chars=urlstate.MAX_TEXT)
    if not text.strip():
        return
    found = data.get(staffing.find_grids, f.scope, text)
    if found.empty:
        st.info(t("stf.find.none"))
        return
    lists.drill_table(found.assign(
        level=[t(f"level.{x}") for x in found["level"]],
        matched=[t("stf.find.by.staff", name=m.split(":", 1)[1]) if m.startswith("staff:") else
                 t(f"stf.find.by.{m}") for m in found["matched"]]), "stf_found", columns=FOUND)


def grid_card_view(f) -> None:
    user = current_user()
    card = data.get(staffing.grid_card, f.scope, f.period, f.region_code, user)
    cards.grid_card(card)


def page() -> None:
    f = current_filter()
    if no_regions():
        return
    node = data.tree().get(f.region_code)
    if node is not None and node.level in ("grid", "micro_grid"):
        grid_card_view(f)
        return
    kpis(f)
    if not data.get(staffing.staffing_summary, f.scope).grids:  # (the call kpis made: cached) the 3+1+N gaps still apply
        st.info(t("empty.stf.no_grids"))
    urlstate.seed(PARAMS)
    show_view("staffing", "stf_view", "stf", {
        "regions": lambda: regions_view(f),
        "structure": lambda: structure_view(f),
        "workload": lambda: workload_view(f, data.now_bucket()),
        "find": lambda: find_view(f),
    })
    urlstate.publish(PARAMS)


page_header("staffing", "stf.title", "stf.caption")
with friendly_errors():
    page()
