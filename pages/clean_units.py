"""清廉单元 — clean-governance units (清廉娄星 "1+5+N": organs, villages and communities, enterprises, schools,
hospitals, townships): the month's headline numbers, the monthly ranking with rank change, the units rated good
and those named for failing their duties (一月一点评、一月一排名、一月一通报), the month's review as Excel; the
units by kind against the eligible units and by child region (click to drill down); the months side by side
with every bulletin; a unit's history of scores (``?unit=…``).

The view, the review month, the kind and the unit are in the URL (``?view=…&month=…&kind=…&unit=…``).  The
review month is chosen here (the months that have reviews, the latest by default); the frame's period does not
apply.  Definitions: data_access/queries/clean_units.py.
"""
from __future__ import annotations

import streamlit as st

from data_access.queries import clean_units
from data_access.queries.clean_units import KINDS
from ui import cards, charts, clean_ranking, clean_review, data, fmt, lists, tables, urlstate
from ui.auth import current_user
from ui.bulletin import month_label
from ui.frame import current_filter, no_regions, page_header
from ui.setup import friendly_errors
from ui.state import lang, t
from ui.views import show_view, view_icons

VIEW_ICONS = view_icons("clean")  # ui/views.py: the one list of views
VIEWS = tuple(VIEW_ICONS)
KIND_CHOICES = ("all", *KINDS)
P = urlstate.Param
BY_KIND = [("kind_label", "cln.col.kind", "text"), ("units", "cln.col.units", "int"),
           ("eligible", "cln.col.eligible", "number", {"help": "cln.help.eligible"}),
           ("covered", "cln.col.covered", "number"), ("coverage", "cln.col.coverage", "pct")]
REVIEWS = [("reviewed", "cln.col.reviewed", "number"), ("avg_score", "cln.col.avg_score", "num1"),
           ("good", "cln.rating.good", "number"), ("fair", "cln.rating.fair", "number"),
           ("poor", "cln.rating.poor", "number"), ("named", "cln.col.named", "number")]  # a region's or a month's
BY_REGION = [("name", "stf.col.name", "text"), ("units", "cln.col.units", "int"), *REVIEWS]
BY_MONTH = [("month", "cln.col.month", "text"), *REVIEWS]


def params(months: list[str]) -> list[urlstate.Param]:
    """The page's URL parameters; the months offered are those with reviews (the latest is the default)."""
    return [
        P("view", "choice", VIEWS, "ranking", widget="cln_view"),
        P("month", "choice", tuple(months), months[-1] if months else "", widget="cln_month"),
        P("kind", "choice", KIND_CHOICES, "all", widget="cln_kind"),
        P("unit", "text", None, "", widget="cln_unit"),
    ]


def _kind() -> str | None:
    k = st.session_state.get("cln_kind") or "all"
    return None if k == "all" else k


def controls(months: list[str]) -> None:
    lg = lang()
    c = st.columns([1, 1, 2])
    if months:
        c[0].selectbox(t("cln.month"), months[::-1], key="cln_month", format_func=lambda m: month_label(m, lg),
                       help=t("cln.help.month"))
    c[1].selectbox(t("cln.kind"), KIND_CHOICES, key="cln_kind",
                   format_func=lambda k: clean_review.kind_label(None if k == "all" else k, lg))


def kpis(review, units: int) -> None:
    lg = lang()
    c = st.columns(6)
    c[0].metric(t("cln.kpi.units"), fmt.count(units, lg), help=t("cln.help.units"), border=True)
    if review is None:
        for col, key in zip(c[1:], ("reviewed", "avg_score", "good", "named", "named_ytd")):
            col.metric(t(f"cln.kpi.{key}"), "—", help=t(f"cln.help.{key}"), border=True)
        return
    s, p = review.summary, review.prev_summary
    prev = p.reviewed > 0

    def change(cur: int, before: int) -> str | None:  # against the previous month, when it had reviews
        return fmt.delta_count(cur, before, lg) if prev and cur != before else None

    c[1].metric(t("cln.kpi.reviewed"), fmt.count(s.reviewed, lg), help=t("cln.help.reviewed"), border=True)
    d = fmt.delta_number(s.avg_score - p.avg_score) if prev and s.avg_score is not None else None
    c[2].metric(t("cln.kpi.avg_score"), clean_review.score(s.avg_score), help=t("cln.help.avg_score"), border=True,
                delta=d, **fmt.delta_style(d))
    c[3].metric(t("cln.kpi.good"), fmt.count(s.good, lg), help=t("cln.help.good"), border=True,
                delta=change(s.good, p.good))
    c[4].metric(t("cln.kpi.named"), fmt.count(s.named, lg), help=t("cln.help.named"), border=True,
                delta=change(s.named, p.named), delta_color="inverse")
    c[5].metric(t("cln.kpi.named_ytd"), fmt.count(s.named_ytd, lg), help=t("cln.help.named_ytd"), border=True)


def units_view(f, month: str | None, kind: str | None) -> None:
    lg = lang()
    st.subheader(t("cln.kinds.title"))
    st.caption(t("cln.help.eligible"))
    by_kind = data.get(clean_units.units_by_kind, f.scope)
    tables.show(by_kind.assign(kind_label=[clean_review.kind_label(k, lg) for k in by_kind["kind"]]), BY_KIND)
    child = data.get(clean_units.units_by_child_region, f.scope, month, kind)
    if child.empty:
        return
    st.subheader(t("cln.child.title", level=t(f"level.{clean_units.table_level(child)}"),
                   month=month_label(month, lg) if month else "—"))
    st.caption(t("ov.rank.hint") + " " + t("cln.help.child"))
    child = child.assign(name=[t("cln.own_level", name=n) if own else n for n, own in zip(child["name"], child["own"])])
    lists.drill_table(child, f"cln_child_{f.region_code or 'root'}_{month}_{kind or 'all'}", columns=BY_REGION)


def months_view(f, kind: str | None) -> None:
    lg = lang()
    trend = data.get(clean_units.monthly_trend, f.scope, kind)
    st.subheader(t("cln.trend.title", kind=clean_review.kind_label(kind, lg)))
    if trend.empty:
        st.info(t("cln.rank.none"), icon=":material/info:")
        return
    charts.draw(charts.ratings_chart, trend)
    tables.show(trend.assign(month=[month_label(m, lg) for m in trend["month"]]), BY_MONTH)
    named = data.get(clean_units.named_units, f.scope, kind)
    st.subheader(t("cln.named_all.title", n=fmt.count(len(named), lg)))
    st.caption(t("cln.help.named_all"))
    if named.empty:
        st.success(t("cln.named.none_all"), icon=":material/check_circle:")
        return
    named = clean_review.display_frame(named, lg).assign(month=[month_label(m, lg) for m in named["month"]])
    clean_ranking.unit_list(named, f"cln_named_{kind or 'all'}", ["month", "name", "kind_label", "place", "score", "note"])


def unit_card_view(f, code: str, kind: str | None) -> None:
    cards.back("cln.card.back", "cln_unit")
    h = data.get(clean_units.unit_history, f.scope, code, kind, current_user())
    cards.unit_card(h, kind)


def page() -> None:
    f = current_filter()
    now = data.now_bucket()
    if no_regions():
        return
    has_units, has_reviews = data.get(clean_units.clean_data_loaded)
    if not has_units:
        st.info(t("cln.empty"), icon=":material/inventory_2:")
        return
    months = data.get(clean_units.review_months, f.scope)
    ps = params(months)
    urlstate.seed(ps)
    urlstate.keep_valid(ps)
    controls(months)
    month, kind = st.session_state.get("cln_month") or None, _kind()
    code = (st.session_state.get("cln_unit") or "").strip()
    if code:
        unit_card_view(f, code, kind)
        urlstate.publish(ps)
        return
    review = data.get(clean_units.month_review, f.scope, month, kind, now) if month else None
    units = review.summary.units if review else data.get(clean_units.clean_summary, f.scope, None, kind).units
    kpis(review, units)
    if not has_reviews:
        st.info(t("cln.no_reviews"), icon=":material/info:")
    elif not months:
        st.info(t("cln.none_here" if not units else "cln.rank.none"), icon=":material/info:")
    show_view("clean", "cln_view", "cln", {  # a view with no data (no month picked, no months) draws nothing
        "ranking": (lambda: clean_ranking.show(review)) if review is not None else None,
        "units": lambda: units_view(f, month, kind),
        "months": (lambda: months_view(f, kind)) if months else None,
    })
    urlstate.publish(ps)


page_header("clean", "nav.clean", "cln.caption")
with friendly_errors():
    page()
