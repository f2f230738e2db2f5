"""志愿服务 — the "娄底红" volunteer teams: teams and members by region (click to drill down), growth, focus, the
period's activities by kind, inactive and most active teams, and a team's card (``?team=…``).

The view, the inactivity threshold and the chart measure are in the URL.
"""
from __future__ import annotations

import streamlit as st

from data_access.queries import volunteers
from ui import charts, data, fmt, lists, urlstate
from ui.auth import current_user
from ui.frame import current_filter, page_header
from ui.setup import friendly_errors
from ui.state import lang, t
from ui.views import view_icons, view_switch

VIEW_ICONS = view_icons("volunteers")  # ui/views.py: the one list of views
VIEWS = tuple(VIEW_ICONS)
DAYS_CHOICES = ("90", "180", "365")
MEASURES = ("activities", "participants", "person_hours")
P = urlstate.Param
PARAMS = [
    P("view", "choice", VIEWS, "overview", widget="vol_view"),
    P("days", "choice", DAYS_CHOICES, "180", widget="vol_days"),
    P("measure", "choice", MEASURES, "activities", widget="vol_measure"),
    P("q", "text", None, "", widget="vol_q"),
    P("team", "text", None, "", widget="vol_team"),
]
_MEASURE_TITLE = {"activities": "vol.col.activities", "participants": "vol.col.participants",
                  "person_hours": "vol.col.person_hours"}


def _days() -> int:
    return int(st.session_state.get("vol_days") or 180)


def kpis(f, now) -> None:
    days = _days()
    s = data.get(volunteers.volunteer_summary, f.scope, f.period, now, days)
    lg = lang()
    c = st.columns(4)
    c[0].metric(t("vol.kpi.teams"), fmt.count(s.teams, lg), help=t("help.vol.teams"), border=True)
    c[1].metric(t("vol.kpi.members"), fmt.count(s.members, lg), help=t("help.vol.members"), border=True)
    c[2].metric(t("vol.kpi.per_1000"), f"{s.members_per_1000:.1f}" if s.members_per_1000 is not None else "—",
                help=t("help.vol.per_1000"), border=True)
    c[3].metric(t("vol.kpi.inactive"), fmt.count(s.inactive, lg), help=t("help.vol.inactive", days=days),
                border=True)
    c = st.columns(4)
    c[0].metric(t("vol.kpi.activities"), fmt.count(s.activities, lg), help=t("help.vol.activities"), border=True)
    c[1].metric(t("vol.kpi.participants"), fmt.count(s.participants, lg), help=t("help.vol.participants"),
                border=True)
    c[2].metric(t("vol.kpi.person_hours"), fmt.count(round(s.person_hours), lg), help=t("help.vol.person_hours"),
                border=True)


def overview_view(f, now) -> None:
    left, right = st.columns([3, 2])
    with left:
        table = data.get(volunteers.volunteers_by_child_region, f.scope, f.period, now, _days())
        if not table.empty:
            table = table.assign(person_hours=table["person_hours"].round().astype("int64"))
            st.subheader(t("vol.rank.title", level=t(f"level.{table['level'].iloc[0]}")))
            st.caption(t("ov.rank.hint"))
            lists.drill_table(
                table, f"vol_rank_{f.region_code or 'root'}",
                column_order=["name", "teams", "members", "members_per_1000", "activities", "participants",
                              "person_hours", "inactive"],
                column_config={"name": st.column_config.TextColumn(t("stf.col.name")),
                               "teams": st.column_config.NumberColumn(t("vol.col.teams"), format="localized"),
                               "members": st.column_config.NumberColumn(t("vol.col.members"), format="localized"),
                               "members_per_1000": st.column_config.NumberColumn(
                                   t("vol.col.per_1000"), format="%.1f", help=t("help.vol.per_1000")),
                               "activities": st.column_config.NumberColumn(t("vol.col.activities"),
                                                                           format="localized"),
                               "participants": st.column_config.NumberColumn(t("vol.col.participants"),
                                                                             format="localized"),
                               "person_hours": st.column_config.NumberColumn(t("vol.col.person_hours"),
                                                                             format="localized"),
                               "inactive": st.column_config.NumberColumn(t("vol.col.inactive"),
                                                                         help=t("help.vol.inactive", days=_days()))})
    with right:
        growth, undated = data.get(volunteers.team_growth, f.scope), data.get(volunteers.undated_teams, f.scope)
        st.subheader(t("vol.growth.title"))
        if not growth.empty:
            charts.draw(charts.team_growth_chart, growth)
        if undated:
            st.caption(t("vol.growth.undated", n=fmt.count(undated, lang())))
        tags = data.get(volunteers.focus_tags, f.scope)
        if not tags.empty:
            st.subheader(t("vol.focus.title"))
            charts.draw(charts.focus_chart, tags)


def activities_view(f, now) -> None:
    st.subheader(t("vol.acts.title"))
    measure = st.segmented_control(t("vol.acts.measure"), MEASURES, key="vol_measure", required=True,
                                   format_func=lambda m: t(_MEASURE_TITLE[m])) or "activities"
    acts = data.get(volunteers.activities_by_month_kind, f.scope, f.period)
    if acts.empty:
        st.info(t("vol.acts.none"))
    else:
        charts.draw(charts.activities_chart, acts, measure, t(_MEASURE_TITLE[measure]))
    st.subheader(t("vol.active.title"))
    active = data.get(volunteers.most_active_teams, f.scope, f.period, now)
    if active.empty:
        st.info(t("vol.active.none"))
    else:
        team_list(active, "vol_active", ["name", "village", "township", "activities", "participants",
                                         "person_hours", "last_activity"])


def teams_view(f, now) -> None:
    text = st.text_input(t("vol.find.label"), key="vol_q", max_chars=urlstate.MAX_TEXT)
    if text.strip():
        found = data.get(volunteers.find_teams, f.scope, text)
        if found.empty:
            st.info(t("vol.find.none"))
        else:
            team_list(found, "vol_found", ["name", "village", "township"])
    st.subheader(t("vol.inactive.title"))
    st.segmented_control(t("vol.inactive.days"), DAYS_CHOICES, key="vol_days", required=True,
                         format_func=lambda d: f"{d} 天" if lang() == "zh" else f"{d} days")
    days = _days()
    st.caption(t("help.vol.inactive", days=days))
    inactive = data.get(volunteers.inactive_teams, f.scope, f.period, now, days)
    if inactive.empty:
        st.success(t("vol.inactive.none"), icon=":material/check_circle:")
    else:
        team_list(inactive, "vol_inactive", ["name", "village", "township", "members", "founded_on", "last_activity",
                                             "days_since"])


def team_list(df, key: str, order: list[str]) -> None:
    """A list of teams; clicking a row opens the team's card."""
    st.caption(t("vol.list.hint"))
    if "person_hours" in df:
        df = df.assign(person_hours=df["person_hours"].round().astype("int64"))
    code = lists.picked(
        df, key, "team_code", column_order=order,
        column_config={"name": st.column_config.TextColumn(t("vol.col.team")),
                       "village": st.column_config.TextColumn(t("stf.col.village")),
                       "township": st.column_config.TextColumn(t("stf.col.township")),
                       "members": st.column_config.NumberColumn(t("vol.col.members")),
                       "founded_on": st.column_config.DateColumn(t("vol.col.founded_on"), format="YYYY-MM-DD"),
                       "last_activity": st.column_config.DateColumn(t("vol.col.last_activity"), format="YYYY-MM-DD"),
                       "days_since": st.column_config.NumberColumn(t("vol.col.days_since")),
                       "activities": st.column_config.NumberColumn(t("vol.col.activities")),
                       "participants": st.column_config.NumberColumn(t("vol.col.participants"), format="localized"),
                       "person_hours": st.column_config.NumberColumn(t("vol.col.person_hours"), format="localized")},
        height=min(420, 38 + 35 * len(df)))
    if code is not None:
        st.session_state["vol_team"] = code
        st.rerun()


def _close_card() -> None:
    st.session_state["vol_team"] = ""


def team_card_view(f, now, code: str) -> None:
    card = data.get(volunteers.team_card, f.scope, f.period, code, current_user(), now)
    st.button(t("vol.card.back"), icon=":material/arrow_back:", on_click=_close_card)
    if card is None:
        st.warning(t("vol.card.unknown"), icon=":material/search_off:")
        return
    lg = lang()
    st.subheader(f"{t('vol.card.title')} · {fmt.plain(card.name)}")
    place = " · ".join(x for x in (card.county, card.township, card.village, card.grid) if x)
    st.caption(f"{t('vol.card.place')}：{fmt.plain(place)}" if lg == "zh" else f"{t('vol.card.place')}: "
               f"{fmt.plain(place)}")
    c = st.columns(4)
    c[0].metric(t("vol.card.members"), fmt.count(card.members, lg), help=t("help.vol.card.members"), border=True)
    c[1].metric(t("vol.card.leader"), fmt.plain(card.leader or "—"), help=t("help.vol.card.leader"), border=True)
    c[2].metric(t("vol.card.founded"), card.founded_on.isoformat() if card.founded_on else "—",
                help=t("help.vol.card.founded"), border=True)
    c[3].metric(t("vol.card.last"), card.last_activity.isoformat() if card.last_activity else
                t("vol.inactive.never"), help=t("help.vol.card.last"), border=True)
    if card.focus:
        st.caption(f"{t('vol.card.focus')}：{lists.focus_tags(';'.join(card.focus))}" if lg == "zh"
                   else f"{t('vol.card.focus')}: {lists.focus_tags(';'.join(card.focus))}")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('vol.card.activities', n=len(card.activities))}**")
        if card.activities.empty:
            st.info(t("vol.card.no_activities"))
        else:
            st.dataframe(card.activities.assign(kind=[t(f"enum.activity.{k}") for k in card.activities["kind"]]),
                         hide_index=True, column_order=["date", "kind", "participants", "hours", "note"],
                         column_config={"date": st.column_config.DateColumn(t("vol.col.date"), format="YYYY-MM-DD"),
                                        "kind": st.column_config.TextColumn(t("vol.col.kind")),
                                        "participants": st.column_config.NumberColumn(t("vol.col.participants")),
                                        "hours": st.column_config.NumberColumn(t("vol.col.hours"), format="%.1f"),
                                        "note": st.column_config.TextColumn(t("vol.col.note"))},
                         placeholder="—")
    with right:
        st.markdown(f"**{t('vol.card.cases', n=fmt.count(card.area_case_count, lg))}**")
        if not card.area_cases.empty:
            lists.recent_cases(card.area_cases)
        st.page_link("pages/cases.py", label=t("vol.card.all_cases"), icon=":material/assignment:",
                     query_params={"region": card.place_code})


def page() -> None:
    f = current_filter()
    now = data.now_bucket()
    if not data.tree().nodes:
        st.info(t("ov.empty_db"))
        return
    urlstate.seed(PARAMS)
    code = (st.session_state.get("vol_team") or "").strip()
    if code:
        team_card_view(f, now, code)
        urlstate.publish(PARAMS)
        return
    kpis(f, now)
    if not data.get(volunteers.volunteer_summary, f.scope, f.period, now, _days()).teams:  # (the call kpis made: cached)
        st.info(t("empty.vol.no_teams"))
        urlstate.publish(PARAMS)
        return
    view = view_switch("volunteers", "vol_view", "vol")
    if view == "overview":
        overview_view(f, now)
    elif view == "activities":
        activities_view(f, now)
    else:
        teams_view(f, now)
    urlstate.publish(PARAMS)


page_header("volunteers", "vol.title", "vol.caption")
with friendly_errors():
    page()
