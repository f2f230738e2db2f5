"""The app's pages and their views: the navigation (file, URL path, title, icon, section), which the router and
the help page read, and the views of each page that has several (``?view=…``), in the order of the page's
switch, with their icons, which the pages, the help page, the browser tests and the benchmarks read."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class NavPage:
    file: str
    url_path: str  # the Overview, the default page, is served at "/" whatever this says
    title_key: str
    icon: str
    section_key: str


# In the order of the navigation.
NAV_PAGES = (
    NavPage("pages/overview.py", "overview", "nav.overview", ":material/dashboard:", "nav.section.main"),
    NavPage("pages/cases.py", "cases", "nav.cases", ":material/assignment:", "nav.section.main"),
    NavPage("pages/supervision.py", "supervision", "nav.supervision", ":material/gavel:", "nav.section.main"),
    NavPage("pages/warnings.py", "warnings", "nav.warnings", ":material/crisis_alert:", "nav.section.main"),
    NavPage("pages/staffing.py", "staffing", "nav.staffing", ":material/groups:", "nav.section.forces"),
    NavPage("pages/volunteers.py", "volunteers", "nav.volunteers", ":material/volunteer_activism:",
            "nav.section.forces"),
    NavPage("pages/assets.py", "assets", "nav.assets", ":material/real_estate_agent:", "nav.section.projects"),
    NavPage("pages/clean_units.py", "clean", "nav.clean", ":material/verified:", "nav.section.projects"),
    NavPage("pages/rules.py", "rules", "nav.rules", ":material/rule:", "nav.section.admin"),
    NavPage("pages/audit.py", "audit", "nav.audit", ":material/policy:", "nav.section.admin"),
    NavPage("pages/help.py", "help", "nav.help", ":material/help:", "nav.section.help"),  # last: the guided tour
)
DEFAULT_PAGE = "overview"

PAGE_VIEWS: dict[str, dict[str, str]] = {
    "supervision": {
        "backlog": ":material/hourglass_bottom:",
        "steps": ":material/timer:",
        "departments": ":material/apartment:",
        "bounces": ":material/sync_problem:",
        "orders": ":material/gavel:",
        "extensions": ":material/more_time:",
        "integrity": ":material/fact_check:",
        "duplicates": ":material/content_copy:",
        "callbacks": ":material/call:",
        "ranking": ":material/leaderboard:",
    },
    "staffing": {
        "regions": ":material/groups:",
        "structure": ":material/account_tree:",
        "workload": ":material/work_history:",
        "find": ":material/search:",
    },
    "volunteers": {
        "overview": ":material/volunteer_activism:",
        "activities": ":material/event_note:",
        "teams": ":material/diversity_3:",
    },
    "assets": {
        "portfolio": ":material/domain:",
        "money": ":material/payments:",
        "visitors": ":material/groups:",
        "projects": ":material/list_alt:",
    },
    "clean": {
        "ranking": ":material/leaderboard:",
        "units": ":material/domain:",
        "months": ":material/calendar_month:",
    },
}


def view_icons(page: str) -> dict[str, str]:
    """View → icon of ``page`` (its URL path), in the order of its switch."""
    return PAGE_VIEWS[page]


def view_switch(page: str, key: str, label_prefix: str) -> str:
    """The row of views at the top of ``page`` (its URL path): returns the chosen one (the first by default).
    ``key`` is the widget's session key (kept in the URL as ``?view=`` by the page's urlstate.Param);
    the label of view ``v`` is the catalog key ``{label_prefix}.view.{v}``."""
    import streamlit as st

    from .state import t

    icons = PAGE_VIEWS[page]
    views = list(icons)
    return st.segmented_control(t("sc.view"), views, key=key, required=True, label_visibility="collapsed",
                                format_func=lambda v: f"{icons[v]} {t(f'{label_prefix}.view.{v}')}") or views[0]


def show_view(page: str, key: str, label_prefix: str, draw: dict[str, Callable[[], None] | None]) -> str:
    """The row of views (:func:`view_switch`), then the chosen view drawn by ``draw[view]`` (a view missing
    from ``draw``, or mapped to None, draws nothing: one the page cannot show in this state); returns it."""
    view = view_switch(page, key, label_prefix)
    shown = draw.get(view)
    if shown is not None:
        shown()
    return view
