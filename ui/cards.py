"""The cards that open one thing: a grid (网格名片, the staffing page), a volunteer team (the volunteers page), an
idle-asset project (the assets page) and a clean-governance unit's history (the clean-units page).

Layout only: each draws what its data_access query returned (the page fetches it): None, a code unknown or
outside the jurisdiction, says so.  The tables are described as data (ui/tables.py).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from data_access.queries.assets import ProjectCard
from data_access.queries.clean_units import UnitHistory
from data_access.queries.staffing import GridCard
from data_access.queries.volunteers import TeamCard

from . import charts, clean_review, fmt, lists, tables
from .bulletin import month_label
from .state import lang, t

def back(label_key: str, state_key: str) -> None:
    """The button back from a card to the page's views: empties ``state_key`` (the card's URL parameter)."""
    st.button(t(label_key), icon=":material/arrow_back:", on_click=_close, args=(state_key,))


def _close(state_key: str) -> None:
    st.session_state[state_key] = ""


def _unknown(label_key: str) -> None:
    st.warning(t(label_key), icon=":material/search_off:")


# --- a grid (网格名片) ----------------------------------------------------------------------------------------

GRID_STAFF = [
    ("role", "stf.col.role", "text"),
    ("name", "stf.col.person", "text"),
    ("phone", "stf.col.phone", "text"),
    ("party_member", "stf.col.party", "text"),
    ("since", "stf.col.since", "date"),
    ("on", "stf.col.on", "text"),
]
GRID_MICRO_GRIDS = [
    ("name", "stf.col.name", "text"),
    ("households", "stf.col.households", "number"),
    ("population", "stf.col.population", "number"),
    ("leader", "enum.role.micro_grid_leader", "text"),
    ("leader_phone", "stf.col.leader_phone", "text"),
]
GRID_TEAMS = [
    ("name", "vol.col.team", "text"),
    ("team_code", "vol.card.open", "link"),  # volunteers?team=<code>: opens the team's card
    ("members", "vol.col.members", "number"),
    ("leader", "vol.card.leader", "text"),
    ("focus", "vol.card.focus", "text"),
]


def grid_card(card: GridCard | None) -> None:
    """A grid's or micro-grid's card: its place, households and residents, staff, micro-grids, volunteer teams
    and the period's recent cases (nothing for None)."""
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
    c[2].metric(t("stf.card.micro"), fmt.count(card.micro_grid_count, lg), help=t("help.stf.card.micro"),
                border=True)
    c[3].metric(t("stf.card.teams"), fmt.count(card.team_count, lg), help=t("help.stf.card.teams"), border=True)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('stf.card.staff')}**")
        if card.staff.empty:
            st.warning(t("stf.card.no_staff"), icon=":material/person_off:")
        else:
            tables.show(card.staff.assign(role=[t(f"enum.role.{r}") for r in card.staff["role"]],
                                          party_member=[t("common.yes") if p else t("common.no")
                                                        for p in card.staff["party_member"]]), GRID_STAFF)
        if card.micro_grid_count:
            st.markdown(f"**{t('stf.card.micro')}**")
            tables.show(card.micro_grids, GRID_MICRO_GRIDS)
    with right:
        st.markdown(f"**{t('stf.card.teams')}**")
        if card.teams.empty:
            st.info(t("stf.card.no_teams"))
        else:
            tables.show(card.teams.assign(team_code=[f"volunteers?team={c}" for c in card.teams["team_code"]],
                                          focus=[lists.focus_tags(x) for x in card.teams["focus"]]), GRID_TEAMS)
        st.markdown(f"**{t('stf.card.cases', n=fmt.count(card.case_count, lg))}**")
        if card.recent_cases.empty:
            st.info(t("stf.card.no_cases"))
        else:
            lists.recent_cases(card.recent_cases)
        st.page_link("pages/cases.py", label=t("stf.card.all_cases"), icon=":material/assignment:",
                     query_params={"region": card.code})


# --- a volunteer team ----------------------------------------------------------------------------------------

TEAM_ACTIVITIES = [
    ("date", "vol.col.date", "date"),
    ("kind", "vol.col.kind", "text"),
    ("participants", "vol.col.participants", "number"),
    ("hours", "vol.col.hours", "num1"),
    ("note", "vol.col.note", "text"),
]


def team_card(card: TeamCard | None) -> None:
    """A volunteer team's card: its place, members, leader, activities and the cases of its area."""
    if card is None:
        _unknown("vol.card.unknown")
        return
    lg = lang()
    st.subheader(f"{t('vol.card.title')} · {fmt.plain(card.name)}")
    place = " · ".join(x for x in (card.county, card.township, card.village, card.grid) if x)
    st.caption(fmt.labelled(t("vol.card.place"), fmt.plain(place), lg))
    c = st.columns(4)
    c[0].metric(t("vol.card.members"), fmt.count(card.members, lg), help=t("help.vol.card.members"), border=True)
    c[1].metric(t("vol.card.leader"), fmt.plain(card.leader or "—"), help=t("help.vol.card.leader"), border=True)
    c[2].metric(t("vol.card.founded"), card.founded_on.isoformat() if card.founded_on else "—",
                help=t("help.vol.card.founded"), border=True)
    c[3].metric(t("vol.card.last"), card.last_activity.isoformat() if card.last_activity else
                t("vol.inactive.never"), help=t("help.vol.card.last"), border=True)
    if card.focus:
        st.caption(fmt.labelled(t("vol.card.focus"), lists.focus_tags(";".join(card.focus)), lg))
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('vol.card.activities', n=card.activity_count)}**")
        if card.activities.empty:
            st.info(t("vol.card.no_activities"))
        else:
            tables.show(card.activities.assign(kind=[t(f"enum.activity.{k}") for k in card.activities["kind"]]),
                        TEAM_ACTIVITIES)
    with right:
        st.markdown(f"**{t('vol.card.cases', n=fmt.count(card.area_case_count, lg))}**")
        if not card.area_cases.empty:
            lists.recent_cases(card.area_cases)
        st.page_link("pages/cases.py", label=t("vol.card.all_cases"), icon=":material/assignment:",
                     query_params={"region": card.place_code})


# --- an idle-asset project -----------------------------------------------------------------------------------

PROJECT_FIELDS = [("field", " ", "text"), ("value", " ", "text")]  # " ": no header (no such catalog key)
PROJECT_MONTHS = [
    ("month", "ast.col.month", "text"),
    ("revenue_wan", "ast.col.revenue", "num2"),
    ("minimum_wan", "ast.col.minimum", "num2"),
    ("shortfall_wan", "ast.col.shortfall", "num2"),
    ("visitors", "ast.col.visitors", "int"),
    ("visitors_per_day", "ast.col.per_day", "int"),
]


def project_card(card: ProjectCard | None) -> None:
    """An idle-asset project's card: quantity, investment, revenue and status, its particulars, and its
    months (revenue against the guaranteed minimum, visitors)."""
    if card is None:
        _unknown("ast.card.unknown")
        return
    x = card.fields
    st.subheader(f"{t('ast.card.title')} · {fmt.plain(x['name'])}")
    c = st.columns(4)
    quantity = fmt.count(round(x["quantity"]), lang())  # required, ≥ 0 (data contract)
    c[0].metric(t("ast.col.quantity"), f"{quantity} {t('enum.asset_unit.' + x['unit'])}",
                help=t("help.ast.card.quantity"), border=True)
    c[1].metric(t("ast.col.investment"), fmt.wan(x["investment_wan"]), help=t("help.ast.card.investment"),
                border=True)
    c[2].metric(t("ast.col.revenue_to_date"), fmt.wan(card.revenue_to_date_wan),
                help=t("help.ast.card.revenue_to_date"), border=True)
    c[3].metric(t("ast.col.status"), t(f"enum.asset_status.{x['status']}"), help=t("help.ast.card.status"),
                border=True)
    rows = [(t("ast.col.region"), x["region"]), (t("ast.col.kind"), t(f"enum.asset_kind.{x['asset_kind']}")),
            (t("ast.col.mode"), t(f"enum.disposal.{x['disposal_mode']}")),
            (t("ast.col.model"), t(f"enum.op_model.{x['operating_model']}")),
            (t("ast.col.operator"), x["operator"] or "—"),
            (t("ast.col.gmin"), fmt.wan(x["guaranteed_min_wan"]) if x["guaranteed_min_wan"] is not None else "—"),
            (t("ast.col.share_pct"), f"{x['revenue_share_pct']:.0f}%" if x["revenue_share_pct"] is not None else "—"),
            (t("ast.col.started"), x["started_on"].isoformat() if x["started_on"] else "—"),
            ("ID", x["project_code"])]
    left, right = st.columns([2, 3])
    with left:
        tables.show(pd.DataFrame(rows, columns=["field", "value"]), PROJECT_FIELDS)
    with right:
        st.markdown(f"**{t('ast.card.months')}**")
        if card.months.empty:
            st.info(t("ast.card.no_months"))
            return
        charts.draw(charts.project_months_chart, card.months)
        tables.show(card.months, tables.pick(PROJECT_MONTHS, card.month_columns))


# --- a clean-governance unit's history -----------------------------------------------------------------------

def unit_card(h: UnitHistory | None, kind: str | None) -> None:
    """A clean-governance unit's reviews month by month, its rank among the units of ``kind`` (None = all)."""
    if h is None:
        _unknown("cln.card.unknown")
        return
    lg = lang()
    st.subheader(f"{t('cln.card.title')} · {fmt.plain(h.name)}")
    bits = [clean_review.kind_label(h.kind, lg), h.place]
    if h.applied_on:
        bits.append(t("cln.card.applied", date=h.applied_on.isoformat()))
    st.caption(fmt.plain(" · ".join(bits)))
    st.caption(t("cln.help.history", kind=clean_review.kind_label(kind, lg)))
    last = h.latest
    c = st.columns(4)
    c[0].metric(t("cln.card.latest"), clean_review.score(last["score"]) if last is not None else "—",
                help=t("cln.help.card.latest", month=month_label(last["month"], lg) if last is not None else "—"),
                border=True)
    c[1].metric(t("cln.card.latest_rating"), t(f"cln.rating.{last['rating']}") if last is not None else "—",
                help=t("cln.help.card.latest_rating"), border=True)
    rank = "—"
    if last is not None and not pd.isna(last["rank"]):
        rank = t("cln.card.rank_of", rank=int(last["rank"]), n=int(last["ranked"]))
    change = last["rank_change"] if last is not None else None
    d = None if change is None or pd.isna(change) else fmt.delta_number(int(change), 0)
    c[2].metric(t("cln.card.latest_rank"), rank, help=t("cln.help.card.latest_rank"), border=True,
                delta=d, **fmt.delta_style(d))
    c[3].metric(t("cln.card.named_times"), fmt.count(h.named_times, lg), help=t("cln.help.card.named_times"),
                border=True)
    if h.months.empty:
        st.info(t("cln.card.no_reviews"), icon=":material/info:")
        return
    charts.draw(charts.unit_history_chart, h.months)
    table = clean_review.display_frame(h.months, lg).iloc[::-1]
    tables.show(table.assign(month=[month_label(m, lg) for m in table["month"]]), tables.pick(
        clean_review.UNIT_COLUMNS, ["month", "score", "rating_label", "rank", "ranked", "rank_change", "named_label",
                                    "note"]))
