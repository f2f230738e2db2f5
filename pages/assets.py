"""三资盘活 — idle-asset revitalisation: the portfolio of projects by asset kind (each in its own unit), disposal
mode and status; revenue by month and the guaranteed-minimum-plus-share check; visitors per day; the list of
projects with those not operating yet; and a project's card (``?project=…``).

Views and the open project are in the URL.  With no project file in the dataset the page says so.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from data_access.queries import assets
from ui import charts, data, fmt, lists, urlstate
from ui.auth import current_user
from ui.frame import current_filter, page_header
from ui.setup import friendly_errors
from ui.state import lang, t
from ui.views import view_icons, view_switch

VIEW_ICONS = view_icons("assets")  # ui/views.py: the one list of views
VIEWS = tuple(VIEW_ICONS)
P = urlstate.Param
PARAMS = [
    P("view", "choice", VIEWS, "portfolio", widget="ast_view"),
    P("project", "text", None, "", widget="ast_project"),
]


def _wan(x) -> str:
    """万元 amounts: thousands separators, no decimals from 1,000 up."""
    if x is None or pd.isna(x):
        return "—"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.1f}"


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
    c[0].metric(t("ast.kpi.investment"), _wan(s.investment_wan), help=t("help.ast.investment"), border=True)
    c[1].metric(t("ast.kpi.revenue_to_date"), _wan(s.revenue_to_date_wan), help=t("help.ast.revenue_to_date"),
                border=True)
    c[2].metric(t("ast.kpi.revenue_period"), _wan(s.revenue_period_wan), help=t("help.ast.revenue_period"),
                border=True)


def portfolio_view(f) -> None:
    p = {"kind": data.get(assets.portfolio_by_kind, f.scope),
         **{d: data.get(assets.portfolio_by, f.scope, d) for d in assets.PORTFOLIO_DIMS}}
    kind = p["kind"]
    st.subheader(t("ast.by_kind"))
    st.dataframe(kind.assign(asset_kind=[t(f"enum.asset_kind.{k}") for k in kind["asset_kind"]],
                             unit=[t(f"enum.asset_unit.{u}") for u in kind["unit"]]),
                 hide_index=True, column_order=["asset_kind", "quantity", "unit", "projects"],
                 column_config={"asset_kind": st.column_config.TextColumn(t("ast.col.kind")),
                                "quantity": st.column_config.NumberColumn(t("ast.col.quantity"), format="localized"),
                                "unit": st.column_config.TextColumn(t("ast.col.unit")),
                                "projects": st.column_config.NumberColumn(t("ast.col.projects"))})
    left, right = st.columns(2)
    for col, dim, title, enum in ((left, "disposal_mode", "ast.by_mode", "disposal"),
                                  (right, "status", "ast.by_status", "asset_status")):
        with col:
            df = p[dim]
            st.subheader(t(title))
            st.dataframe(df.assign(**{dim: [t(f"enum.{enum}.{v}") for v in df[dim]]}), hide_index=True,
                         column_config={dim: st.column_config.TextColumn(t("ast.col.mode" if enum == "disposal"
                                                                            else "ast.col.status")),
                                        "projects": st.column_config.NumberColumn(t("ast.col.projects")),
                                        "investment_wan": st.column_config.NumberColumn(t("ast.col.investment"),
                                                                                        format="localized")})


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
    if not g["months"].sum():  # no month of the period recorded: nothing owed, nothing to compare
        st.info(t("empty.ast.guarantee"))
        return
    st.caption(t("ast.guarantee.caption"))
    charts.draw(charts.guarantee_chart, g)
    view = g.assign(coverage=g["coverage"] * 100, project_code=[f"assets?project={c}" for c in g["project_code"]])
    styled = view.style.apply(lambda row: [charts.OVERDUE_STYLE if row["shortfall_wan"] > 0 and c in
                                           ("shortfall_wan", "shortfall_months") else "" for c in row.index], axis=1)
    st.dataframe(styled, hide_index=True, placeholder="—",  # coverage of a project without a month: "—"
                 column_order=["name", "project_code", "guaranteed_min_wan", "revenue_share_pct", "months",
                               "minimum_wan", "received_wan", "share_part_wan", "shortfall_wan", "shortfall_months",
                               "coverage"],
                 column_config={"name": st.column_config.TextColumn(t("ast.col.name")),
                                "project_code": st.column_config.LinkColumn(t("ast.card.title"),
                                                                            display_text=r"project=(.*)$"),
                                "guaranteed_min_wan": st.column_config.NumberColumn(t("ast.col.gmin"), format="%.1f"),
                                "revenue_share_pct": st.column_config.NumberColumn(t("ast.col.share_pct"),
                                                                                   format="%.0f%%"),
                                "months": st.column_config.NumberColumn(t("ast.col.months")),
                                "minimum_wan": st.column_config.NumberColumn(t("ast.col.minimum"), format="%.2f"),
                                "received_wan": st.column_config.NumberColumn(t("ast.col.received"), format="%.2f"),
                                "share_part_wan": st.column_config.NumberColumn(t("ast.col.share_part"),
                                                                                format="%.2f"),
                                "shortfall_wan": st.column_config.NumberColumn(t("ast.col.shortfall"), format="%.2f"),
                                "shortfall_months": st.column_config.NumberColumn(t("ast.col.shortfall_months")),
                                "coverage": st.column_config.NumberColumn(t("ast.col.coverage"), format="%.1f%%")})


def visitors_view(f) -> None:
    v = data.get(assets.visitors_by_month, f.scope, f.period)
    st.subheader(t("ast.visitors.title"))
    if v.empty:
        st.info(t("ast.visitors.none"))
        return
    st.caption(t("ast.visitors.caption"))
    charts.draw(charts.visitors_chart, v)
    st.dataframe(v, hide_index=True, column_order=["name", "month", "visitors", "visitors_per_day"],
                 column_config={"name": st.column_config.TextColumn(t("ast.col.name")),
                                "month": st.column_config.TextColumn(t("ast.col.month")),
                                "visitors": st.column_config.NumberColumn(t("ast.col.visitors"), format="localized"),
                                "visitors_per_day": st.column_config.NumberColumn(t("ast.col.per_day"),
                                                                                  format="localized")})


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
    view = df.copy()
    for col, enum in (("asset_kind", "asset_kind"), ("unit", "asset_unit"), ("disposal_mode", "disposal"),
                      ("operating_model", "op_model"), ("status", "asset_status")):
        if col in view:
            view[col] = [t(f"enum.{enum}.{v}") for v in view[col]]
    code = lists.picked(
        view, key, "project_code", column_order=order,
        column_config={"name": st.column_config.TextColumn(t("ast.col.name")),
                       "region": st.column_config.TextColumn(t("ast.col.region")),
                       "asset_kind": st.column_config.TextColumn(t("ast.col.kind")),
                       "quantity": st.column_config.NumberColumn(t("ast.col.quantity"), format="localized"),
                       "unit": st.column_config.TextColumn(t("ast.col.unit")),
                       "disposal_mode": st.column_config.TextColumn(t("ast.col.mode")),
                       "operating_model": st.column_config.TextColumn(t("ast.col.model")),
                       "status": st.column_config.TextColumn(t("ast.col.status")),
                       "started_on": st.column_config.DateColumn(t("ast.col.started"), format="YYYY-MM-DD"),
                       "days_since": st.column_config.NumberColumn(t("ast.col.days_since"), format="%.0f"),
                       "investment_wan": st.column_config.NumberColumn(t("ast.col.investment"), format="localized"),
                       "revenue_to_date_wan": st.column_config.NumberColumn(t("ast.col.revenue_to_date"),
                                                                            format="localized")})
    if code is not None:
        st.session_state["ast_project"] = code
        st.rerun()


def _close_card() -> None:
    st.session_state["ast_project"] = ""


def card_view(f, code: str) -> None:
    card = data.get(assets.project_card, f.scope, code, current_user())
    st.button(t("ast.card.back"), icon=":material/arrow_back:", on_click=_close_card)
    if card is None:
        st.warning(t("ast.card.unknown"), icon=":material/search_off:")
        return
    x = card.fields
    st.subheader(f"{t('ast.card.title')} · {fmt.plain(x['name'])}")
    c = st.columns(4)
    quantity = fmt.count(round(x["quantity"]), lang())  # required, ≥ 0 (data contract)
    c[0].metric(t("ast.col.quantity"), f"{quantity} {t('enum.asset_unit.' + x['unit'])}",
                help=t("help.ast.card.quantity"), border=True)
    c[1].metric(t("ast.col.investment"), _wan(x["investment_wan"]), help=t("help.ast.card.investment"), border=True)
    c[2].metric(t("ast.col.revenue_to_date"), _wan(card.revenue_to_date_wan), help=t("help.ast.card.revenue_to_date"),
                border=True)
    c[3].metric(t("ast.col.status"), t(f"enum.asset_status.{x['status']}"), help=t("help.ast.card.status"),
                border=True)
    rows = [(t("ast.col.region"), x["region"]), (t("ast.col.kind"), t(f"enum.asset_kind.{x['asset_kind']}")),
            (t("ast.col.mode"), t(f"enum.disposal.{x['disposal_mode']}")),
            (t("ast.col.model"), t(f"enum.op_model.{x['operating_model']}")),
            (t("ast.col.operator"), x["operator"] or "—"),
            (t("ast.col.gmin"), _wan(x["guaranteed_min_wan"]) if x["guaranteed_min_wan"] is not None else "—"),
            (t("ast.col.share_pct"), f"{x['revenue_share_pct']:.0f}%" if x["revenue_share_pct"] is not None else "—"),
            (t("ast.col.started"), x["started_on"].isoformat() if x["started_on"] else "—"),
            ("ID", x["project_code"])]
    left, right = st.columns([2, 3])
    with left:
        st.dataframe(pd.DataFrame(rows, columns=["field", "value"]), hide_index=True,
                     column_config={"field": st.column_config.TextColumn(" "),
                                    "value": st.column_config.TextColumn(" ")})
    with right:
        st.markdown(f"**{t('ast.card.months')}**")
        m = card.months
        if m.empty:
            st.info(t("ast.card.no_months"))
            return
        has_min = m["minimum_wan"].notna().any()
        has_vis = m["visitors_per_day"].notna().any()
        charts.draw(charts.project_months_chart, m)
        st.dataframe(m, hide_index=True,
                     column_order=["month", "revenue_wan", *(["minimum_wan", "shortfall_wan"] if has_min else []),
                                   *(["visitors", "visitors_per_day"] if has_vis else [])],
                     column_config={"month": st.column_config.TextColumn(t("ast.col.month")),
                                    "revenue_wan": st.column_config.NumberColumn(t("ast.col.revenue"), format="%.2f"),
                                    "minimum_wan": st.column_config.NumberColumn(t("ast.col.minimum"), format="%.2f"),
                                    "shortfall_wan": st.column_config.NumberColumn(t("ast.col.shortfall"),
                                                                                   format="%.2f"),
                                    "visitors": st.column_config.NumberColumn(t("ast.col.visitors"),
                                                                              format="localized"),
                                    "visitors_per_day": st.column_config.NumberColumn(t("ast.col.per_day"),
                                                                                      format="localized")})


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
    view = view_switch("assets", "ast_view", "ast")
    if view == "portfolio":
        portfolio_view(f)
    elif view == "money":
        money_view(f)
    elif view == "visitors":
        visitors_view(f)
    else:
        projects_view(f, now)
    urlstate.publish(PARAMS)


page_header("assets", "ast.title", "ast.caption")
with friendly_errors():
    page()
