"""Choices kept in the URL, so a view is a link a colleague can open: the frame's language and period, and
every filter of a page.

Each :class:`Param` is one widget's value: read from the URL on the session's first visit of the page (a
value that is not allowed is dropped with a small notice), kept in session state while the user works (also
across pages, per widget, so one page's ``q`` or ``view`` never reaches another page), and written back to
the URL.  Lists travel as one comma-separated parameter.

The URL can also change from outside while the session lives: the browser's back / forward, an
``st.page_link`` or ``st.switch_page`` with ``query_params``.  The app notes the URL as it left it
(:func:`remember_url`, after every write); at the start of each run :func:`follow_outside_changes` compares
the URL the browser sent with that note, and a parameter whose value differs is read from the URL again, as
on a first visit (validated, with the notice): the frame's region and custom dates at once, a page's
parameters by that page's :func:`seed` (so the same name on another page, a ``q`` or a ``view``, keeps its
value).  A widget click sends back exactly the URL the app wrote, so it changes nothing; a parameter missing
from the URL is left alone (moving through the navigation sends no query string at all).
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import streamlit as st

from . import state

MAX_TEXT = 100
_KEPT = "url_kept"  # widget key -> last value, for when a page's widgets come back after a visit elsewhere
_WRITTEN = "url_written"  # the URL as the app last left it (what the browser sends back on a widget click)
_CHANGED = "url_changed"  # URL parameters changed from outside, for seed() in this run
# Session keys holding a frame choice that code of its own reads from the URL on a first run (not a Param):
# dropped when the URL brings another value, so that code reads and validates the URL again.
_HELD_ELSEWHERE = {"region": ("region_code",), "from": ("custom_dates",), "to": ("custom_dates",)}


@dataclass(frozen=True)
class Param:
    key: str  # URL parameter name; the widget key is "wb_" + key
    kind: str  # "list", "choice", "bool", "text"
    allowed: Collection[str] | None = None  # for list and choice
    default: Any = None
    widget: str | None = None  # the widget's key; default "wb_" + key (a page filter)

    @property
    def widget_key(self) -> str:
        return self.widget or f"wb_{self.key}"


def _clean_text(value: str) -> str:
    # No control characters (a pasted link may carry them); the rest is searched for literally.
    return "".join(ch for ch in value if ch.isprintable())[:MAX_TEXT]


def parse(p: Param, raw: str | None) -> tuple[Any, bool]:
    """(value, ok) for a URL value; ok=False means it was invalid and the default is used."""
    if raw is None or raw == "":
        return p.default, True
    if p.kind == "list":
        items = [x for x in raw.split(",") if x]
        good = [x for x in dict.fromkeys(items) if p.allowed is None or x in p.allowed]
        return good, len(good) == len(set(items))
    if p.kind == "choice":
        return (raw, True) if p.allowed is None or raw in p.allowed else (p.default, False)
    if p.kind == "bool":
        return (raw == "1", True) if raw in ("0", "1") else (p.default, False)
    text = _clean_text(raw)
    return text, text == raw


def to_url(p: Param, value: Any) -> str | None:
    """The URL form of a value, or None to leave the parameter out (the default)."""
    if value is None or value == p.default or value == [] or value == "":
        return None
    if p.kind == "list":
        return ",".join(value)
    if p.kind == "bool":
        return "1" if value else None
    return str(value)


def remember_url() -> None:
    """Note the URL as the app leaves it (call after writing to ``st.query_params``)."""
    st.session_state[_WRITTEN] = st.query_params.to_dict()


def outside_changes() -> dict[str, str]:
    """The URL's parameters whose value is not the one the app last wrote (all of them on a first run)."""
    written = st.session_state.get(_WRITTEN, {})
    return {k: v for k, v in st.query_params.to_dict().items() if written.get(k) != v}


def follow_outside_changes() -> None:
    """Call at the start of every run, before any choice is read: a parameter the browser brought with
    another value than the app wrote (history, a link) is read from the URL again, the frame's region and
    custom dates here, each :class:`Param` by :func:`seed`."""
    changed = outside_changes()
    for k in changed:
        for key in _HELD_ELSEWHERE.get(k, ()):
            st.session_state.pop(key, None)
    st.session_state[_CHANGED] = set(changed)


def seed(params: list[Param]) -> None:
    """Give each widget its value before it is drawn: the URL's if it changed from outside, else the
    session's, else the one kept from the page's last visit, else the URL's (validated), else default."""
    changed: set[str] = st.session_state.get(_CHANGED, set())
    kept = st.session_state.get(_KEPT, {})
    for p in params:
        if p.key in changed:
            changed.discard(p.key)  # once: a page seeding again in the same run keeps what the user has
        elif p.widget_key in st.session_state:
            continue
        elif p.widget_key in kept:
            st.session_state[p.widget_key] = kept[p.widget_key]
            continue
        value, ok = parse(p, st.query_params.get(p.key))
        if not ok:
            state.notice_bad_param(p.key)
        st.session_state[p.widget_key] = value


def keep_valid(params: list[Param]) -> None:
    """After :func:`seed`: a choice kept from elsewhere (another page's ``view``, another region's months) that
    this page does not offer falls back to its default."""
    for p in params:
        if p.kind == "choice" and st.session_state.get(p.widget_key) not in p.allowed:
            st.session_state[p.widget_key] = p.default


def publish(params: list[Param]) -> dict[str, Any]:
    """Write the widgets' values to the URL and keep them for the next visit of the page; returns them."""
    values: dict[str, Any] = {}
    for p in params:
        value = st.session_state.get(p.widget_key, p.default)
        values[p.key] = value
        url = to_url(p, value)
        if url is None:
            if p.key in st.query_params:
                del st.query_params[p.key]
        elif st.query_params.get(p.key) != url:
            st.query_params[p.key] = url
    st.session_state[_KEPT] = {**st.session_state.get(_KEPT, {}), **{p.widget_key: values[p.key] for p in params}}
    remember_url()
    return values


def reset(params: list[Param], on_reset: Callable[[], None] | None = None) -> None:
    """Button callback: every filter back to its default."""
    for p in params:
        st.session_state[p.widget_key] = p.default
    if on_reset:
        on_reset()
