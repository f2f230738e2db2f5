"""志愿服务 — the "娄底红" volunteer teams: teams and members by region (click to drill down), growth, focus, the
period's activities by kind, inactive and most active teams, and a team's card (``?team=…``).

The view, the inactivity threshold and the chart measure are in the URL.
"""
from __future__ import annotations

import streamlit as st

from data_access.queries import volunteers
from ui import capped, cards, charts, data, fmt, lists, tables, urlstate
from ui.auth import current_user
from ui.frame import current_filter, no_regions, page_header
from ui.setup import friendly_errors
from ui.state import lang, t
from ui.views import show_view, view_icons

VIEW_ICONS = view_icons("volunteers")  # ui/views.py: the one list of views
VIEWS = tuple(VIEW_ICONS)
DAYS_CHOICES = tuple(str(d) for d in volunteers.INACTIVE_DAYS_CHOICES)  # "90", "180", "365"
MEASURES = volunteers.ACTIVITY_MEASURES
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

# The tables (ui/tables.py): the child regions; the team lists (each picks its columns).
REGIONS = [("name", "stf.col.name", "text"), ("teams", "vol.col.teams", "int"), ("members", "vol.col.members", "int"),
           ("members_per_1000", "vol.col.per_1000", "num1", {"help": "help.vol.per_1000"}),
           ("activities", "vol.col.activities", "int"), ("participants", "vol.col.participants", "int"),
           ("person_hours", "vol.col.person_hours", "int")]  # and "inactive", whose help names the days
TEAMS = [("name", "vol.col.team", "text"), ("village", "stf.col.village", "text"),
         ("township", "stf.col.township", "text"), ("members", "vol.col.members", "number"),
         ("founded_on", "vol.col.founded_on", "date"), ("last_activity", "vol.col.last_activity", "date"),
         ("days_since", "vol.col.days_since", "number"), ("activities", "vol.col.activities", "number"),
         ("participants", "vol.col.participants", "int"), ("person_hours", "vol.col.person_hours", "int")]


def _days() -> int:
    return int(st.session_state.get("vol_days") or 180)


def _whole_hours(df):
    """Person-hours as whole hours (shown with thousands separators)."""
    return df.assign(person_hours=df["person_hours"].round().astype("int64")) if "person_hours" in df else df


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
            st.subheader(t("vol.rank.title", level=t(f"level.{table['level'].iloc[0]}")))
            st.caption(t("ov.rank.hint"))
            inactive = ("inactive", "vol.col.inactive", "number", {"help": "help.vol.inactive",
                                                                   "help_args": {"days": _days()}})
            lists.drill_table(_whole_hours(table), f"vol_rank_{f.region_code or 'root'}", columns=[*REGIONS, inactive])
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
    inactive = capped.fetch(volunteers.inactive_teams, f.scope, f.period, now, days)
    if inactive.total == 0:
        st.success(t("vol.inactive.none"), icon=":material/check_circle:")
    else:
        order = ["name", "village", "township", "members", "founded_on", "last_activity", "days_since"]
        team_list(inactive.rows, "vol_inactive", order)
        capped.note(inactive.map(_whole_hours), tables.pick(TEAMS, order), t("vol.inactive.title"), "vol_inactive")


def team_list(df, key: str, order: list[str]) -> None:
    """A list of teams; clicking a row opens the team's card."""
    st.caption(t("vol.list.hint"))
    lists.opening(_whole_hours(df), key, "team_code", "vol_team", columns=tables.pick(TEAMS, order),
                  height=min(420, 38 + 35 * len(df)))


def team_card_view(f, now, code: str) -> None:
    card = data.get(volunteers.team_card, f.scope, f.period, code, current_user(), now)
    cards.back("vol.card.back", "vol_team")
    cards.team_card(card)


def page() -> None:
    f = current_filter()
    now = data.now_bucket()
    if no_regions():
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
    show_view("volunteers", "vol_view", "vol", {
        "overview": lambda: overview_view(f, now),
        "activities": lambda: activities_view(f, now),
        "teams": lambda: teams_view(f, now),
    })
    urlstate.publish(PARAMS)


page_header("volunteers", "vol.title", "vol.caption")
with friendly_errors():
    page()
