"""督办中心 — the supervision centre: where the process is stuck and whom to push (backlog, time per step,
departments, bounced cases, the effect of supervision orders), whether the closure rate can be trusted
(integrity checks), repeat cases and chronic places, the callbacks (回访) of recently closed cases, and the monthly ranking and bulletin for the monthly meeting.

Each view is chosen in the URL (``?view=…``), so a view is a link; only the chosen view queries the
database.  The views refresh themselves every GOV_REFRESH_SECONDS, like the Overview.  Each view is drawn by
its module in ui/supervision/.
"""
from __future__ import annotations

import streamlit as st

from data_access.core import time_limits
from data_access.queries.supervision.ranking import LEVELS, recent_months
from ui import data, urlstate
from ui.frame import current_filter, page_header
from ui.setup import friendly_errors
from ui.state import lang, t
from ui.supervision import (
    backlog,
    bounces,
    callbacks,
    departments,
    duplicates,
    extensions,
    integrity,
    orders,
    ranking,
    steps,
)
from ui.views import view_icons, view_switch

VIEWS = tuple(view_icons("supervision"))  # ui/views.py: the one list of views
DRAW = {"backlog": backlog.show, "steps": steps.show, "departments": departments.show, "bounces": bounces.show,
        "orders": orders.show, "extensions": extensions.show, "integrity": integrity.show,
        "duplicates": duplicates.show, "callbacks": callbacks.show}  # and the ranking, which also takes the months


def params(months: list[str]) -> list[urlstate.Param]:
    P = urlstate.Param
    return [
        P("view", "choice", VIEWS, "backlog", widget="sc_view"),
        P("by", "choice", steps.BY_KEYS, "category", widget="sc_by"),
        P("check", "choice", integrity.CHECK_KEYS, integrity.CHECK_KEYS[0], widget="sc_check"),
        # by default the last complete month
        P("month", "choice", months, months[1] if len(months) > 1 else months[0], widget="sc_month"),
        P("unit", "choice", LEVELS, None, widget="sc_unit"),
    ]


@st.fragment(run_every=data.REFRESH_S)
def centre(view: str, months: list[str], ps: list[urlstate.Param]) -> None:
    with friendly_errors():
        f = current_filter()
        now = data.now_bucket()
        if view == "ranking":
            ranking.show(f, now, months)
        else:
            DRAW[view](f, now)
    urlstate.publish(ps)  # a choice made inside the view (grouping, check, month) is in the URL at once


def time_limit_note() -> None:
    """Which categories count working days (the years whose public holidays are not known yet are said once, in
    the sidebar: ui/frame.holiday_gaps)."""
    limits = data.reference_list(time_limits.category_time_limits)  # a rule change touches the data: follows it
    working = limits[limits["mode"] == "working_days"]
    names = data.category_labels()
    zh = lang() == "zh"
    sep = "、" if zh else ", "
    if not working.empty:
        st.caption(t("sc.limits.working", cats=sep.join(
            f"{names.get(c, c)}（{int(d)}）" if zh else f"{names.get(c, c)} ({int(d)})"
            for c, d in zip(working["code"], working["working_days"]))))


def page() -> None:
    months = recent_months(data.now_bucket().date())
    ps = params(months)
    urlstate.seed(ps)
    view = view_switch("supervision", "sc_view", "sc")
    urlstate.publish(ps)
    if view != "ranking":
        time_limit_note()
    centre(view, months, ps)


page_header("supervision", "sc.title")
page()
