"""清廉单元 — the month's ranking with rank change, the units rated good and those named for failing their duties
(一月一点评、一月一排名、一月一通报), and the month's review as Excel (layout only; the workbook is
ui/clean_review.py's)."""
from __future__ import annotations

import streamlit as st

from data_access.core import audit
from ui import clean_review, data, fmt, lists, tables
from ui.auth import current_user
from ui.bulletin import month_label
from ui.state import lang, t

UNITS = clean_review.UNIT_COLUMNS  # (ui/tables.py) each list of units picks its columns


def unit_list(df, key: str, names: list[str], **kwargs) -> None:  # clicking a row opens the unit's history
    lists.opening(df, key, "unit_code", "cln_unit", columns=tables.pick(UNITS, names), **kwargs)


def show(review) -> None:
    lg = lang()
    st.subheader(t("cln.rank.title", month=month_label(review.month, lg),
                   kind=clean_review.kind_label(review.kind, lg)))
    st.caption(t("cln.help.ranking"))
    if review.ranking.empty:
        st.info(t("cln.rank.none"), icon=":material/info:")
    else:
        table = clean_review.display_frame(review.ranking, lg)
        unit_list(table, f"cln_rank_{review.month}_{review.kind or 'all'}",
                   ["rank", "name", "kind_label", "place", "score", "rating_label", "prev_rank", "rank_change",
                    "named_label", "note"], height=min(520, 38 + 35 * len(table)))
        _download(review)
    left, right = st.columns(2)
    with left:
        good = clean_review.display_frame(review.good, lg)
        st.markdown(f"**{t('cln.good.title', n=fmt.count(len(good), lg))}**")
        st.caption(t("cln.help.good"))
        if not good.empty:
            tables.show(good, tables.pick(UNITS, ["rank", "name", "kind_label", "place", "score"]),
                        height=min(300, 38 + 35 * len(good)))
    with right:
        named = clean_review.display_frame(review.named, lg)
        st.markdown(f"**{t('cln.named.title', n=fmt.count(len(named), lg))}**")
        st.caption(t("cln.help.named"))
        if named.empty:
            st.success(t("cln.named.none"), icon=":material/check_circle:")
        else:
            tables.show(named, tables.pick(UNITS, ["name", "kind_label", "place", "score", "note"]))
    if not review.unreviewed.empty:
        with st.expander(t("cln.unreviewed.title", n=fmt.count(len(review.unreviewed), lg))):
            st.caption(t("cln.help.unreviewed"))
            unit_list(clean_review.display_frame(review.unreviewed, lg),
                       f"cln_unrev_{review.month}_{review.kind or 'all'}", ["name", "kind_label", "place", "applied_on"])


def _download(review) -> None:
    user = current_user()
    lg = lang()
    name = clean_review.file_name(review, lg, data.tree())

    def made() -> bytes:
        data.fresh(audit.record, "export", user=user, target=name, rows=len(review.ranking),
                     detail={"format": "xlsx", "clean_review": {"month": review.month, "kind": review.kind,
                                                                "region": review.region_code}})
        return clean_review.review_workbook(review, lg)

    st.download_button(t("cln.download"), made, file_name=name, icon=":material/table_view:", on_click="ignore",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="cln_dl_xlsx")
