"""Lists shown up to a number of rows: the one helper every capped list goes through.

A list longer than :data:`ROWS` shows its first rows, says so ("显示前 500 条，共 3,723 条") and offers the whole
list as an Excel file (the same rows as on screen, so masked the same way), recorded in the audit log like
every other export.  A query it serves takes ``limit`` (None = every row) and ``count`` (True = the number of
rows of the whole list, counted in SQL through the statement that lists them): the total is a COUNT, and the
whole list is read only when its download is clicked."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from data_access.core import audit
from data_access.core.access import User
from data_access.core.clock import wall_now

from . import data, fmt, tables
from .auth import current_user
from .i18n import translate
from .state import lang, t
from .workbook import SafeWorkbook

ROWS = 500  # the most rows a list shows (read when called: tests lower it)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# tables.py kinds → the workbook's number formats (ui/workbook.NUMBER_FORMATS)
_KINDS = {"int": "int", "num0": "int", "number": "num2", "num1": "num1", "num2": "num2", "pct": "pct",
          "pct2": "pct", "bar": "pct", "change": "change", "datetime": "ts", "date": "date"}


@dataclass(frozen=True)
class Capped:
    rows: pd.DataFrame  # what the list shows: at most the cap
    total: int  # rows of the whole list
    whole: Callable[[], pd.DataFrame] | None = None  # reads the whole list (the download), when it is longer

    @property
    def cut(self) -> bool:
        return self.whole is not None

    def map(self, fn: Callable[[pd.DataFrame], pd.DataFrame]) -> Capped:
        """The same list with ``fn`` applied to its rows (and to the whole list, when it is read)."""
        whole = self.whole
        return Capped(fn(self.rows), self.total, None if whole is None else (lambda: fn(whole())))


def fetch(query: Callable[..., pd.DataFrame], *args, rows: int | None = None, **kwargs) -> Capped:
    """``query``'s first ``rows`` rows (:data:`ROWS` by default) through ``data.get``; when there are more, their
    number from the same function with ``count=True`` (a COUNT over the list's own statement), and the whole
    list only when its download is asked for."""
    cap = rows or ROWS
    head = data.get(query, *args, limit=cap + 1, **kwargs)
    if len(head) <= cap:
        return Capped(head, len(head))
    total = data.get(query, *args, count=True, **kwargs)
    return Capped(head.iloc[:cap], int(total), lambda: data.get(query, *args, limit=None, **kwargs))


def _labelled(df: pd.DataFrame, columns: Sequence[tables.Column], lg: str) -> tuple[pd.DataFrame, list]:
    """``df`` with codes as their labels in ``lg`` (fractions stay fractions: the workbook formats them), and the
    workbook's spec of ``columns``."""
    spec, changes = [], {}
    for col in columns:
        name, key, kind, *rest = col
        opts = rest[0] if rest else {}
        if name not in df:
            continue
        spec.append((name, key, _KINDS.get(kind, "text")))
        labels = opts.get("labels")
        if isinstance(labels, str):
            changes[name] = [translate(f"{labels}.{v}", lg) if isinstance(v, str) else v for v in df[name]]
        elif isinstance(labels, dict):
            changes[name] = [labels.get(v, v) if isinstance(v, str) else v for v in df[name]]
    return df.assign(**changes), spec


def export_file(engine: Engine, user: User | None, df: pd.DataFrame, columns: Sequence[tables.Column], *,
                target: str, list_key: str, lang: str) -> bytes:
    """The whole list as an .xlsx (every text written as text, never a formula), its export recorded in the
    audit log."""
    shown, spec = _labelled(df, columns, lang)
    book = SafeWorkbook(lang)
    book.table(translate("capped.sheet", lang), spec, shown)
    body = book.close()
    audit.record(engine, "export", user=user, target=target, rows=len(df),
                 detail={"format": "xlsx", "list": list_key})
    return body


def note(c: Capped, columns: Sequence[tables.Column], name: str, key: str) -> None:
    """Under a capped list: how many rows it shows of how many, and the download of the whole list."""
    if not c.cut:
        return
    lg = lang()
    user = current_user()
    target = f"{name}_{wall_now():%Y-%m-%d}.xlsx"
    whole = c.whole
    cols = st.columns([3, 2], vertical_alignment="center")
    cols[0].caption(t("capped.note", shown=fmt.count(len(c.rows), lg), total=fmt.count(c.total, lg)))

    def made() -> bytes:  # on the click (a deferred download): the whole list is read only then
        return export_file(data.engine(), user, whole(), columns, target=target, list_key=key, lang=lg)

    cols[1].download_button(t("capped.export", n=fmt.count(c.total, lg)), made, file_name=target, mime=XLSX,
                            icon=":material/table_view:", on_click="ignore", key=f"{key}_full_xlsx",
                            help=t("capped.export.help"), width="stretch")


def show(c: Capped, columns: Sequence[tables.Column], name: str, key: str,
         draw: Callable[[pd.DataFrame], None] | None = None) -> None:
    """A capped list: its rows (``draw``, else :func:`tables.show` of ``columns``), then :func:`note`."""
    (draw or (lambda df: tables.show(df, columns)))(c.rows)
    note(c, columns, name, key)

