"""The month's bulletin (一月一通报) as an Excel workbook and as a printable A4 HTML document.

Pure rendering of a :class:`data_access.queries.supervision.ranking.Bulletin` (no Streamlit), so the page's download buttons and
the tests call the same code.  :func:`ranking_table` is the ranking exactly as the screen shows it; the
workbook's ranking sheet holds the same columns and rows.  Every text from the data is untrusted: the HTML
escapes it, the workbook writes it as a string (never a formula or a link).
"""
from __future__ import annotations

import calendar
import html
from datetime import datetime, timedelta

import pandas as pd

from data_access.queries.supervision.ranking import MAX_RED_ORDERS, Bulletin, ScoreWeights, top_and_bottom
from data_access.queries.case_export import region_path_names
from ui import fmt
from ui.i18n import translate
from ui.workbook import SafeWorkbook
from ui.workbook import missing as _missing

# The ranking as shown: (column of ranking_table's source, catalog key, kind).  Rates are fractions (0–1),
# the score is in points (0–100).
RANKING_DISPLAY: list[tuple[str, str, str]] = [
    # what a reader looks for first: the rank, the score and the move; then the measures; the confidence
    # bounds last (they explain the score, nobody reads them first)
    ("rank", "rank.col.rank", "int"),
    ("name", "rank.col.name", "text"),
    ("score", "rank.col.score", "num1"),
    ("rank_change", "rank.col.rank_change", "change"),
    ("prev_rank", "rank.col.prev_rank", "int"),
    ("cases", "rank.col.cases", "int"),
    ("closed", "rank.col.closed", "int"),
    ("closure_rate", "rank.col.closure_rate", "pct"),
    ("on_time_rate", "rank.col.on_time_rate", "pct"),
    ("overdue_backlog", "rank.col.overdue_backlog", "int"),
    ("prev_overdue_backlog", "bulletin.col.prev_backlog", "int"),
    ("satisfaction_avg", "rank.col.satisfaction_avg", "num2"),
    ("response_rate", "rank.col.response_rate", "pct"),
    ("resolution_rate", "rank.col.resolution_rate", "pct"),
    ("satisfaction_rate", "rank.col.satisfaction_rate", "pct"),
    ("note", "rank.col.note", "text"),
    ("closure_lo", "rank.col.closure_lo", "pct"),
    ("closure_hi", "rank.col.closure_hi", "pct"),
    ("on_time_lo", "rank.col.on_time_lo", "pct"),
    ("on_time_hi", "rank.col.on_time_hi", "pct"),
]
NAMED_DISPLAY: list[tuple[str, str, str]] = [
    ("name", "rank.col.name", "text"),
    ("overdue_backlog", "rank.col.overdue_backlog", "int"),
    ("prev_overdue_backlog", "bulletin.col.prev_backlog", "int"),
    ("cases", "rank.col.cases", "int"),
    ("rank", "rank.col.rank", "int"),
]
RED_DISPLAY: list[tuple[str, str, str]] = [
    ("supervision_id", "bulletin.col.supervision_id", "text"),
    ("case_no", "bulletin.col.case_no", "text"),
    ("title", "bulletin.col.title", "text"),
    ("unit_name", "bulletin.col.unit", "text"),
    ("status", "bulletin.col.status", "text"),
    ("issued_at", "bulletin.col.issued_at", "ts"),
    ("deadline", "bulletin.col.deadline", "ts"),
    ("days_past_deadline", "bulletin.col.days_past", "num1"),
]
CJK_FONT_STACK = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'


def month_label(month: str, lang: str) -> str:
    """'2026-09' → '2026年9月' (zh) / 'September 2026' (en)."""
    y, m = int(month[:4]), int(month[5:7])
    return f"{y}年{m}月" if lang == "zh" else f"{calendar.month_name[m]} {y}"


def file_stem(b: Bulletin, lang: str, tree=None) -> list[str]:
    """The parts of the bulletin's file name: the region's names (its code without ``tree``), 排名通报, the
    month and the level, e.g. 娄底市_新化县_排名通报_2026-11_乡镇 (case_export.download_name joins them)."""
    region = region_path_names(tree, b.parent_code) or [translate("bulletin.all_regions", lang)]
    return [*region, translate("bulletin.file", lang), b.month, translate(f"level.{b.level}", lang)]


def cutoff_label(b: Bulletin, lang: str) -> str:
    """The cut-off as people say it: '12月5日24时' / '24:00 on 5 December' (the moment is 00:00 of the day
    after)."""
    d = (b.cutoff - timedelta(seconds=1)).date()
    return f"{d.month}月{d.day}日24时" if lang == "zh" else f"24:00 on {d.day} {calendar.month_name[d.month]}"


def cutoff_text(b: Bulletin, lang: str) -> str:
    """What the bulletin says of its figures' moment: fixed at the cut-off, or provisional before it."""
    if b.final:
        return translate("bulletin.cutoff.final", lang, cutoff=cutoff_label(b, lang), end=_ts(b.as_of))
    return translate("bulletin.cutoff.provisional", lang, cutoff=cutoff_label(b, lang), now=_ts(b.generated_at),
                     end=_ts(b.as_of))


def _weights_text(w: ScoreWeights, lang: str) -> str:
    n = w.normalised()
    return translate("rank.weights", lang, **{k: f"{v:.2f}".rstrip("0").rstrip(".") for k, v in n.items()})


def _note(reason, min_cases: int, lang: str) -> str:
    if not isinstance(reason, str):
        return ""
    return translate(f"rank.reason.{reason}", lang, n=max(min_cases, 1))


def _source_frame(ranking: pd.DataFrame, min_cases: int, lang: str) -> pd.DataFrame:
    df = ranking.copy()
    df["score"] = df["score"] * 100
    df["note"] = [_note(r, min_cases, lang) for r in df["reason"]]
    return df


def ranking_table(ranking: pd.DataFrame, min_cases: int, lang: str) -> pd.DataFrame:
    """The ranking as the screen and the workbook show it: translated headers, score in points (0–100),
    rates as fractions, the reason a unit is not ranked as text."""
    src = _source_frame(ranking, min_cases, lang)
    return pd.DataFrame({translate(key, lang): src[col].reset_index(drop=True) for col, key, _kind in RANKING_DISPLAY})


def _summary_rows(b: Bulletin, lang: str) -> list[tuple[str, object, object, str]]:
    """(label, this month, previous month, kind) of the headline numbers."""
    k, p = b.kpis, b.prev_kpis
    red = len(b.red_orders)
    return [
        (translate("bulletin.item.cases", lang), k.cases, p.cases, "int"),
        (translate("bulletin.item.closed", lang), k.closed, p.closed, "int"),
        (translate("bulletin.item.closure_rate", lang), k.closure_rate, p.closure_rate, "pct"),
        (translate("bulletin.item.on_time_rate", lang), k.on_time_rate, p.on_time_rate, "pct"),
        (translate("bulletin.item.satisfaction", lang), k.satisfaction_avg, p.satisfaction_avg, "num2"),
        (translate("bulletin.item.response_rate", lang), k.response_rate, p.response_rate, "pct"),
        (translate("bulletin.item.resolution_rate", lang), k.resolution_rate, p.resolution_rate, "pct"),
        (translate("bulletin.item.satisfaction_rate", lang), k.satisfaction_rate, p.satisfaction_rate, "pct"),
        (translate("bulletin.item.backlog", lang), b.overdue_backlog, b.prev_overdue_backlog, "int"),
        (translate("bulletin.item.red_orders", lang), red, None, "int"),
        (translate("bulletin.item.units", lang), b.n_units, None, "int"),
        (translate("bulletin.item.ranked", lang), b.n_ranked, None, "int"),
    ]


def _parent_label(b: Bulletin, lang: str) -> str:
    return b.parent_name or translate("bulletin.all_regions", lang)


def _title(b: Bulletin, lang: str) -> str:
    return translate("bulletin.title", lang, parent=_parent_label(b, lang), month=month_label(b.month, lang))


def _ts(d: datetime) -> str:
    return f"{d:%Y-%m-%d %H:%M}"


def _red_frame(b: Bulletin, lang: str) -> pd.DataFrame:
    """The red-card orders as the bulletin shows them: status translated, 未到期 where an order is not yet past
    its deadline (it has no days past it)."""
    red = b.red_orders.copy()
    red["status"] = [translate(f"enum.status.{s}", lang) for s in red["status"]]
    red["days_past_deadline"] = pd.Series([translate("bulletin.not_yet_due", lang) if _missing(v) else v
                                           for v in red["days_past_deadline"]], index=red.index, dtype=object)
    return red


# --- Excel -------------------------------------------------------------------------------------------------

def bulletin_workbook(b: Bulletin, lang: str) -> bytes:
    """The bulletin as an .xlsx file: 概况 (summary), 排名 (ranking as on screen), 超期积压点名, 红牌督办."""
    book = SafeWorkbook(lang)
    info = [
        ("bulletin.item.parent", _parent_label(b, lang)),
        ("bulletin.item.month", month_label(b.month, lang)),
        ("bulletin.item.level", translate(f"level.{b.level}", lang)),
        ("bulletin.item.as_of", cutoff_text(b, lang)),
        ("bulletin.item.weights", _weights_text(b.weights, lang)),
        ("bulletin.item.min_cases", str(max(b.min_cases, 1))),
    ]
    book.summary(translate("bulletin.sheet.summary", lang), _title(b, lang), info, _summary_rows(b, lang),
                 "bulletin.item.method", translate("rank.method", lang), 5)
    book.table(translate("bulletin.sheet.ranking", lang), RANKING_DISPLAY, _source_frame(b.ranking, b.min_cases, lang))
    book.table(translate("bulletin.sheet.named", lang), NAMED_DISPLAY, b.named_for_backlog)
    red = _red_frame(b, lang)
    book.table(translate("bulletin.sheet.red", lang), RED_DISPLAY, red)
    return book.close()


# --- printable HTML ----------------------------------------------------------------------------------------

def _fmt(v, kind: str, lang: str) -> str:
    if _missing(v):
        return "—"
    if isinstance(v, str):  # a word in a number column (未到期)
        return v
    if kind == "pct":
        return fmt.pct(v)
    if kind == "num1":
        return f"{v:.1f}"
    if kind == "num2":
        return f"{v:.2f}"
    if kind == "int":
        return f"{int(v):,}"
    if kind == "change":
        return f"{int(v):+d}" if int(v) else "0"
    if kind == "ts":
        return _ts(pd.Timestamp(v).to_pydatetime())
    return str(v)


def _html_table(spec: list[tuple[str, str, str]], df: pd.DataFrame, lang: str) -> str:
    e = html.escape
    head = "".join(f"<th>{e(translate(key, lang))}</th>" for _c, key, _k in spec)
    rows = []
    for values in df[[c for c, _k, _kind in spec]].itertuples(index=False):
        tds = "".join(f'<td class="{"t" if kind == "text" else "n"}">{e(_fmt(v, kind, lang))}</td>'
                      for (_c, _key, kind), v in zip(spec, values))
        rows.append(f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


_CSS = """
@page { size: A4; margin: 18mm 15mm 18mm 15mm; }
html { font-family: %(fonts)s; font-size: 10.5pt; color: #111; }
body { margin: 0; }
h1 { font-size: 17pt; text-align: center; margin: 0 0 4mm; }
h2 { font-size: 12.5pt; margin: 6mm 0 2mm; }
p { line-height: 1.6; margin: 1.5mm 0; text-indent: 2em; }
p.meta, p.note { text-indent: 0; color: #555; font-size: 9pt; }
table { border-collapse: collapse; width: 100%%; font-size: 8.5pt; page-break-inside: auto; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
th, td { border: 1px solid #999; padding: 1mm 1.2mm; }
th { background: #e8eef5; font-weight: bold; }
td.n { text-align: right; white-space: nowrap; }
td.t { text-align: left; min-width: 4.5em; }
"""


def bulletin_html(b: Bulletin, lang: str) -> str:
    """The bulletin as a complete A4 HTML document (print it, or save it as PDF from the browser)."""
    e = html.escape
    k, p = b.kpis, b.prev_kpis
    ranked = b.ranking[b.ranking["ranked"]]
    summary = translate(
        "bulletin.summary", lang, month=month_label(b.month, lang), parent=_parent_label(b, lang),
        cases=f"{k.cases:,}", closed=f"{k.closed:,}", closure=fmt.pct(k.closure_rate),
        prev_closure=fmt.pct(p.closure_rate), on_time=fmt.pct(k.on_time_rate), prev_on_time=fmt.pct(p.on_time_rate),
        sat=_fmt(k.satisfaction_avg, "num2", lang), prev_sat=_fmt(p.satisfaction_avg, "num2", lang),
        backlog=f"{b.overdue_backlog:,}", prev_backlog=f"{b.prev_overdue_backlog:,}", red=f"{len(b.red_orders):,}",
        units=f"{b.n_units:,}", level=translate(f"level.{b.level}", lang), ranked=f"{b.n_ranked:,}",
        min_cases=max(b.min_cases, 1))
    sep = "、" if lang == "zh" else ", "
    paras = [summary]
    top, bottom = top_and_bottom(list(ranked.sort_values("rank", kind="stable")["name"]))
    if top:
        paras.append(translate("bulletin.top", lang, names=sep.join(top)))
    if bottom:
        paras.append(translate("bulletin.bottom", lang, names=sep.join(bottom)))
    named = b.named_for_backlog
    red = _red_frame(b, lang)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
        f"<title>{e(_title(b, lang))}</title>",
        f"<style>{_CSS % {'fonts': CJK_FONT_STACK}}</style></head><body>",
        f"<h1>{e(_title(b, lang))}</h1>",
        f'<p class="meta">{e(cutoff_text(b, lang))} {e(translate("bulletin.generated", lang, now=_ts(b.generated_at)))}'
        '</p>',
        f"<h2>{e(translate('bulletin.section.summary', lang))}</h2>",
        *[f"<p>{e(x)}</p>" for x in paras],
        f"<h2>{e(translate('bulletin.section.ranking', lang))}</h2>",
        (f'<p class="note">{e(_weights_text(b.weights, lang))}{"；" if lang == "zh" else "; "}'
         f"{e(translate('rank.min_cases', lang, n=max(b.min_cases, 1)))}</p>"),
        _html_table(RANKING_DISPLAY, _source_frame(b.ranking, b.min_cases, lang), lang),
        f'<p class="note">{e(translate("rank.method", lang))}</p>',
        f"<h2>{e(translate('bulletin.section.named', lang))}</h2>",
        f'<p class="note">{e(translate("bulletin.named.rule", lang, n=b.named_top_n))}</p>',
        _html_table(NAMED_DISPLAY, named, lang) if len(named) else f"<p>{e(translate('bulletin.named.none', lang))}</p>",
        f"<h2>{e(translate('bulletin.section.red', lang))}</h2>",
        _html_table(RED_DISPLAY, red, lang) if len(red) else f"<p>{e(translate('bulletin.red.none', lang))}</p>",
        f'<p class="note">{e(translate("bulletin.red.truncated", lang, n=MAX_RED_ORDERS))}</p>'
        if len(red) >= MAX_RED_ORDERS else "",
        "</body></html>",
    ]
    return "\n".join(parts)
