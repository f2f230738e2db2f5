"""Tables described as data: ``(column, catalog key, kind)`` lists, as the bulletin workbook's already are
(ui/bulletin.py), rendered by one helper instead of hand-written ``st.column_config`` in every page.

Kinds: ``text``; ``int`` (a count, localized); ``pct`` (a fraction 0–1 shown as 12.3 %: the helper multiplies
by 100, so pages pass the fractions data_access returns); ``pct2`` (two decimals); ``num0``, ``num1``, ``num2``
(decimals); ``datetime`` (YYYY-MM-DD HH:mm); ``date`` (YYYY-MM-DD); ``case`` (a case number that opens it in the
workbench; the column holds the plain number); ``link`` (a URL whose display text is the part after ``=``);
``number`` (a number in Streamlit's own format, as a ``NumberColumn`` without one shows it); ``change`` (a
signed whole number: +2, -1, a change of rank).
A fourth element, a dict, passes options through to the column (``help``, ``pinned``, ``width``…); its
``"help"`` and ``"label"`` values are catalog keys.  Two options are read here: ``"help_args"`` fills the help
text's placeholders, ``"format"`` replaces a number kind's format (``"%.0f%%"`` for a value already in per cent).

:func:`pick` takes the columns of one description in another order (a table shown in several lists);
:func:`show`'s ``style`` styles the prepared frame (``lambda df: df.style.apply(…)``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from .state import t

Column = tuple  # (column, key, kind) or (column, key, kind, options)

_NUMBER_FORMATS = {"int": "localized", "pct": "%.1f%%", "pct2": "%.2f%%", "num0": "%.0f", "num1": "%.1f",
                   "num2": "%.2f", "number": None, "change": "%+d"}
_PERCENT = ("pct", "pct2")


def _parts(col: Column) -> tuple[str, str, str, dict]:
    name, key, kind, *rest = col
    return name, key, kind, dict(rest[0]) if rest else {}


def column_config(columns: Sequence[Column]) -> dict[str, Any]:
    """``st.column_config`` for ``columns``, labels translated in the session's language."""
    out: dict[str, Any] = {}
    for name, key, kind, opts in map(_parts, columns):
        if "help" in opts:
            opts["help"] = t(opts["help"], **opts.pop("help_args", {}))
        label = t(key)
        if kind in _NUMBER_FORMATS:
            out[name] = st.column_config.NumberColumn(label, format=opts.pop("format", _NUMBER_FORMATS[kind]), **opts)
        elif kind == "datetime":
            out[name] = st.column_config.DatetimeColumn(label, format="YYYY-MM-DD HH:mm", **opts)
        elif kind == "date":
            out[name] = st.column_config.DateColumn(label, format="YYYY-MM-DD", **opts)
        elif kind in ("case", "link"):
            out[name] = st.column_config.LinkColumn(label, display_text=r"=(.*)$" if kind == "link" else
                                                    r"case=(.*)$", **opts)
        elif kind == "text":
            out[name] = st.column_config.TextColumn(label, **opts)
        else:
            raise ValueError(f"{name}: unknown column kind {kind!r}")
    return out


def prepare(df: pd.DataFrame, columns: Sequence[Column]) -> pd.DataFrame:
    """``df`` as shown: fractions as per cent, case numbers as links into the workbench."""
    changes = {}
    for name, _key, kind, _opts in map(_parts, columns):
        if name not in df:
            continue
        if kind in _PERCENT:
            changes[name] = df[name].astype(float) * 100
        elif kind == "case":
            changes[name] = [f"cases?case={c}" for c in df[name]]
    return df.assign(**changes) if changes else df


def options(columns: Sequence[Column], df: pd.DataFrame | None = None) -> dict[str, Any]:
    """``column_order`` and ``column_config`` for ``st.dataframe`` (columns missing from ``df`` left out)."""
    order = [c[0] for c in columns if df is None or c[0] in df]
    return {"column_order": order, "column_config": column_config(columns)}


def pick(columns: Sequence[Column], names: Sequence[str]) -> list[Column]:
    """The columns called ``names``, in that order."""
    by_name = {c[0]: c for c in columns}
    return [by_name[n] for n in names]


def show(df: pd.DataFrame, columns: Sequence[Column], style: Callable[[pd.DataFrame], Any] | None = None,
         **kwargs):
    """``df`` as a table of ``columns`` (in their order), with "—" for a missing value; ``style`` turns the
    frame as shown into a ``Styler``.  Returns what ``st.dataframe`` returns (the selection, with ``on_select``)."""
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("placeholder", "—")
    shown = prepare(df, columns)
    return st.dataframe(style(shown) if style else shown, **options(columns, df), **kwargs)
