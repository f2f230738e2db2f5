"""月度排名与通报 — the month's ranking of the units below the selected region, with adjustable weights, the
units named for their overdue backlog, and the bulletin to download (ui/bulletin.py)."""
from __future__ import annotations

import streamlit as st

from data_access.core import audit
from data_access.queries.case_export import download_name
from data_access.queries.supervision import ranking
from data_access.queries.supervision.ranking import AUTO_MIN_FLOOR, DEFAULT_MIN_CASES, ScoreWeights
from ui import bulletin as bulletin_doc
from ui import data, fmt, tables
from ui.auth import current_user
from ui.state import lang, t

WEIGHT_NAMES = ScoreWeights.COMPONENTS
DEFAULT_WEIGHTS = ScoreWeights()
# The workbook's kinds (ui/bulletin.py) on screen: counts as Streamlit writes them, rates in per cent.
_SCREEN_KIND = {"int": "number", "text": "text", "pct": "pct", "num1": "num1", "num2": "num2", "change": "change"}
NAMED_COLUMNS = [
    ("name", "rank.col.name", "text"),
    ("overdue_backlog", "rank.col.overdue_backlog", "number"),
    ("prev_overdue_backlog", "bulletin.col.prev_backlog", "number"),
    ("cases", "rank.col.cases", "number"),
]


def ranking_columns() -> list[tables.Column]:
    """The columns of bulletin_doc.ranking_table (named by their translated headers), the unit's name pinned."""
    return [(t(key), key, _SCREEN_KIND[kind], {"pinned": True} if col == "name" else {})
            for col, key, kind in bulletin_doc.RANKING_DISPLAY]


def show(f, now, months: list[str]) -> None:
    region = data.tree().get(f.region_code)
    levels = ranking.unit_levels(region.level if region else None)
    if not levels:
        st.info(t("sc.rank.too_low"))
        return
    c = st.columns([1, 1, 2])
    month = c[0].selectbox(t("sc.rank.month"), months, key="sc_month",
                           format_func=lambda m: bulletin_doc.month_label(m, lang()))
    if st.session_state.get("sc_unit") not in levels:
        st.session_state["sc_unit"] = levels[0]
    level = c[1].selectbox(t("sc.rank.level"), levels, key="sc_unit", format_func=lambda lv: t(f"level.{lv}"))
    picked = _weights()
    if picked is None:
        return
    weights, min_cases = picked
    st.caption(t("rank.method"))
    with st.spinner(t("sc.rank.loading")):
        b = data.get(ranking.bulletin_data, f.scope, month, level, f.region_code, weights, min_cases, now=now)
    st.subheader(t("sc.rank.title", parent=fmt.plain(b.parent_name or t("bulletin.all_regions")),
                   month=bulletin_doc.month_label(month, lang()), level=t(f"level.{level}")))
    if b.final:
        st.caption(bulletin_doc.cutoff_text(b, lang()))
    else:
        st.info(bulletin_doc.cutoff_text(b, lang()), icon=":material/schedule:")
    if b.n_ranked == 0 and int(b.ranking["cases"].sum()) > 0:
        st.info(t("sc.rank.none_ranked", n=b.min_cases), icon=":material/info:")
    elif b.n_ranked < b.n_units:
        st.caption(left_out_text(b))
    # the same table as the workbook's ranking sheet (ui/bulletin.py)
    tables.show(bulletin_doc.ranking_table(b.ranking, b.min_cases, lang()), ranking_columns())
    _bulletin_downloads(b, f)
    if not b.named_for_backlog.empty:
        st.subheader(t("sc.rank.named"))
        st.caption(t("bulletin.named.rule", n=b.named_top_n))
        tables.show(b.named_for_backlog, NAMED_COLUMNS)


def left_out_text(b) -> str:
    """How many units are not ranked and why (no case / fewer than the minimum, and where the minimum comes
    from)."""
    how = t("sc.rank.min.auto", floor=AUTO_MIN_FLOOR, cap=DEFAULT_MIN_CASES) if b.min_cases_auto else t(
        "sc.rank.min.chosen")
    return t("sc.rank.left_out", units=b.n_units, ranked=b.n_ranked, out=b.n_units - b.n_ranked,
             none=b.n_no_cases, few=b.n_too_few, n=b.min_cases, how=how)


def _weights() -> tuple[ScoreWeights, int | None] | None:
    shown = {n: st.session_state.get(f"sc_w_{n}", int(round(getattr(DEFAULT_WEIGHTS, n) * 100)))
             for n in WEIGHT_NAMES}
    with st.expander(t("rank.weights", **shown), icon=":material/tune:"):
        st.caption(t("sc.rank.weights.caption"))
        cols = st.columns(4) + st.columns(4)   # two rows: the four classic components, then the 三率
        values = {}
        for col, name in zip(cols, WEIGHT_NAMES):
            values[name] = col.number_input(t(f"sc.rank.weight.{name}"), min_value=0, max_value=100, step=5,
                                            value=int(round(getattr(DEFAULT_WEIGHTS, name) * 100)),
                                            key=f"sc_w_{name}")
        # empty (the default): each month's automatic minimum (ranking.auto_min_cases)
        min_cases = st.number_input(t("sc.rank.min_cases.label"), min_value=0, max_value=10_000, step=5,
                                    value=None, key="sc_min_cases", placeholder=t("sc.rank.min_cases.auto"),
                                    help=t("sc.rank.min_cases.help", floor=AUTO_MIN_FLOOR, cap=DEFAULT_MIN_CASES))
    try:
        return (ScoreWeights(**{k: float(v) for k, v in values.items()}),
                None if min_cases is None else int(min_cases))
    except ValueError:
        st.warning(t("sc.rank.weights.invalid"))
        return None


def _bulletin_downloads(b, f) -> None:
    user = current_user()
    lg = lang()
    stem = bulletin_doc.file_stem(b, lg, data.tree())
    xlsx, page = download_name(stem, "xlsx"), download_name(stem, "html")

    def made(kind: str, payload: bytes | str) -> bytes | str:
        data.fresh(audit.record, "export", user=user, target=xlsx if kind == "xlsx" else page, rows=len(b.ranking),
                   detail={"format": kind, "bulletin": {"month": b.month, "level": b.level, "parent": b.parent_code},
                           "filter": audit.filter_detail(f)})
        return payload

    c = st.columns([1, 1, 1])
    c[0].download_button(t("bulletin.download.xlsx"), lambda: made("xlsx", bulletin_doc.bulletin_workbook(b, lg)),
                         file_name=xlsx, icon=":material/table_view:", on_click="ignore", width="stretch",
                         mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="sc_dl_xlsx")
    c[1].download_button(t("bulletin.download.html"), lambda: made("html", bulletin_doc.bulletin_html(b, lg)),
                         file_name=page, icon=":material/print:", on_click="ignore", mime="text/html",
                         width="stretch", key="sc_dl_html")
    c[2].caption(t("sc.rank.print_hint"))
