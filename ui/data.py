"""The one way a page reaches data_access: the page names the function that answers its question::

    cur, prev = data.get(overview.case_kpis_with_previous, f, now)   # cached, read replica
    detail = data.fresh(cases.case_detail, case_no, user, now=now)    # uncached, primary
    sid = data.write(orders.issue_supervision, user, order)          # primary, then every cache dropped

:func:`get` keeps the cache key (the query's name and every argument; a filter or scope by its fields, the
user's jurisdiction included, so no session sees another's numbers), the database (the read replica when one
is configured, ``primary=True`` for what must show a write at once) and the loading state.  Answers expire on
the refresh interval, so live data shows up within one interval.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TypeVar

import streamlit as st
import streamlit.elements.spinner as _spinner_element

from data_access.core import reference, regions, settings
from data_access.core.clock import now_local
from data_access.core.db import default_url, get_engine, replica_url
from data_access.core.filters import CaseFilter, Scope
from data_access.core.meta import data_updated_at

REFRESH_S = int(settings.number("GOV_REFRESH_SECONDS", 60, minimum=5, unit="seconds"))
T = TypeVar("T")

_FILTER_FIELDS = tuple(fl.name for fl in dataclasses.fields(CaseFilter))
_PLAIN = (str, int, float, bool, type(None), date)  # datetime is a date


def _filter_key(f: CaseFilter):
    """A filter's cache key: every field, by name.  Its repr when every value is a plain one (~0.03 ms);
    Streamlit hashing the dataclass itself takes ~0.25 ms, on each of the half-dozen cached calls of a run."""
    items = tuple((name, getattr(f, name)) for name in _FILTER_FIELDS)
    if all(isinstance(v, _PLAIN) or (isinstance(v, tuple) and all(isinstance(x, _PLAIN) for x in v))
           for _, v in items):
        return repr(items)
    return items


_KEYS = {CaseFilter: _filter_key, Scope: lambda s: repr((s.scope_code, s.region_code))}  # a scope: its two codes

# Anything that takes more than about 200 ms shows that the page is working: Streamlit's spinner delay
# (``DELAY_SECS``, 0.5 s) lowered here, the one place, for every spinner of the app.
_spinner_element.DELAY_SECS = 0.2


class _LoadingText(str):
    """The text of a cache miss's spinner, translated when shown: ``st.cache_data`` takes ``show_spinner`` at
    import, when no session and so no language is known, and calls ``str()`` on it in the session's run."""

    __slots__ = ()

    def __str__(self) -> str:
        from .state import t

        return t("common.loading")


LOADING = _LoadingText("common.loading")


def cached(ttl: int = REFRESH_S, **options):
    """``st.cache_data`` as every reader here uses it: filters keyed by :func:`_filter_key`, 正在加载… /
    Loading… on a miss (after 0.2 s), expiring after the refresh interval unless ``ttl`` says otherwise."""
    return st.cache_data(hash_funcs=_KEYS, ttl=ttl, show_spinner=LOADING, **options)


def db_url() -> str:
    """The primary database: writes, sign-in, the audit log, and what must show a write at once."""
    return default_url()


def read_url() -> str:
    """Where the dashboards read: the read replica (``GOV_DB_READ_URL``) when configured, else the primary."""
    return replica_url() or default_url()


def engine():
    return get_engine(db_url())


@cached(max_entries=2000)
def _answer(url: str, name: str, args: tuple, kwargs: dict, _query: Callable):
    return _query(get_engine(url), *args, **kwargs)


@cached(ttl=3600)
def _reference(url: str, name: str, version: str | None, _query: Callable):
    return _query(get_engine(url))


def get(query: Callable[..., T], *args, primary: bool = False, **kwargs) -> T:
    """``query(engine, *args, **kwargs)``, cached for the refresh interval (the one cached call of every page).
    Reads the replica unless ``primary`` (the workbench, which must show an order the moment it is issued)."""
    name = f"{query.__module__}.{query.__qualname__}"
    return _answer(db_url() if primary else read_url(), name, args, kwargs, _query=query)


def reference_list(query: Callable[..., T]) -> T:
    """A small reference list (categories, departments, time limits): kept an hour, or until the data change."""
    url = read_url()
    return _reference(url, f"{query.__module__}.{query.__qualname__}", updated_at(url), _query=query)


def fresh(query: Callable[..., T], *args, **kwargs) -> T:
    """``query(engine, *args, **kwargs)`` on the primary, not cached: one case, the audit log (must be current)."""
    return query(engine(), *args, **kwargs)


def write(action: Callable[..., T], *args, **kwargs) -> T:
    """A write on the primary; it changes counts, lists and the data-as-of time everywhere, so every cached
    answer is dropped afterwards (also when it was refused: nothing is lost by reading again)."""
    try:
        return action(engine(), *args, **kwargs)
    finally:
        st.cache_data.clear()


def now_bucket() -> datetime:
    """Now, rounded down to the refresh interval (so "overdue" is stable within one interval)."""
    n = now_local()
    epoch = datetime(2000, 1, 1)
    secs = int((n - epoch).total_seconds()) // REFRESH_S * REFRESH_S
    return epoch + timedelta(seconds=secs)


@cached()
def updated_at(url: str) -> str | None:
    return data_updated_at(get_engine(url))


def tree():
    """The region tree (kept by data version in data_access.core.regions)."""
    return regions.region_tree(engine())


def category_labels() -> dict[str, str]:
    """Category code → its name in the session's language (the one place that picks the column)."""
    from .state import lang

    cats = reference_list(reference.case_categories)
    return dict(zip(cats["code"], cats["name_zh" if lang() == "zh" else "name_en"]))
