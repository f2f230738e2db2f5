"""Cached calls into data_access.

Cached results expire on the refresh interval, so live data shows up within
one interval; the cache key holds the database URL and the whole filter
(the user's scope included), so no session sees another's numbers.
"""
from __future__ import annotations

import dataclasses
import os
from datetime import date, datetime, timedelta

import streamlit as st
import streamlit.elements.spinner as _spinner_element

from data_access.queries import assets, cases, overview, staffing, volunteers
from data_access.core import geo, meta, reference, regions
from data_access.writes import orders as supervision
from data_access.core.clock import now_local
from data_access.core.db import default_url, get_engine, replica_url
from data_access.core.filters import CaseFilter

REFRESH_S = max(5, int(os.environ.get("GOV_REFRESH_SECONDS", "60") or 60))

_FILTER_FIELDS = tuple(fl.name for fl in dataclasses.fields(CaseFilter))
_PLAIN = (str, int, float, bool, type(None), date)  # datetime is a date


def _filter_key(f: CaseFilter):
    """A filter's cache key: every field, by name (the whole filter, the user's scope included).  Its repr when
    every value is a plain one (an exact text of the values, ~0.03 ms); Streamlit hashing the dataclass itself
    takes ~0.25 ms, on each of the half-dozen cached calls of a page run."""
    items = tuple((name, getattr(f, name)) for name in _FILTER_FIELDS)
    if all(isinstance(v, _PLAIN) or (isinstance(v, tuple) and all(isinstance(x, _PLAIN) for x in v))
           for _, v in items):
        return repr(items)
    return items


_KEYS = {CaseFilter: _filter_key}

# Loading indicator.  Anything that takes more than about 200 ms should show that the page is working, but
# Streamlit shows a spinner only after ``streamlit.elements.spinner.DELAY_SECS`` (0.5 s): lowered here, the one
# place, for every spinner of the app (a cache miss below, st.spinner on a page).  Read when a spinner starts.
_spinner_element.DELAY_SECS = 0.2


class _LoadingText(str):
    """The text of the spinner a cache miss shows, translated when it is shown.  ``st.cache_data`` takes its
    ``show_spinner`` text once, at decoration (import) time, when no session and so no language is known;
    Streamlit turns it into the element's text with ``str()`` on the cache miss, in the session's script run.
    A cache hit shows nothing (Streamlit starts the spinner only on a miss, and only for the outermost cached
    call)."""

    __slots__ = ()

    def __str__(self) -> str:
        from .state import t

        return t("common.loading")


LOADING = _LoadingText("common.loading")


def cached(ttl: int = REFRESH_S, **options):
    """``st.cache_data`` as every reader here uses it: the filter keyed by :func:`_filter_key`, "正在加载…" /
    "Loading…" while a value not cached yet is read (after 0.2 s; nothing on a hit), expiring after the refresh
    interval unless ``ttl`` says otherwise.  The spinner text is not part of the cache key."""
    return st.cache_data(hash_funcs=_KEYS, ttl=ttl, show_spinner=LOADING, **options)


def db_url() -> str:
    """The primary database: writes, sign-in, the audit log and the case workbench (which must show a
    supervision order the moment it is issued)."""
    return default_url()


def read_url() -> str:
    """Where the dashboards read: the read replica (``GOV_DB_READ_URL``) when one is configured, else the
    primary.  A replica lags by its replication delay, which is far below the refresh interval."""
    return replica_url() or default_url()


def engine():
    return get_engine(db_url())


def now_bucket() -> datetime:
    """Now, rounded down to the refresh interval (so "overdue" is stable within one interval)."""
    n = now_local()
    epoch = datetime(2000, 1, 1)
    secs = int((n - epoch).total_seconds()) // REFRESH_S * REFRESH_S
    return epoch + timedelta(seconds=secs)


@cached()
def updated_at(url: str) -> str | None:
    return meta.data_updated_at(get_engine(url))


def tree():
    return regions.region_tree(engine())


@cached()
def kpis_with_previous(url: str, f: CaseFilter, now: datetime):
    return overview.case_kpis_with_previous(get_engine(url), f, now)


@cached()
def monthly_by_status(url: str, f: CaseFilter, now: datetime):
    return overview.monthly_cases_by_status(get_engine(url), f, now)


@cached()
def by_resolution_level(url: str, f: CaseFilter, now: datetime):
    return overview.closed_cases_by_resolution_level(get_engine(url), f, now)


@cached()
def child_ranking(url: str, f: CaseFilter, now: datetime):
    return overview.child_region_ranking(get_engine(url), f, now)


def has_county_shapes(codes: list[str]) -> bool:
    """Whether any of ``codes`` has a polygon to draw (the chart builder fetches the polygons itself)."""
    return geo.has_shapes(codes)


# --- case workbench ---------------------------------------------------------------------------------------

@cached()
def kpis(url: str, f: CaseFilter, now: datetime):
    return overview.case_kpis(get_engine(url), f, now)


@cached(ttl=3600)
def categories(url: str, version: str | None):
    return reference.case_categories(get_engine(url))


def category_labels() -> dict[str, str]:
    """Category code → its name in the session's language (the one place that picks the column)."""
    from .state import lang

    cats = categories(db_url(), data_version())
    return dict(zip(cats["code"], cats["name_zh" if lang() == "zh" else "name_en"]))


@cached(ttl=3600)
def departments(url: str, version: str | None):
    return reference.case_departments(get_engine(url))


@cached(max_entries=200)
def case_page(url: str, f: CaseFilter, sort: str, page: int, cursor, now: datetime, total: int | None = None):
    return cases.case_page(get_engine(url), f, sort=sort, page=page, cursor=cursor, now=now, total=total)


@cached()
def open_orders(url: str, f: CaseFilter, now: datetime):
    return supervision.open_supervisions(get_engine(url), f, now)


@cached()
def open_order_counts(url: str, f: CaseFilter, now: datetime):
    return supervision.open_supervision_counts(get_engine(url), f, now)


def case_detail(case_no: str, user, scope_code: str | None, now: datetime):
    """Not cached: one case is a few milliseconds, and after a write it must be current at once."""
    return cases.case_detail(engine(), case_no, user, scope_code=scope_code, now=now)


def data_version() -> str | None:
    return regions.data_version(engine())


def after_write() -> None:
    """A write changes counts, lists and the data-as-of time everywhere: drop every cached answer."""
    st.cache_data.clear()


# --- audit ------------------------------------------------------------------------------------------------

def audit_entries(user, events: tuple[str, ...], who: str, d_from, d_to):
    """Not cached: the audit log must show an export or a sign-in the moment it happened."""
    from data_access.core import audit

    return audit.audit_entries(engine(), user, events=events, username=who, date_from=d_from, date_to=d_to)


def audit_event_counts(user, d_from, d_to):
    from data_access.core import audit

    return audit.audit_event_counts(engine(), user, d_from, d_to)


# --- supervision centre -----------------------------------------------------------------------------------
# One cached wrapper per question; each refreshes on the same interval as the Overview, so the live feed's
# changes show up within one interval.

@cached()
def backlog_views(url: str, f: CaseFilter, now: datetime) -> dict:
    from data_access.queries.supervision import backlog

    eng = get_engine(url)
    return {
        "age": backlog.open_backlog_by_age(eng, f, now),
        "overdue": backlog.open_backlog_by_overdue(eng, f, now),
        "child": backlog.open_backlog_by_child_region(eng, f, now),
        "category": backlog.open_backlog_by_category(eng, f, now),
    }


@cached()
def backlog_trend(url: str, f: CaseFilter, now: datetime, months: int = 12):
    from data_access.queries.supervision import backlog

    return backlog.overdue_backlog_trend(get_engine(url), f, months, now)


@cached()
def step_distribution(url: str, f: CaseFilter, by: str | None, now: datetime):
    from data_access.queries.supervision import process

    return process.step_time_distribution(get_engine(url), f, by=by, now=now)


@cached()
def department_table(url: str, f: CaseFilter, now: datetime):
    from data_access.queries.supervision import process

    return process.department_table(get_engine(url), f, now)


@cached()
def bounces(url: str, f: CaseFilter, now: datetime) -> dict:
    from data_access.queries.supervision import process

    eng = get_engine(url)
    return {"count": process.bounced_case_count(eng, f, now=now),
            "cases": process.bounced_cases(eng, f, now=now),
            "pairs": process.bounce_pairs(eng, f, now=now)}


@cached()
def supervision_effect(url: str, f: CaseFilter, now: datetime) -> dict:
    from data_access.queries.supervision import effect as se

    eng = get_engine(url)
    return {"grades": se.supervision_effect_by_grade(eng, f, now),
            "repeat": se.repeat_orders(eng, f, now=now),
            "repeat_count": se.repeat_order_count(eng, f, now=now),
            "past": se.orders_past_deadline(eng, f, now)}


@cached()
def integrity_views(url: str, f: CaseFilter, now: datetime) -> dict:
    from data_access.queries.supervision import integrity

    eng = get_engine(url)
    return {"summary": integrity.integrity_summary(eng, f, now),
            "child": integrity.integrity_by_child_region(eng, f, now)}


@cached()
def flagged_cases(url: str, f: CaseFilter, check: str, now: datetime):
    from data_access.queries.supervision import integrity

    return integrity.flagged_cases(get_engine(url), f, check, now=now)


@cached(max_entries=50)
def bulletin(url: str, f: CaseFilter, month: str, level: str, parent: str | None, weights, min_cases: int,
             now: datetime):
    from data_access.queries.supervision import ranking

    return ranking.bulletin_data(get_engine(url), f, month, level, parent, weights, min_cases, now=now)


@cached(ttl=3600)
def time_limit_table(url: str, version: str | None):
    from data_access.core import time_limits

    return time_limits.category_time_limits(get_engine(url))


@cached(ttl=3600)
def calendar_gaps(url: str, version: str | None) -> list[int]:
    from data_access.core import time_limits

    return time_limits.calendar_gaps_in_data(get_engine(url))


# --- grid staffing and volunteer teams --------------------------------------------------------------------

@cached()
def staffing_summary(url: str, f: CaseFilter):
    return staffing.staffing_summary(get_engine(url), f)


@cached()
def staffing_by_child(url: str, f: CaseFilter):
    return staffing.staffing_by_child_region(get_engine(url), f)


@cached()
def structure_gaps(url: str, f: CaseFilter):
    return staffing.structure_gaps(get_engine(url), f)


@cached()
def grid_workload(url: str, f: CaseFilter, now: datetime, overload: float, quiet: float):
    return staffing.grid_workload(get_engine(url), f, now, overload_multiple=overload, quiet_fraction=quiet)


@cached()
def grid_card(url: str, f: CaseFilter, code: str, user):
    return staffing.grid_card(get_engine(url), f, code, user)


@cached()
def find_grids(url: str, f: CaseFilter, text: str):
    return staffing.find_grids(get_engine(url), f, text)


@cached()
def volunteer_summary(url: str, f: CaseFilter, now: datetime, days: int):
    return volunteers.volunteer_summary(get_engine(url), f, now, days)


@cached()
def volunteers_by_child(url: str, f: CaseFilter, now: datetime, days: int):
    return volunteers.volunteers_by_child_region(get_engine(url), f, now, days)


@cached()
def team_growth(url: str, f: CaseFilter):
    return volunteers.team_growth(get_engine(url), f), volunteers.undated_teams(get_engine(url), f)


@cached()
def focus_tags(url: str, f: CaseFilter):
    return volunteers.focus_tags(get_engine(url), f)


@cached()
def activities_by_month_kind(url: str, f: CaseFilter):
    return volunteers.activities_by_month_kind(get_engine(url), f)


@cached()
def inactive_teams(url: str, f: CaseFilter, now: datetime, days: int):
    return volunteers.inactive_teams(get_engine(url), f, now, days)


@cached()
def most_active_teams(url: str, f: CaseFilter, now: datetime):
    return volunteers.most_active_teams(get_engine(url), f, now)


@cached()
def team_card(url: str, f: CaseFilter, code: str, user, now: datetime):
    return volunteers.team_card(get_engine(url), f, code, user, now)


@cached()
def find_teams(url: str, f: CaseFilter, text: str):
    return volunteers.find_teams(get_engine(url), f, text)


# --- idle-asset revitalisation ------------------------------------------------------------------------------

@cached()
def asset_data_loaded(url: str) -> bool:
    return assets.asset_data_loaded(get_engine(url))


@cached()
def asset_summary(url: str, f: CaseFilter):
    return assets.asset_summary(get_engine(url), f)


@cached()
def asset_portfolio(url: str, f: CaseFilter) -> dict:
    e = get_engine(url)
    return {"kind": assets.portfolio_by_kind(e, f), **{d: assets.portfolio_by(e, f, d) for d in assets.PORTFOLIO_DIMS}}


@cached()
def asset_money(url: str, f: CaseFilter) -> dict:
    e = get_engine(url)
    return {"revenue": assets.revenue_by_month(e, f), "guarantee": assets.guarantee_check(e, f)}


@cached()
def asset_visitors(url: str, f: CaseFilter):
    return assets.visitors_by_month(get_engine(url), f)


@cached()
def asset_projects(url: str, f: CaseFilter, now: datetime) -> dict:
    e = get_engine(url)
    return {"all": assets.project_list(e, f), "not_operating": assets.projects_not_operating(e, f, now)}


@cached()
def asset_card(url: str, f: CaseFilter, code: str, user):
    return assets.project_card(get_engine(url), f, code, user)


# --- clean-governance units (清廉单元) --------------------------------------------------------------------

@cached()
def clean_loaded(url: str) -> tuple[bool, bool]:
    from data_access.queries import clean_units as clean

    return clean.clean_data_loaded(get_engine(url))


@cached()
def clean_months(url: str, f: CaseFilter) -> list[str]:
    from data_access.queries import clean_units as clean

    return clean.review_months(get_engine(url), f)


@cached()
def clean_summary(url: str, f: CaseFilter, month: str | None, kind: str | None):
    from data_access.queries import clean_units as clean

    return clean.clean_summary(get_engine(url), f, month, kind)


@cached(max_entries=50)
def clean_review(url: str, f: CaseFilter, month: str, kind: str | None, now: datetime):
    from data_access.queries import clean_units as clean

    return clean.month_review(get_engine(url), f, month, kind, now)


@cached()
def clean_by_kind(url: str, f: CaseFilter):
    from data_access.queries import clean_units as clean

    return clean.units_by_kind(get_engine(url), f)


@cached()
def clean_by_child(url: str, f: CaseFilter, month: str | None, kind: str | None):
    from data_access.queries import clean_units as clean

    return clean.units_by_child_region(get_engine(url), f, month, kind)


@cached()
def clean_trend(url: str, f: CaseFilter, kind: str | None):
    from data_access.queries import clean_units as clean

    return clean.monthly_trend(get_engine(url), f, kind)


@cached()
def clean_named(url: str, f: CaseFilter, kind: str | None):
    from data_access.queries import clean_units as clean

    return clean.named_units(get_engine(url), f, kind)


@cached()
def clean_unit_history(url: str, f: CaseFilter, code: str, kind: str | None, user):
    from data_access.queries import clean_units as clean

    return clean.unit_history(get_engine(url), f, code, kind, user)
