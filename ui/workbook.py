"""The Excel workbooks the monthly bulletins download (督办通报, 清廉单元点评): one writer for both.

Every text from the data is untrusted: it is written as a string, never a formula, a number or a link.
Columns are described as ``(column, catalog key, kind)``; the kinds are the keys of :data:`NUMBER_FORMATS`
plus ``text``.  No Streamlit.
"""
from __future__ import annotations

import io
import math
from datetime import date, datetime

import pandas as pd

from ui.i18n import translate

NUMBER_FORMATS = {"pct": "0.0%", "num1": "0.0", "num2": "0.00", "int": "0", "change": "+0;-0;0",
                  "date": "yyyy-mm-dd", "ts": "yyyy-mm-dd hh:mm"}
WIDTHS = {"text": 16, "int": 9, "pct": 11, "num1": 10, "num2": 10, "change": 10, "date": 12, "ts": 17}
SUMMARY_HEAD = ("bulletin.col.item", "bulletin.col.this_month", "bulletin.col.prev_month", "bulletin.col.change")


def missing(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


class SafeWorkbook:
    """An in-memory .xlsx with the bulletins' formats; :meth:`close` returns its bytes."""

    def __init__(self, lang: str) -> None:
        import xlsxwriter

        self.lang = lang
        self._buf = io.BytesIO()
        self.wb = xlsxwriter.Workbook(self._buf, {"in_memory": True, "strings_to_formulas": False,
                                                  "strings_to_urls": False, "strings_to_numbers": False,
                                                  "remove_timezone": True})
        self.head = self.wb.add_format({"bold": True, "bg_color": "#DDE6F0", "border": 1, "text_wrap": True,
                                        "valign": "top"})
        self.title = self.wb.add_format({"bold": True, "font_size": 14})
        self.wrap = self.wb.add_format({"text_wrap": True, "valign": "top"})
        self.formats = {kind: self.wb.add_format({"num_format": nf}) for kind, nf in NUMBER_FORMATS.items()}

    def cell(self, ws, row: int, col: int, v, kind: str) -> None:
        if missing(v) or (kind == "text" and v == ""):
            ws.write_blank(row, col, None)
        elif kind == "text" or isinstance(v, str):  # a word in a number column (未到期) stays a word
            ws.write_string(row, col, str(v))
        elif kind in ("date", "ts"):
            d = v if isinstance(v, datetime) else datetime.combine(v, datetime.min.time()) \
                if isinstance(v, date) else pd.Timestamp(v).to_pydatetime()
            ws.write_datetime(row, col, d, self.formats[kind])
        else:
            ws.write_number(row, col, float(v), self.formats[kind])

    def table(self, name: str, spec: list[tuple[str, str, str]], df: pd.DataFrame) -> None:
        """A sheet holding ``df``'s ``spec`` columns under translated headings, frozen and filterable."""
        ws = self.wb.add_worksheet(name)
        for col, (_c, key, kind) in enumerate(spec):
            label = translate(key, self.lang)
            ws.set_column(col, col, max(WIDTHS[kind], min(40, len(label) * 2 + 2)))
            ws.write_string(0, col, label, self.head)
        for row, values in enumerate(df[[c for c, _k, _kind in spec]].itertuples(index=False), start=1):
            for col, ((_c, _key, kind), v) in enumerate(zip(spec, values)):
                self.cell(ws, row, col, v, kind)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(df), 1), len(spec) - 1)

    def summary(self, name: str, title: str, info: list[tuple[str, str]],
                rows: list[tuple[str, object, object, str]], method_key: str, method_text: str,
                method_rows: int) -> None:
        """The summary sheet: a title, ``info`` (catalog key, value) lines, the headline numbers of this month
        against the previous one (label, this, previous, kind) with the change, and the method text."""
        ws = self.wb.add_worksheet(name)
        ws.set_column(0, 0, 26)
        ws.set_column(1, 3, 16)
        ws.write_string(0, 0, title, self.title)
        for i, (key, value) in enumerate(info, start=2):
            ws.write_string(i, 0, translate(key, self.lang), self.head)
            ws.write_string(i, 1, value)
        top = len(info) + 3
        for col, key in enumerate(SUMMARY_HEAD):
            ws.write_string(top, col, translate(key, self.lang), self.head)
        for i, (label, cur, prev, kind) in enumerate(rows, start=top + 1):
            ws.write_string(i, 0, label)
            self.cell(ws, i, 1, cur, kind)
            self.cell(ws, i, 2, prev, kind)
            if not missing(cur) and not missing(prev):
                self.cell(ws, i, 3, cur - prev, "change" if kind == "int" else kind)
        method_row = top + len(rows) + 2
        ws.write_string(method_row, 0, translate(method_key, self.lang), self.head)
        ws.merge_range(method_row, 1, method_row + method_rows, 3, method_text, self.wrap)
        ws.freeze_panes(1, 0)

    def close(self) -> bytes:
        self.wb.close()
        return self._buf.getvalue()
