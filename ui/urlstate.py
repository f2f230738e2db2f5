"""Choices kept in the URL, so a view is a link a colleague can open: the frame's language and period, and
every filter of a page.

Each :class:`Param` is one widget's value: read from the URL once per session (a value that is not allowed
is dropped with a small notice), kept in session state while the user works (also across pages), and
written back to the URL.  Lists travel as one comma-separated parameter.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import streamlit as st

from . import state

MAX_TEXT = 100
_KEPT = "url_kept"  # the last values, for when a page's widgets come back after a visit elsewhere


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


def seed(params: list[Param]) -> None:
    """Give each widget its value before it is drawn: the session's, else the URL's (validated), else default."""
    for p in params:
        if p.widget_key in st.session_state:
            continue
        kept = st.session_state.get(_KEPT, {})
        if p.key in kept:
            st.session_state[p.widget_key] = kept[p.key]
            continue
        value, ok = parse(p, st.query_params.get(p.key))
        if not ok:
            state.notice_bad_param(p.key)
        st.session_state[p.widget_key] = value


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
    st.session_state[_KEPT] = {**st.session_state.get(_KEPT, {}), **values}
    return values


def reset(params: list[Param], on_reset: Callable[[], None] | None = None) -> None:
    """Button callback: every filter back to its default."""
    for p in params:
        st.session_state[p.widget_key] = p.default
    if on_reset:
        on_reset()
