"""The month's review of the clean-governance units (清廉单元月度点评) as an Excel workbook, and the columns of the
unit lists on screen (:data:`UNIT_COLUMNS`, described as data for ui/tables.py).

Pure rendering of a :class:`data_access.queries.clean_units.MonthReview` (no Streamlit), so the page's download button and
the tests call the same code.  :func:`display_frame` translates a unit list's codes (kind, rating, named) for
the screen and the workbook alike; the workbook's ranking sheet holds the rows and columns of the ranking on
screen.  Every text from the data is untrusted: the workbook writes it as a string (never a formula, a
number or a link).
"""
from __future__ import annotations

import pandas as pd

from data_access.queries.clean_units import CleanSummary, MonthReview
from ui.bulletin import month_label
from data_access.queries.case_export import download_name, region_path_names
from ui.i18n import translate
from ui.workbook import SafeWorkbook

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


# The unit lists on screen (ui/tables.py kinds; each list picks its columns): the ranking, the units rated good
# and named, those not reviewed, every bulletin, a unit's history.
UNIT_COLUMNS: list[tuple] = [
    ("rank", "cln.col.rank", "number", {"width": "small"}),
    ("name", "cln.col.unit", "text", {"width": "medium"}),
    ("kind_label", "cln.col.kind", "text"),
    ("place", "cln.col.place", "text"),
    ("score", "cln.col.score", "num1"),
    ("rating_label", "cln.col.rating", "text"),
    ("prev_rank", "cln.col.prev_rank", "number"),
    ("rank_change", "cln.col.rank_change", "change", {"help": "cln.help.rank_change"}),
    ("named_label", "cln.col.named", "text"),
    ("note", "cln.col.note", "text"),
    ("month", "cln.col.month", "text"),
    ("applied_on", "cln.col.applied_on", "date"),
    ("ranked", "cln.col.ranked", "number"),
]


def score(v) -> str:
    """A score as shown: one decimal; '—' when there is none."""
    return "—" if v is None or pd.isna(v) else f"{v:.1f}"


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


def file_name(review: MonthReview, lang: str, tree=None) -> str:
    """E.g. 娄底市_娄星区_清廉单元点评_2026-11_全部类型.xlsx: the region's names (its code without ``tree``), the
    month and the kind (case_export.download_name keeps it a valid file name)."""
    region = region_path_names(tree, review.region_code) or [translate("bulletin.all_regions", lang)]
    return download_name([*region, translate("cln.file", lang), review.month, kind_label(review.kind, lang)], "xlsx")


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
    book = SafeWorkbook(lang)
    info = [
        ("cln.xlsx.region", review.region_name or translate("bulletin.all_regions", lang)),
        ("cln.xlsx.month", month_label(review.month, lang)),
        ("cln.xlsx.kind", kind_label(review.kind, lang)),
        ("cln.xlsx.generated", f"{review.generated_at:%Y-%m-%d %H:%M}"),
    ]
    book.summary(translate("cln.xlsx.sheet.summary", lang), title(review, lang), info,
                 _summary_rows(review.summary, review.prev_summary, lang), "cln.xlsx.method",
                 translate("cln.method", lang), 9)
    ranking = display_frame(review.ranking, lang)
    book.table(translate("cln.xlsx.sheet.ranking", lang), RANKING_DISPLAY, ranking)
    book.table(translate("cln.xlsx.sheet.named", lang), NAMED_DISPLAY, ranking[ranking["notified"]])
    book.table(translate("cln.xlsx.sheet.unreviewed", lang), UNREVIEWED_DISPLAY,
               display_frame(review.unreviewed, lang))
    return book.close()
