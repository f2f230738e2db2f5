"""网格力量 — grid staffing: grids and staff by role for the region and each child region (click to drill down),
the county map, the "3+1+N" structure check with its gap lists, grid workers' workload with the overloaded and
quiet grids, finding a grid, and a grid's card (when the selected region is a grid or micro-grid).

The view is chosen in the URL (``?view=…``); the workload thresholds are in the URL too.
"""
from __future__ import annotations

import streamlit as st

from data_access.core.contract import STAFF_ROLES
from data_access.core.regions import ancestor_code
from data_access.core.geo import has_shapes
from data_access.queries import staffing
from data_access.queries.staffing import FLAGS, GAP_CHECKS
from ui import charts, data, fmt, lists, urlstate
from ui.auth import current_user
from ui.frame import current_filter, page_header
from ui.setup import friendly_errors
from ui.state import lang, t
from ui.views import view_icons, view_switch

VIEW_ICONS = view_icons("staffing")  # ui/views.py: the one list of views
VIEWS = tuple(VIEW_ICONS)
OVERLOAD_CHOICES = ("1.5", "2", "3")
QUIET_CHOICES = ("0.1", "0.25", "0.5")
MAP_MEASURES = {"residents_per_worker": ("stf.kpi.residents_per_worker", ",.0f", "unit.residents"),
                "coverage": ("stf.kpi.coverage", ".1%", "unit.pct"),
                "party_share": ("stf.kpi.party_share", ".1%", "unit.pct")}  # (title key, format, unit key)
P = urlstate.Param
PARAMS = [
    P("view", "choice", VIEWS, "regions", widget="stf_view"),
    P("over", "choice", OVERLOAD_CHOICES, "2", widget="stf_over"),
    P("quiet", "choice", QUIET_CHOICES, "0.25", widget="stf_quiet"),
    P("q", "text", None, "", widget="stf_q"),
]


def kpis(f) -> None:
    s = data.get(staffing.staffing_summary, f.scope)
    lg = lang()
    c = st.columns(6)
    c[0].metric(t("stf.kpi.grids"), fmt.count(s.grids, lg), help=t("help.stf.grids"), border=True)
    c[1].metric(t("stf.kpi.micro_grids"), fmt.count(s.micro_grids, lg), help=t("help.stf.micro_grids"), border=True)
    c[2].metric(t("stf.kpi.workers"), fmt.count(s.grid_worker, lg), help=t("help.stf.workers"), border=True)
    c[3].metric(t("stf.kpi.coverage"), fmt.pct(s.coverage), help=t("help.stf.coverage"), border=True)
    c[4].metric(t("stf.kpi.residents_per_worker"), fmt.count(round(s.residents_per_worker), lg)
                if s.residents_per_worker is not None else "—", help=t("help.stf.residents_per_worker"), border=True)
    c[5].metric(t("stf.kpi.party_share"), fmt.pct(s.party_share), help=t("help.stf.party_share"), border=True)
    roles = " · ".join(f"{t(f'enum.role.{r}')} {fmt.count(getattr(s, r), lg)}" for r in STAFF_ROLES)
    st.caption(f"{t('stf.roles')}：{roles}" if lg == "zh" else f"{t('stf.roles')}: {roles}")


def regions_view(f) -> None:
    # the table takes the page's width (a column per role); the map sits below it
    table = data.get(staffing.staffing_by_child_region, f.scope)
    if not table.empty:
        st.subheader(t("stf.rank.title", level=t(f"level.{table['level'].iloc[0]}")))
        st.caption(t("ov.rank.hint"))
        view = table.assign(coverage=table["coverage"] * 100, party_share=table["party_share"] * 100)
        level = table["level"].iloc[0]
        # a row per grid: its own count and a township's chief leader say nothing there
        hidden = {"grids", "chief_grid_leader"} if level in ("grid", "micro_grid") else set()
        lists.drill_table(
            view, f"stf_rank_{f.region_code or 'root'}",
            column_order=[c for c in ["name", "grids", "micro_grids", "population", *STAFF_ROLES, "coverage",
                                      "residents_per_worker", "party_share"] if c not in hidden],
            column_config={
                "name": st.column_config.TextColumn(t("stf.col.name")),
                "grids": st.column_config.NumberColumn(t("stf.col.grids"), format="localized"),
                "micro_grids": st.column_config.NumberColumn(t("stf.col.micro_grids"), format="localized"),
                "population": st.column_config.NumberColumn(t("stf.col.population"), format="localized"),
                **{r: st.column_config.NumberColumn(t(f"enum.role.{r}"), format="localized") for r in STAFF_ROLES},
                "coverage": st.column_config.NumberColumn(t("stf.col.coverage"), format="%.1f%%",
                                                          help=t("help.stf.coverage")),
                "residents_per_worker": st.column_config.NumberColumn(
                    t("stf.col.residents_per_worker"), format="%.0f", help=t("help.stf.residents_per_worker")),
                "party_share": st.column_config.NumberColumn(t("stf.col.party_share"), format="%.1f%%"),
            })
    left, _ = st.columns([3, 2])
    with left:
        county_map(f)


def county_map(f) -> None:
    tree = data.tree()
    city = ancestor_code(tree, f.region_code, "city")
    if city is None or not tree.contains(f.scope_code, city):
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
    lg = lang()
    cols = st.columns(len(GAP_CHECKS))
    for col, check in zip(cols, GAP_CHECKS):
        n = len(gaps[check])
        col.metric(t(f"stf.gapcard.{check}"), fmt.count(n, lg), help=t(f"help.stf.gap.{check}"), border=True)
    for check, level in GAP_CHECKS.items():
        df = gaps[check]
        if df.empty:
            continue
        with st.expander(f"{t(f'stf.gap.{check}')}（{fmt.count(len(df), lg)}）" if lg == "zh"
                         else f"{t(f'stf.gap.{check}')} ({fmt.count(len(df), lg)})"):
            order = ["name", *[c for c in ("grid", "village", "township", "county")
                               if c != level and df[c].notna().any()]]
            lists.drill_table(
                df, f"stf_gap_{check}",
                column_order=order,
                column_config={"name": st.column_config.TextColumn(t(f"level.{level}")),
                               **{c: st.column_config.TextColumn(t(f"stf.col.{c}")) for c in
                                  ("grid", "village", "township", "county")}})


def workload_view(f, now) -> None:
    st.subheader(t("stf.work.title"))
    c = st.columns(2)
    c[0].segmented_control(t("stf.work.overload"), OVERLOAD_CHOICES, key="stf_over", required=True,
                           format_func=lambda x: f"× {x}")
    c[1].segmented_control(t("stf.work.quiet"), QUIET_CHOICES, key="stf_quiet", required=True,
                           format_func=lambda x: f"× {x}")
    k = float(st.session_state.get("stf_over") or 2)
    q = float(st.session_state.get("stf_quiet") or 0.25)
    w = data.get(staffing.grid_workload, f.scope, f.period, now, overload_multiple=k, quiet_fraction=q)
    lg = lang()
    if w.median is None:
        st.info(t("stf.work.none"))
        return
    if not w.grids["cases"].sum():  # every workload 0: no median, histogram or flag says anything
        st.info(t("empty.stf.workload"))
        return
    st.caption(t("stf.work.caption", months=f"{w.months:.1f}", median=f"{w.median:.2f}"))
    m = st.columns(4)
    m[0].metric(t("stf.work.median"), f"{w.median:.2f}", help=t("help.stf.median"), border=True)
    m[1].metric(t("stf.flag.overloaded"), fmt.count(w.counts["overloaded"], lg), help=t("help.stf.overloaded", k=k),
                border=True)
    m[2].metric(t("stf.flag.quiet"), fmt.count(w.counts["quiet"], lg),
                help=t("help.stf.quiet", q=q), border=True)
    m[3].metric(t("stf.flag.no_worker"), fmt.count(w.counts["no_worker"], lg), help=t("help.stf.no_worker"),
                border=True)
    flag_labels = {k_: t(f"stf.flag.{k_}") for k_ in FLAGS}
    st.markdown(f"**{t('stf.work.hist')}**")
    charts.draw(charts.workload_histogram, w.grids, w.median, flag_labels)
    for flag in ("overloaded", "quiet"):
        df = w.grids[w.grids["flag"] == flag]
        st.markdown(f"**{t('stf.work.list', flag=flag_labels[flag], n=fmt.count(len(df), lg))}**")
        if df.empty:
            continue
        lists.drill_table(
            df, f"stf_work_{flag}",
            column_order=["name", "village", "township", "workers", "cases", "patrol", "workload", "expected"],
            column_config={"name": st.column_config.TextColumn(t("level.grid")),
                           "village": st.column_config.TextColumn(t("stf.col.village")),
                           "township": st.column_config.TextColumn(t("stf.col.township")),
                           "workers": st.column_config.NumberColumn(t("stf.col.workers")),
                           "cases": st.column_config.NumberColumn(t("stf.col.cases"), format="localized"),
                           "patrol": st.column_config.NumberColumn(t("stf.col.patrol"), format="localized"),
                           "workload": st.column_config.NumberColumn(t("stf.col.workload"), format="%.2f"),
                           "expected": st.column_config.NumberColumn(t("stf.col.expected"), format="%.1f")}, height=300)


def find_view(f) -> None:
    st.caption(t("stf.find.hint"))
    text = st.text_input(t("stf.find.label"), key="stf_q", max_chars=urlstate.MAX_TEXT)
    if not text.strip():
        return
    found = data.get(staffing.find_grids, f.scope, text)
    if found.empty:
        st.info(t("stf.find.none"))
        return
    found = found.assign(
        level=[t(f"level.{x}") for x in found["level"]],
        matched=[t("stf.find.by.staff", name=m.split(":", 1)[1]) if m.startswith("staff:") else
                 t(f"stf.find.by.{m}") for m in found["matched"]])
    lists.drill_table(
        found, "stf_found",
        column_order=["name", "level", "village", "township", "matched"],
        column_config={"name": st.column_config.TextColumn(t("stf.col.name")),
                       "level": st.column_config.TextColumn(t("stf.col.level")),
                       "village": st.column_config.TextColumn(t("stf.col.village")),
                       "township": st.column_config.TextColumn(t("stf.col.township")),
                       "matched": st.column_config.TextColumn(t("stf.find.matched"))})


def grid_card_view(f) -> None:
    user = current_user()
    card = data.get(staffing.grid_card, f.scope, f.period, f.region_code, user)
    if card is None:
        return
    lg = lang()
    st.subheader(f"{t('stf.card.title')} · {fmt.plain(card.name)}")
    place = t("stf.card.place", county=card.county or "—", township=card.township or "—",
              village=card.village or "—")
    if card.grid:
        place += " · " + t("stf.card.in_grid", grid=card.grid)
    st.caption(fmt.plain(place))
    c = st.columns(4)
    c[0].metric(t("stf.col.households"), fmt.count(card.households, lg), help=t("help.stf.card.households"),
                border=True)
    c[1].metric(t("stf.col.population"), fmt.count(card.population, lg), help=t("help.stf.card.population"),
                border=True)
    c[2].metric(t("stf.card.micro"), fmt.count(len(card.micro_grids), lg), help=t("help.stf.card.micro"),
                border=True)
    c[3].metric(t("stf.card.teams"), fmt.count(len(card.teams), lg), help=t("help.stf.card.teams"), border=True)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('stf.card.staff')}**")
        if card.staff.empty:
            st.warning(t("stf.card.no_staff"), icon=":material/person_off:")
        else:
            st.dataframe(card.staff.assign(role=[t(f"enum.role.{r}") for r in card.staff["role"]],
                                           party_member=[t("common.yes") if p else t("common.no")
                                                         for p in card.staff["party_member"]]),
                         hide_index=True, column_order=["role", "name", "phone", "party_member", "since", "on"],
                         column_config=_staff_columns())
        if not card.micro_grids.empty:
            st.markdown(f"**{t('stf.card.micro')}**")
            st.dataframe(card.micro_grids, hide_index=True,
                         column_order=["name", "households", "population", "leader", "leader_phone"],
                         column_config={"name": st.column_config.TextColumn(t("stf.col.name")),
                                        "households": st.column_config.NumberColumn(t("stf.col.households")),
                                        "population": st.column_config.NumberColumn(t("stf.col.population")),
                                        "leader": st.column_config.TextColumn(t("enum.role.micro_grid_leader")),
                                        "leader_phone": st.column_config.TextColumn(t("stf.col.leader_phone"))},
                         placeholder="—")
    with right:
        st.markdown(f"**{t('stf.card.teams')}**")
        if card.teams.empty:
            st.info(t("stf.card.no_teams"))
        else:
            teams = card.teams.assign(team_code=[f"volunteers?team={c}" for c in card.teams["team_code"]],
                                      focus=[lists.focus_tags(x) for x in card.teams["focus"]])
            st.dataframe(teams, hide_index=True, column_order=["name", "team_code", "members", "leader", "focus"],
                         column_config={"name": st.column_config.TextColumn(t("vol.col.team")),
                                        "team_code": st.column_config.LinkColumn(
                             t("vol.card.open"), display_text=r"team=(.*)$"),
                             "members": st.column_config.NumberColumn(t("vol.col.members")),
                             "leader": st.column_config.TextColumn(t("vol.card.leader")),
                             "focus": st.column_config.TextColumn(t("vol.card.focus"))})
        st.markdown(f"**{t('stf.card.cases', n=fmt.count(card.case_count, lg))}**")
        if card.recent_cases.empty:
            st.info(t("stf.card.no_cases"))
        else:
            lists.recent_cases(card.recent_cases)
        st.page_link("pages/cases.py", label=t("stf.card.all_cases"), icon=":material/assignment:",
                     query_params={"region": card.code})


def _staff_columns() -> dict:
    return {"role": st.column_config.TextColumn(t("stf.col.role")),
            "name": st.column_config.TextColumn(t("stf.col.person")),
            "phone": st.column_config.TextColumn(t("stf.col.phone")),
            "party_member": st.column_config.TextColumn(t("stf.col.party")),
            "since": st.column_config.DateColumn(t("stf.col.since"), format="YYYY-MM-DD"),
            "on": st.column_config.TextColumn(t("stf.col.on"))}


def page() -> None:
    f = current_filter()
    tree = data.tree()
    node = tree.get(f.region_code)
    if not tree.nodes:
        st.info(t("ov.empty_db"))
        return
    if node is not None and node.level in ("grid", "micro_grid"):
        grid_card_view(f)
        return
    kpis(f)
    if not data.get(staffing.staffing_summary, f.scope).grids:  # (the call kpis made: cached) the 3+1+N gaps still apply
        st.info(t("empty.stf.no_grids"))
    urlstate.seed(PARAMS)
    view = view_switch("staffing", "stf_view", "stf")
    if view == "regions":
        regions_view(f)
    elif view == "structure":
        structure_view(f)
    elif view == "workload":
        workload_view(f, data.now_bucket())
    else:
        find_view(f)
    urlstate.publish(PARAMS)


page_header("staffing", "stf.title", "stf.caption")
with friendly_errors():
    page()
