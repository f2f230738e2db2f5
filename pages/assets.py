"""三资盘活 — idle-asset revitalisation: the portfolio of projects by asset kind (each in its own unit), disposal
mode and status; revenue by month and the guaranteed-minimum-plus-share check; visitors per day; the list of
projects with those not operating yet; and a project's card (``?project=…``).

Views and the open project are in the URL.  With no project file in the dataset the page says so.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from data_access.queries import assets
from ui import cards, charts, data, fmt, lists, tables, urlstate
from ui.auth import current_user
from ui.frame import current_filter, page_header
from ui.setup import friendly_errors
from ui.state import lang, t
from ui.views import show_view, view_icons

VIEW_ICONS = view_icons("assets")  # ui/views.py: the one list of views
VIEWS = tuple(VIEW_ICONS)
P = urlstate.Param
PARAMS = [
    P("view", "choice", VIEWS, "portfolio", widget="ast_view"),
    P("project", "text", None, "", widget="ast_project"),
]

# The tables (ui/tables.py).  A project list picks its columns from PROJECTS; codes shown translated.
BY_KIND = [("asset_kind", "ast.col.kind", "text"), ("quantity", "ast.col.quantity", "int"),
           ("unit", "ast.col.unit", "text"), ("projects", "ast.col.projects", "number")]
BY_DIM = [("projects", "ast.col.projects", "number"), ("investment_wan", "ast.col.investment", "int")]
GUARANTEE = [("name", "ast.col.name", "text"), ("project_code", "ast.card.title", "link"),  # assets?project=…
             ("short_months", "ast.col.short_months", "text"),  # first: why a project above its minimum is flagged
             ("guaranteed_min_wan", "ast.col.gmin", "num1"),
             ("revenue_share_pct", "ast.col.share_pct", "num0", {"format": "%.0f%%"}),  # already in per cent
             ("months", "ast.col.months", "number"), ("minimum_wan", "ast.col.minimum", "num2"),
             ("received_wan", "ast.col.received", "num2"), ("share_part_wan", "ast.col.share_part", "num2"),
             ("shortfall_wan", "ast.col.shortfall", "num2"), ("shortfall_months", "ast.col.shortfall_months", "number"),
             ("coverage", "ast.col.coverage", "pct")]  # a project without a month: "—"
VISITORS = [("name", "ast.col.name", "text"), ("month", "ast.col.month", "text"),
            ("visitors", "ast.col.visitors", "int"), ("visitors_per_day", "ast.col.per_day", "int")]
PROJECTS = [("name", "ast.col.name", "text"), ("region", "ast.col.region", "text"), ("asset_kind", "ast.col.kind", "text"),
            ("quantity", "ast.col.quantity", "int"), ("unit", "ast.col.unit", "text"),
            ("disposal_mode", "ast.col.mode", "text"), ("operating_model", "ast.col.model", "text"),
            ("status", "ast.col.status", "text"), ("started_on", "ast.col.started", "date"),
            ("days_since", "ast.col.days_since", "num0"), ("investment_wan", "ast.col.investment", "int"),
            ("revenue_to_date_wan", "ast.col.revenue_to_date", "int")]
ENUMS = {"asset_kind": "asset_kind", "unit": "asset_unit", "disposal_mode": "disposal", "operating_model": "op_model",
         "status": "asset_status"}  # column → its enum in the catalog (enum.<enum>.<code>)


def _translated(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(**{c: [t(f"enum.{e}.{v}") for v in df[c]] for c, e in ENUMS.items() if c in df})


def _shortfall(view: pd.DataFrame):
    """The shortfall and the months short stand out on a project with a shortfall."""
    return view.style.apply(lambda row: [charts.OVERDUE_STYLE if row["shortfall_wan"] > 0 and c in
                                         ("shortfall_wan", "shortfall_months", "short_months") else "" for c in row.index], axis=1)


def kpis(s) -> None:
    lg = lang()
    c = st.columns(4)
    c[0].metric(t("ast.kpi.projects"), fmt.count(s.projects, lg), help=t("help.ast.projects"), border=True)
    c[1].metric(t("ast.kpi.operating"), fmt.count(s.operating, lg), help=t("help.ast.operating"), border=True)
    c[2].metric(t("ast.kpi.not_operating"), fmt.count(s.not_operating, lg), help=t("help.ast.not_operating"),
                border=True)
    c[3].metric(t("ast.kpi.shortfall"), fmt.count(s.shortfall_projects, lg), help=t("help.ast.shortfall"),
                border=True)
    c = st.columns(4)
    c[0].metric(t("ast.kpi.investment"), fmt.wan(s.investment_wan), help=t("help.ast.investment"), border=True)
    c[1].metric(t("ast.kpi.revenue_to_date"), fmt.wan(s.revenue_to_date_wan), help=t("help.ast.revenue_to_date"),
                border=True)
    c[2].metric(t("ast.kpi.revenue_period"), fmt.wan(s.revenue_period_wan), help=t("help.ast.revenue_period"),
                border=True)


def portfolio_view(f) -> None:
    p = {"kind": data.get(assets.portfolio_by_kind, f.scope),
         **{d: data.get(assets.portfolio_by, f.scope, d) for d in assets.PORTFOLIO_DIMS}}
    st.subheader(t("ast.by_kind"))
    tables.show(_translated(p["kind"]), BY_KIND)
    left, right = st.columns(2)
    for col, dim, title, label in ((left, "disposal_mode", "ast.by_mode", "ast.col.mode"),
                                   (right, "status", "ast.by_status", "ast.col.status")):
        with col:
            st.subheader(t(title))
            tables.show(_translated(p[dim]), [(dim, label, "text"), *BY_DIM])


def money_view(f) -> None:
    m = {"revenue": data.get(assets.revenue_by_month, f.scope, f.period), "guarantee": data.get(assets.guarantee_check, f.scope, f.period)}
    st.subheader(t("ast.revenue.title"))
    if m["revenue"].empty:
        st.info(t("ast.revenue.none"))
    else:
        charts.draw(charts.revenue_chart, m["revenue"])
    st.subheader(t("ast.guarantee.title"))
    g = m["guarantee"]
    if g.empty:
        st.info(t("ast.guarantee.none"))
        return
    if not assets.months_recorded(g):  # no month of the period recorded: nothing owed, nothing to compare
        st.info(t("empty.ast.guarantee"))
        return
    st.caption(t("ast.guarantee.caption"))
    charts.draw(charts.guarantee_chart, g)
    tables.show(g.assign(project_code=[f"assets?project={c}" for c in g["project_code"]]), GUARANTEE,
                style=_shortfall)


def visitors_view(f) -> None:
    v = data.get(assets.visitors_by_month, f.scope, f.period)
    st.subheader(t("ast.visitors.title"))
    if v.empty:
        st.info(t("ast.visitors.none"))
        return
    st.caption(t("ast.visitors.caption"))
    charts.draw(charts.visitors_chart, v)
    tables.show(v, VISITORS)


def projects_view(f, now) -> None:
    p = {"all": data.get(assets.project_list, f.scope), "not_operating": data.get(assets.projects_not_operating, f.scope, now)}
    st.subheader(t("ast.not_operating.title"))
    waiting = p["not_operating"]
    if waiting.empty:
        st.success(t("ast.not_operating.none"), icon=":material/check_circle:")
    else:
        project_table(waiting, "ast_waiting", ["name", "region", "asset_kind", "status", "started_on", "days_since"])
    st.subheader(t("ast.view.projects"))
    project_table(p["all"], "ast_all", ["name", "region", "asset_kind", "quantity", "unit", "disposal_mode",
                                        "operating_model", "status", "investment_wan", "revenue_to_date_wan"])


def project_table(df: pd.DataFrame, key: str, order: list[str]) -> None:
    """A list of projects; clicking a row opens the project's card."""
    st.caption(t("ast.list.hint"))
    lists.opening(_translated(df), key, "project_code", "ast_project", columns=tables.pick(PROJECTS, order))


def card_view(f, code: str) -> None:
    card = data.get(assets.project_card, f.scope, code, current_user())
    cards.back("ast.card.back", "ast_project")
    cards.project_card(card)


def page() -> None:
    f = current_filter()
    now = data.now_bucket()
    if not data.get(assets.asset_data_loaded):
        st.info(t("ast.none_loaded"), icon=":material/inventory_2:")
        return
    urlstate.seed(PARAMS)
    code = (st.session_state.get("ast_project") or "").strip()
    if code:
        card_view(f, code)
        urlstate.publish(PARAMS)
        return
    s = data.get(assets.asset_summary, f.scope, f.period)
    kpis(s)
    if s.projects == 0:
        st.info(t("ast.none_here"), icon=":material/location_off:")
        urlstate.publish(PARAMS)
        return
    show_view("assets", "ast_view", "ast", {
        "portfolio": lambda: portfolio_view(f),
        "money": lambda: money_view(f),
        "visitors": lambda: visitors_view(f),
        "projects": lambda: projects_view(f, now),
    })
    urlstate.publish(PARAMS)


page_header("assets", "ast.title", "ast.caption")
with friendly_errors():
    page()
