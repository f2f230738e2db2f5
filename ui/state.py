"""The shared frame's choices: language, region and period.

Each is kept in the URL (so a view is a link a colleague can open) and
validated on the way in: a bad value is dropped with a small notice.
"""
from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from data_access.core.clock import today_local
from data_access.core.regions import RegionTree

from . import i18n

PERIODS = ("last30", "last90", "ytd", "last12m", "last3y", "all", "custom")
DEFAULT_PERIOD = "last12m"
# The bounds of every date picker: wide enough for any real date, so that Streamlit's English "Date set outside
# allowed range" (its default bounds are ten years either side) never shows; a date that makes no sense for the
# question gets the app's own message instead.
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2099, 12, 31)


def lang() -> str:
    value = st.session_state.get("lang", i18n.DEFAULT_LANG)
    return value if value in i18n.LANGS else i18n.DEFAULT_LANG


def t(key: str, **kwargs) -> str:
    """Translate ``key`` in the session's language."""
    return i18n.translate(key, lang(), **kwargs)


def notice_bad_param(name: str) -> None:
    st.toast(t("frame.bad_param", name=name), icon=":material/warning:")


def default_region(tree: RegionTree, scope: str | None = None) -> str | None:
    """The user's jurisdiction; without one, the root with the most residents (the city the data is about),
    or None for an empty tree."""
    if scope is not None:
        return scope if scope in tree.nodes else None
    roots = tree.roots
    if not roots:
        return None
    return max(roots, key=lambda c: (tree.population.get(c, 0), c))


def _allowed(tree: RegionTree, scope: str | None, code: str | None) -> bool:
    return code is None or (code in tree.nodes and tree.contains(scope, code))


def current_region(tree: RegionTree, scope: str | None = None) -> str | None:
    """The selected region inside the user's jurisdiction ``scope``: session first, then the URL, then the
    default.  An unknown code, or one outside the jurisdiction, is dropped with a notice.  A ``?region`` the
    browser brings later (back / forward, a link) is read here too: urlstate.follow_outside_changes drops the
    session's copy."""
    if "region_code" not in st.session_state:
        q = st.query_params.get("region")
        if q is not None and not _allowed(tree, scope, q):
            if q in tree.nodes:  # a real region, outside the user's jurisdiction
                st.toast(t("frame.region.outside"), icon=":material/lock:")
            else:
                notice_bad_param("region")
            q = None
        st.session_state.region_code = q or default_region(tree, scope)
    code = st.session_state.region_code
    if not _allowed(tree, scope, code) or (code is None and scope is not None):
        code = st.session_state.region_code = default_region(tree, scope)
    return code


def set_region(code: str | None) -> None:
    """Select a region; the frame writes it to the URL on the run that follows (frame.keep_in_url)."""
    st.session_state.region_code = code


def period_dates(period: str, custom: tuple[date, date] | None, today: date | None = None
                 ) -> tuple[date | None, date | None]:
    """Inclusive (from, to) report dates of a preset; ``custom`` for "custom"."""
    today = today or today_local()
    if period == "last30":
        return today - timedelta(days=29), today
    if period == "last90":
        return today - timedelta(days=89), today
    if period == "ytd":
        return date(today.year, 1, 1), today
    if period == "last12m":
        start = date(today.year - 1, today.month, 1)
        return start, today
    if period == "last3y":
        return date(today.year - 3, today.month, 1), today
    if period == "custom" and custom:
        return custom
    return None, None


def parse_date(s: str | None) -> date | None:
    try:
        return date.fromisoformat(s) if s else None
    except (TypeError, ValueError):
        return None
