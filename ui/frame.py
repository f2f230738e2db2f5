"""Sidebar widgets of the shared frame; each returns what the user chose."""
from __future__ import annotations

from datetime import date

import streamlit as st

from data_access.core import batches
from data_access.core.access import User, may_see_sync_problems
from data_access.core.clock import today_local
from data_access.core.filters import CaseFilter
from data_access.core.regions import RegionTree

from . import auth, data, i18n, state, urlstate
from .state import t

LANG = urlstate.Param("lang", "choice", i18n.LANGS, i18n.DEFAULT_LANG, widget="lang")
PERIOD = urlstate.Param("period", "choice", state.PERIODS, state.DEFAULT_PERIOD, widget="period")


def _on_period() -> None:
    urlstate.publish([PERIOD])
    if st.session_state.get("period") != "custom":
        for k in ("from", "to"):
            if k in st.query_params:
                del st.query_params[k]
    urlstate.remember_url()


def widen_period(period: str = "all") -> None:
    """A button's callback: set the sidebar's period to ``period`` (all time by default), as if picked there."""
    st.session_state["period"] = period
    _on_period()


def language_switch() -> str:
    """Chinese by default; the choice is kept in the URL (?lang=en)."""
    urlstate.seed([LANG])
    st.segmented_control(
        t("frame.language"), options=list(i18n.LANGS), key="lang",
        format_func=lambda x: {"zh": "中文", "en": "English"}[x], required=True,
        on_change=urlstate.publish, args=([LANG],),
    )
    return state.lang()


def _on_region_pick(key: str, parent: str | None) -> None:
    state.set_region(st.session_state.get(key) or parent)


def region_picker(tree: RegionTree, scope: str | None) -> str | None:
    """Cascading selectboxes below the user's jurisdiction (city → county → township → village → grid);
    returns the selected code, never one outside ``scope``."""
    code = state.current_region(tree, scope)
    path = [n.code for n in tree.ancestors(code)] if code else []
    if scope is not None:
        path = path[path.index(scope) + 1:] if scope in path else []
    st.caption(t("frame.region"))
    parent: str | None = scope
    depth = 0
    while True:
        kids = tree.children(parent)
        if not kids:
            break
        current = path[depth] if depth < len(path) else None
        options: list[str | None] = [None] + [k.code for k in kids]
        if current not in options:
            current = None
        key = f"region_pick_{parent or 'root'}"
        # Keep the widget in step with drill-downs made elsewhere (ranking table, URL).
        st.session_state[key] = current
        st.selectbox(
            t("frame.region.level_pick", level=t(f"level.{tree.child_level(parent)}")),
            options,
            format_func=lambda c: t("frame.region.all") if c is None else tree.nodes[c].name,
            key=key,
            on_change=_on_region_pick,
            args=(key, parent),
            placeholder=t("frame.region.all"),
        )
        if current is None:
            break
        parent = current
        depth += 1
    if code and tree.nodes[code].parent and code != scope:
        st.button(t("frame.region.up"), icon=":material/arrow_upward:", width="stretch",
                  on_click=state.set_region, args=(tree.nodes[code].parent,))
    return code


def _on_custom_dates() -> None:
    value = st.session_state.get("custom_dates")
    if isinstance(value, (tuple, list)) and len(value) == 2:
        st.query_params["from"] = value[0].isoformat()
        st.query_params["to"] = value[1].isoformat()
        urlstate.remember_url()


def period_picker() -> tuple[date | None, date | None]:
    """A preset period (kept in the URL), or custom dates (?from=…&to=…)."""
    urlstate.seed([PERIOD])
    st.selectbox(
        t("frame.period.preset"), state.PERIODS, key="period",
        format_func=lambda p: t("frame.period." + p), on_change=_on_period,
    )
    period = st.session_state.get("period") or state.DEFAULT_PERIOD
    custom = None
    if period == "custom":
        q_from, q_to = state.parse_date(st.query_params.get("from")), state.parse_date(st.query_params.get("to"))
        if (st.query_params.get("from") or st.query_params.get("to")) and not (q_from and q_to and q_from <= q_to):
            state.notice_bad_param("from/to")
            q_from = q_to = None
        today = today_local()
        default = (q_from, q_to) if q_from and q_to else state.period_dates(state.DEFAULT_PERIOD, None, today)
        if "custom_dates" not in st.session_state:
            st.session_state.custom_dates = default
        value = st.date_input(t("frame.period.custom"), key="custom_dates", on_change=_on_custom_dates,
                              min_value=state.FIRST_DATE, max_value=state.LAST_DATE, format="YYYY-MM-DD")
        if isinstance(value, (tuple, list)) and len(value) == 2:
            custom = (value[0], value[1])
        else:
            custom = default  # the user is half-way through picking a range
    d_from, d_to = state.period_dates(period, custom)
    if d_from and d_to:
        st.caption(t("frame.period.range", start=d_from.isoformat(), end=d_to.isoformat()))
        if period == "custom" and d_from > today_local():  # said here, not refused by the picker in English
            st.warning(t("frame.period.future", start=d_from.isoformat()), icon=":material/event_busy:")
    return d_from, d_to


def sync_state() -> batches.SyncState:
    """The batch log's facts for the frame, cached on the refresh interval like every other answer."""
    return data.get(batches.sync_state)


def data_as_of() -> None:
    """The source's time of the last batch applied (or full load); before the log holds one, the time of the
    last load or write."""
    last = sync_state().last
    if last is not None:
        ts: str | None = f"{last.produced_at:%Y-%m-%d %H:%M}"
    else:
        ts = data.updated_at(data.read_url())
        ts = ts[:16].replace("T", " ") if ts else None
    st.caption(t("frame.as_of", ts=ts) if ts else t("frame.as_of.none"),
               help=t("frame.as_of.help", n=f"{batches.stale_minutes():g}"))
    st.caption(t("frame.refresh", s=data.REFRESH_S))
    holiday_gaps()


def holiday_gaps() -> None:
    """Years with working-day due times whose public holidays are not in the calendar: said once, here in the
    sidebar beside the data's time (every page's overdue counts depend on those due times), not on each view."""
    from data_access.core import time_limits

    gaps = data.reference_list(time_limits.calendar_gaps_in_data)  # a rule change touches the data: follows it
    if gaps:
        years = ("、" if state.lang() == "zh" else ", ").join(str(y) for y in gaps)
        st.caption(f":material/event_busy: {t('frame.holiday_gaps', years=years)}",
                   help=t("frame.holiday_gaps.help", years=years))


def sync_notices(user: User) -> None:
    """At the top of every page: the data is stale (a database that follows a source by sync, past
    GOV_SYNC_STALE_MINUTES without a batch, the same verdict as ``python -m data_access status``); for admins and
    leaders, a batch the sync refused since the last one applied, with its report (shown as text)."""
    state = sync_state()
    if state.stale() and state.last is not None:
        st.warning(t("frame.stale", n=int(state.last.minutes_ago())), icon=":material/schedule:")
    refused = state.refused
    if refused is not None and may_see_sync_problems(user):
        from . import fmt

        st.warning(t("frame.refused", id=fmt.plain(refused.batch_id), at=f"{refused.applied_at:%Y-%m-%d %H:%M}",
                     produced=f"{refused.produced_at:%Y-%m-%d %H:%M}"), icon=":material/block:")
        with st.expander(t("frame.refused.report")):
            st.code(refused.report or t("frame.refused.no_report"), language=None, wrap_lines=True)


def keep_in_url(region: str | None, d_from: date | None, d_to: date | None) -> None:
    """Write the frame's choices to the URL on every run: moving to another page clears the URL's
    parameters, and the link on screen must still reopen this view."""
    urlstate.publish([LANG, PERIOD])
    wanted = {"region": region}
    if st.session_state.get("period") == "custom" and d_from and d_to:
        wanted.update({"from": d_from.isoformat(), "to": d_to.isoformat()})
    else:
        wanted.update({"from": None, "to": None})
    for k, v in wanted.items():
        if v is None:
            if k in st.query_params:
                del st.query_params[k]
        elif st.query_params.get(k) != v:
            st.query_params[k] = v
    urlstate.remember_url()  # the browser sends this URL back on a click: not a change from outside


def build_filter(scope: str | None, region: str | None, d_from: date | None, d_to: date | None) -> CaseFilter:
    """The frame's filter: the signed-in user's jurisdiction (data_access never returns a row outside it)."""
    return CaseFilter(scope_code=scope, region_code=region, date_from=d_from, date_to=d_to)


def current_filter() -> CaseFilter:
    """The filter the frame built for this run (pages call this)."""
    f = st.session_state.get("frame_filter")
    if f is None:  # never "everything" by default: a page without the frame's filter shows nothing
        st.stop()
    return f


def no_regions() -> bool:
    """True, after the note that the database is empty, when it holds no region tree yet: the page then shows
    nothing else."""
    if data.tree().nodes:
        return False
    st.info(t("ov.empty_db"))
    return True


def page_header(url_path: str, title_key: str, caption_key: str | None = None) -> None:
    """First lines of a page: make sure it runs inside the frame, then its title with the selected region."""
    from . import fmt, guard

    guard.require_frame(url_path)
    region = data.tree().get(current_filter().region_code)
    st.title(t(title_key) + (f" · {fmt.plain(region.name)}" if region else ""))
    if caption_key:
        st.caption(t(caption_key))


# The Overview's first-visit tip: a one-line pointer to the help page (pages/help.py), until it is dismissed
# or the help page is opened; then not shown again in that browser (a cookie, ui/auth.PREF_COOKIES: a reload
# or a new tab starts a new session, and the tip would come back with it).
TIP_DISMISSED = "guide_tip_dismissed"
TIP_COOKIE = "gov_tip_seen"


def tip_seen() -> None:
    if not st.session_state.get(TIP_DISMISSED):
        st.session_state[TIP_DISMISSED] = True
        auth.remember_in_browser(TIP_COOKIE)


def wall_display() -> bool:
    """``?wall=1``: the app runs on a wall display of a governance centre (sidebar folded, no first-visit tip;
    the live refresh keeps it current)."""
    return st.query_params.get("wall") == "1"


def first_visit_tip() -> None:
    if st.session_state.get(TIP_DISMISSED) or wall_display() or auth.browser_remembers(TIP_COOKIE):
        return
    with st.container(border=True, key="guide_tip"):
        text, link, close = st.columns([7, 2, 1], vertical_alignment="center")
        text.markdown(f":material/lightbulb: {t('guide.tip')}")
        link.page_link("pages/help.py", label=t("guide.tip.open"), icon=":material/help:")
        close.button(t("guide.tip.dismiss"), key="guide_tip_dismiss", on_click=tip_seen)
