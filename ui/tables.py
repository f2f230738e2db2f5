"""Tables described as data: ``(column, catalog key, kind)`` lists, as the bulletin workbook's already are
(ui/bulletin.py), rendered by one helper instead of hand-written ``st.column_config`` in every page.

Kinds: ``text``; ``int`` (a count, localized); ``number`` (a number formatted as Streamlit infers it);
``pct`` (a fraction 0–1 shown as 12.3 %: the helper multiplies by 100, so pages pass the fractions data_access
returns); ``pct2`` (two decimals); ``bar`` (a fraction 0–1 as a bar of 0–100 %); ``num0``, ``num1``, ``num2``
(decimals); ``change`` (a signed whole number, +2 / -1); ``datetime`` (YYYY-MM-DD HH:mm); ``date``
(YYYY-MM-DD); ``case`` (a case number that opens it in the workbench; the column holds the plain number);
``link`` (a URL whose display text is the part after ``=``).  The label is the catalog key's text (a key not
in the catalog, such as ``"#"``, is shown as it is).

A fourth element, a dict, passes options through to the column (``help``, ``pinned``, ``width``…; ``help``
is a catalog key), plus these, which the helper applies itself:

- ``format``: the number or date format, instead of the kind's;
- ``labels``: what the column's codes are shown as: a catalog prefix (``"enum.status"``: a code ``x`` is
  shown as the text of ``enum.status.x``) or a dict (code → text; other codes as they are);
- ``style``: a function of the cell's value as data_access returned it (the code, before ``labels``) to
  its CSS (pandas' Styler), e.g. :func:`colored`; ``style_by`` names another column whose value is passed
  instead (a row flag that colours several cells);
- ``help_args``: fills the help text's placeholders.

:func:`pick` takes the columns of one description in another order (a table shown in several lists);
:func:`show`'s ``style`` styles the prepared frame instead (``lambda df: df.style.apply(…)``).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from .state import t

Column = tuple  # (column, key, kind) or (column, key, kind, options)

_NUMBER_FORMATS = {"int": "localized", "number": None, "pct": "%.1f%%", "pct2": "%.2f%%", "num0": "%.0f",
                   "num1": "%.1f", "num2": "%.2f", "change": "%+d"}
_DATE_FORMATS = {"datetime": "YYYY-MM-DD HH:mm", "date": "YYYY-MM-DD"}
_PERCENT = ("pct", "pct2", "bar")
_OWN_OPTIONS = ("format", "labels", "style", "style_by", "help_args")  # applied here, not passed to st.column_config


def _parts(col: Column) -> tuple[str, str, str, dict]:
    name, key, kind, *rest = col
    return name, key, kind, dict(rest[0]) if rest else {}


def column_config(columns: Sequence[Column]) -> dict[str, Any]:
    """``st.column_config`` for ``columns``, labels translated in the session's language."""
    out: dict[str, Any] = {}
    for name, key, kind, opts in map(_parts, columns):
        fmt, help_args = opts.get("format"), opts.get("help_args", {})
        opts = {k: v for k, v in opts.items() if k not in _OWN_OPTIONS}
        if "help" in opts:
            opts["help"] = t(opts["help"], **help_args)
        label = t(key)
        if kind in _NUMBER_FORMATS:
            out[name] = st.column_config.NumberColumn(label, format=fmt or _NUMBER_FORMATS[kind], **opts)
        elif kind == "bar":
            out[name] = st.column_config.ProgressColumn(label, format=fmt or "%.0f%%", min_value=0, max_value=100,
                                                        **opts)
        elif kind == "datetime":
            out[name] = st.column_config.DatetimeColumn(label, format=fmt or _DATE_FORMATS[kind], **opts)
        elif kind == "date":
            out[name] = st.column_config.DateColumn(label, format=fmt or _DATE_FORMATS[kind], **opts)
        elif kind in ("case", "link"):
            out[name] = st.column_config.LinkColumn(label, display_text=r"=(.*)$" if kind == "link" else
                                                    r"case=(.*)$", **opts)
        elif kind == "text":
            out[name] = st.column_config.TextColumn(label, **opts)
        else:
            raise ValueError(f"{name}: unknown column kind {kind!r}")
    return out


def _label(labels: str | Mapping[str, str]) -> Callable[[object], object]:
    if isinstance(labels, str):
        return lambda code: t(f"{labels}.{code}") if isinstance(code, str) else code
    return lambda code: labels.get(code, code) if isinstance(code, str) else code


def prepare(df: pd.DataFrame, columns: Sequence[Column]) -> pd.DataFrame:
    """``df`` as shown: fractions as per cent, codes as their labels, case numbers as links into the
    workbench."""
    changes = {}
    for name, _key, kind, opts in map(_parts, columns):
        if name not in df:
            continue
        if kind in _PERCENT:
            changes[name] = df[name].astype(float) * 100
        elif kind == "case":
            changes[name] = [f"cases?case={c}" for c in df[name]]
        elif "labels" in opts:
            changes[name] = list(map(_label(opts["labels"]), df[name]))
    return df.assign(**changes) if changes else df


def colored(colors: Mapping[str, str]) -> Callable[[object], str]:
    """A ``style``: a code's colour from ``colors`` (the text colour otherwise), in bold."""
    return lambda code: f"color: {colors.get(code, 'inherit')}; font-weight: 600"


def styled(shown: pd.DataFrame, df: pd.DataFrame, columns: Sequence[Column]):
    """``shown`` (``df`` prepared) with the ``style`` of its columns (a pandas Styler), or ``shown`` itself
    when no column has one.  Only the columns on screen go through the Styler (it works cell by cell, the
    costliest part of drawing a large table)."""
    styles = [(name, opts) for name, _key, _kind, opts in map(_parts, columns) if "style" in opts and name in shown]
    if not styles:
        return shown
    shown = shown[[c[0] for c in columns if c[0] in shown]]
    css = pd.DataFrame("", index=shown.index, columns=shown.columns)
    for name, opts in styles:
        css[name] = [opts["style"](v) for v in df[opts.get("style_by", name)]]
    return shown.style.apply(lambda _frame: css, axis=None)


def options(columns: Sequence[Column], df: pd.DataFrame | None = None) -> dict[str, Any]:
    """``column_order`` and ``column_config`` for ``st.dataframe`` (columns missing from ``df`` left out)."""
    order = [c[0] for c in columns if df is None or c[0] in df]
    return {"column_order": order, "column_config": column_config(columns)}


def pick(columns: Sequence[Column], names: Sequence[str]) -> list[Column]:
    """The columns called ``names``, in that order."""
    by_name = {c[0]: c for c in columns}
    return [by_name[n] for n in names]


# Streamlit's table and chart toolbars (Show/hide columns, Search, Fullscreen…) speak English only, and over a
# table they cover the buttons above it: hidden on a Chinese page.  Their CSV download is off in every language
# (client.disableDataExport in .streamlit/config.toml).
_HIDE_TOOLBAR = '<style>[data-testid="stElementToolbar"] { display: none; }</style>'


def toolbar_style(lang: str) -> None:
    """Once a run, in the frame: no English element toolbar on a Chinese page."""
    if lang == "zh":
        st.html(_HIDE_TOOLBAR)


def dataframe(data, **kwargs):
    """The one ``st.dataframe`` call of the app (every table goes through here or :func:`show`)."""
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("placeholder", "—")
    return st.dataframe(data, **kwargs)


def show(df: pd.DataFrame, columns: Sequence[Column], style: Callable[[pd.DataFrame], Any] | None = None,
         **kwargs):
    """``df`` as a table of ``columns`` (in their order), with "—" for a missing value; ``style`` turns the
    frame as shown into a ``Styler`` (else the columns' own ``style`` options apply).  Returns what
    ``st.dataframe`` returns (the selection, with ``on_select``: see :func:`selected`)."""
    shown = prepare(df, columns)
    return dataframe(style(shown) if style else styled(shown, df, columns), **options(columns, df), **kwargs)


def selected(event, df: pd.DataFrame, column: str) -> str | None:
    """The ``column`` value of the row picked in a table of ``df`` shown with ``selection_mode="single-row"``
    (None when no row is picked)."""
    rows = event.selection.rows if event is not None else []
    return str(df[column].iloc[rows[0]]) if rows else None
