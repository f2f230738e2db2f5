"""The month's review of the clean-governance units (清廉单元月度点评) as an Excel workbook.

Pure rendering of a :class:`data_access.clean.MonthReview` (no Streamlit), so the page's download button and
the tests call the same code.  :func:`display_frame` translates a unit list's codes (kind, rating, named) for
the screen and the workbook alike; the workbook's ranking sheet holds the rows and columns of the ranking on
screen.  Every text from the data is untrusted: the workbook writes it as a string (never a formula, a
number or a link).
"""
from __future__ import annotations

import io
import math
from datetime import date, datetime

import pandas as pd

from data_access.clean import CleanSummary, MonthReview
from ui.bulletin import month_label
from ui.i18n import translate

# (column of display_frame's output, catalog key, kind)
RANKING_DISPLAY: list[tuple[str, str, str]] = [
    ("rank", "cln.col.rank", "int"),
    ("name", "cln.col.unit", "text"),
    ("kind_label", "cln.col.kind", "text"),
    ("place", "cln.col.place", "text"),
    ("score", "cln.col.score", "num1"),
    ("rating_label", "cln.col.rating", "text"),
    ("prev_rank", "cln.col.prev_rank", "int"),
    ("rank_change", "cln.col.rank_change", "change"),
    ("named_label", "cln.col.named", "text"),
    ("note", "cln.col.note", "text"),
    ("unit_code", "cln.col.code", "text"),
]
NAMED_DISPLAY: list[tuple[str, str, str]] = [
    ("name", "cln.col.unit", "text"),
    ("kind_label", "cln.col.kind", "text"),
    ("place", "cln.col.place", "text"),
    ("score", "cln.col.score", "num1"),
    ("rank", "cln.col.rank", "int"),
    ("note", "cln.col.note", "text"),
    ("unit_code", "cln.col.code", "text"),
]
UNREVIEWED_DISPLAY: list[tuple[str, str, str]] = [
    ("name", "cln.col.unit", "text"),
    ("kind_label", "cln.col.kind", "text"),
    ("place", "cln.col.place", "text"),
    ("applied_on", "cln.col.applied_on", "date"),
    ("unit_code", "cln.col.code", "text"),
]
_XLSX_FORMATS = {"num1": "0.0", "int": "0", "change": "+0;-0;0", "date": "yyyy-mm-dd", "ts": "yyyy-mm-dd hh:mm"}
_WIDTHS = {"text": 14, "int": 8, "num1": 9, "change": 9, "date": 12, "ts": 17}


def _missing(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def kind_label(kind: str | None, lang: str) -> str:
    """A kind's name; None = every kind."""
    return translate("cln.kind.all", lang) if kind is None else translate(f"cln.kind.{kind}", lang)


def display_frame(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A list of units with its codes translated: kind_label, rating_label, named_label (when present)."""
    out = df.copy()
    if "kind" in out:
        out["kind_label"] = [kind_label(k, lang) for k in out["kind"]]
    if "rating" in out:
        out["rating_label"] = [translate(f"cln.rating.{x}", lang) if isinstance(x, str) else "" for x in out["rating"]]
    if "notified" in out:
        out["named_label"] = [translate("cln.named.mark", lang) if bool(x) else "" for x in out["notified"]]
    if "note" in out:
        out["note"] = [x if isinstance(x, str) else "" for x in out["note"]]
    return out


def title(review: MonthReview, lang: str) -> str:
    region = review.region_name or translate("bulletin.all_regions", lang)
    return translate("cln.xlsx.title", lang, region=region, month=month_label(review.month, lang),
                     kind=kind_label(review.kind, lang))


def file_name(review: MonthReview) -> str:
    return f"clean_review_{review.region_code or 'all'}_{review.month}_{review.kind or 'all'}.xlsx"


def _summary_rows(s: CleanSummary, p: CleanSummary, lang: str) -> list[tuple[str, object, object, str]]:
    """(label, this month, previous month, kind) of the headline numbers."""
    def item(key: str) -> str:
        return translate(key, lang)

    return [
        (item("cln.kpi.units"), s.units, None, "int"),
        (item("cln.kpi.reviewed"), s.reviewed, p.reviewed, "int"),
        (item("cln.kpi.avg_score"), s.avg_score, p.avg_score, "num1"),
        (item("cln.kpi.good"), s.good, p.good, "int"),
        (item("cln.rating.fair"), s.fair, p.fair, "int"),
        (item("cln.rating.poor"), s.poor, p.poor, "int"),
        (item("cln.kpi.named"), s.named, p.named, "int"),
        (item("cln.kpi.named_ytd"), s.named_ytd, p.named_ytd if p.month and p.month[:4] == s.month[:4] else None,
         "int"),
    ]


def review_workbook(review: MonthReview, lang: str) -> bytes:
    """The month's review as an .xlsx file: 概况 (summary and definitions), 排名 (the ranking as on screen),
    通报 (units named this month), 未参评 (units without a review of the month)."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False, "remove_timezone": True})
    head = wb.add_format({"bold": True, "bg_color": "#DDE6F0", "border": 1, "text_wrap": True, "valign": "top"})
    title_fmt = wb.add_format({"bold": True, "font_size": 14})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    formats = {kind: wb.add_format({"num_format": nf}) for kind, nf in _XLSX_FORMATS.items()}

    def cell(ws, row: int, col: int, v, kind: str) -> None:
        if _missing(v) or (kind == "text" and v == ""):
            ws.write_blank(row, col, None)
        elif kind == "text":
            ws.write_string(row, col, str(v))
        elif kind in ("date", "ts"):
            d = v if isinstance(v, datetime) else datetime.combine(v, datetime.min.time()) \
                if isinstance(v, date) else pd.Timestamp(v).to_pydatetime()
            ws.write_datetime(row, col, d, formats[kind])
        else:
            ws.write_number(row, col, float(v), formats[kind])

    def table(name: str, spec: list[tuple[str, str, str]], df: pd.DataFrame) -> None:
        ws = wb.add_worksheet(name)
        for col, (_c, key, kind) in enumerate(spec):
            label = translate(key, lang)
            ws.set_column(col, col, max(_WIDTHS[kind], min(40, len(label) * 2 + 2)))
            ws.write_string(0, col, label, head)
        for row, values in enumerate(df[[c for c, _k, _kind in spec]].itertuples(index=False), start=1):
            for col, ((_c, _key, kind), v) in enumerate(zip(spec, values)):
                cell(ws, row, col, v, kind)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(df), 1), len(spec) - 1)

    # 概况
    ws = wb.add_worksheet(translate("cln.xlsx.sheet.summary", lang))
    ws.set_column(0, 0, 26)
    ws.set_column(1, 3, 16)
    ws.write_string(0, 0, title(review, lang), title_fmt)
    info = [
        ("cln.xlsx.region", review.region_name or translate("bulletin.all_regions", lang)),
        ("cln.xlsx.month", month_label(review.month, lang)),
        ("cln.xlsx.kind", kind_label(review.kind, lang)),
        ("cln.xlsx.generated", f"{review.generated_at:%Y-%m-%d %H:%M}"),
    ]
    for i, (key, value) in enumerate(info, start=2):
        ws.write_string(i, 0, translate(key, lang), head)
        ws.write_string(i, 1, value)
    top = len(info) + 3
    for col, key in enumerate(("bulletin.col.item", "bulletin.col.this_month", "bulletin.col.prev_month",
                               "bulletin.col.change")):
        ws.write_string(top, col, translate(key, lang), head)
    rows = _summary_rows(review.summary, review.prev_summary, lang)
    for i, (label, cur, prev, kind) in enumerate(rows, start=top + 1):
        ws.write_string(i, 0, label)
        cell(ws, i, 1, cur, kind)
        cell(ws, i, 2, prev, kind)
        if not _missing(cur) and not _missing(prev):
            cell(ws, i, 3, cur - prev, "change" if kind == "int" else kind)
    method_row = top + len(rows) + 2
    ws.write_string(method_row, 0, translate("cln.xlsx.method", lang), head)
    ws.merge_range(method_row, 1, method_row + 9, 3, translate("cln.method", lang), wrap)
    ws.freeze_panes(1, 0)

    ranking = display_frame(review.ranking, lang)
    table(translate("cln.xlsx.sheet.ranking", lang), RANKING_DISPLAY, ranking)
    table(translate("cln.xlsx.sheet.named", lang), NAMED_DISPLAY, ranking[ranking["notified"]])
    table(translate("cln.xlsx.sheet.unreviewed", lang), UNREVIEWED_DISPLAY, display_frame(review.unreviewed, lang))
    wb.close()
    return buf.getvalue()
