"""督办中心 — the supervision centre: where the process is stuck and whom to push (backlog, time per step,
departments, bounced cases, the effect of supervision orders), whether the closure rate can be trusted
(integrity checks), and the monthly ranking and bulletin for the monthly meeting.

Each view is chosen in the URL (``?view=…``), so a view is a link; only the chosen view queries the
database.  The views refresh themselves every GOV_REFRESH_SECONDS, like the Overview.
"""
from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from data_access.core import audit, time_limits
from data_access.queries.supervision import backlog, effect, integrity, process, ranking
from data_access.queries.supervision.backlog import AGE_KEYS, OVERDUE_KEYS
from data_access.queries.supervision.integrity import CHECKS
from data_access.core.metrics import BOUNCE_RETURNS, STEP_SHARES
from data_access.queries.supervision.process import BY_CHOICES
from data_access.queries.supervision.ranking import DEFAULT_MIN_CASES, LEVELS, ScoreWeights
from data_access.core.regions import LEVEL_ORDER
from ui import bulletin as bulletin_doc
from ui import charts, data, fmt, lists, urlstate
from ui.auth import current_user
from ui.frame import current_filter, page_header
from ui.setup import friendly_errors
from ui.state import lang, t
from ui.views import view_icons, view_switch

VIEW_ICONS = view_icons("supervision")  # ui/views.py: the one list of views
VIEWS = tuple(VIEW_ICONS)
BY_KEYS = tuple(b or "none" for b in BY_CHOICES)
CHECK_KEYS = tuple(CHECKS)
WEIGHT_NAMES = ScoreWeights.COMPONENTS
DEFAULT_WEIGHTS = ScoreWeights()


def params(months: list[str]) -> list[urlstate.Param]:
    P = urlstate.Param
    return [
        P("view", "choice", VIEWS, "backlog", widget="sc_view"),
        P("by", "choice", BY_KEYS, "category", widget="sc_by"),
        P("check", "choice", CHECK_KEYS, CHECK_KEYS[0], widget="sc_check"),
        P("month", "choice", months, months[1] if len(months) > 1 else months[0], widget="sc_month"),
        P("unit", "choice", LEVELS, None, widget="sc_unit"),
    ]


def recent_months(today: date, n: int = 13) -> list[str]:
    """This month and the n-1 before it, newest first ('YYYY-MM')."""
    out, y, m = [], today.year, today.month
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def _link(case_no: str) -> str:
    return f"cases?case={case_no}"


# --- backlog -------------------------------------------------------------------------------------------

def backlog_view(f, now) -> None:
    age = data.get(backlog.open_backlog_by_age, f, now)
    over = data.get(backlog.open_backlog_by_overdue, f, now)
    by_category = data.get(backlog.open_backlog_by_category, f, now)
    total, overdue = int(age["cases"].sum()), int(age["overdue"].sum())
    lg = lang()
    st.caption(t("sc.backlog.caption"))
    c = st.columns(4)
    c[0].metric(t("sc.backlog.open"), fmt.count(total, lg), help=t("sc.backlog.open.help"), border=True)
    c[1].metric(t("sc.backlog.open_overdue"), fmt.count(overdue, lg), help=t("sc.backlog.open_overdue.help"),
                border=True)
    c[2].metric(t("sc.backlog.share_overdue"), fmt.pct(overdue / total if total else None),
                help=t("sc.backlog.share_overdue.help"), border=True)
    # every open case of the selection has a category (a grid has no child regions to read it from)
    oldest = by_category["oldest_days"].max() if not by_category.empty else None
    c[3].metric(t("sc.backlog.oldest"), fmt.days(oldest, lg), help=t("sc.backlog.oldest.help"), border=True)
    if total == 0:
        st.info(t("sc.backlog.none"))
    else:
        left, right = st.columns(2)
        with left:
            st.subheader(t("sc.backlog.by_age"))
            charts.draw(charts.backlog_age_chart, age, [t(f"backlog.age.{k}") for k in AGE_KEYS])
        with right:
            st.subheader(t("sc.backlog.by_overdue"))
            charts.draw(charts.backlog_overdue_chart, over, [t(f"backlog.overdue.{k}") for k in OVERDUE_KEYS])
    st.subheader(t("sc.backlog.trend"))
    trend = data.get(backlog.overdue_backlog_trend, f, 12, now)
    if trend["open_overdue"].sum():
        charts.draw(charts.overdue_trend_chart, trend)
        st.caption(t("sc.backlog.trend.caption"))
    else:  # a line at zero reads as an empty chart
        st.info(t("empty.sc.trend"))
    left, right = st.columns(2)
    with left:
        child = data.get(backlog.open_backlog_by_child_region, f, now)
        if not child.empty:
            level = child["level"].iloc[0]
            st.subheader(t("sc.backlog.by_child", level=t(f"level.{level}")))
            st.caption(t("ov.rank.hint"))
            lists.drill_table(child.assign(share_overdue=child["share_overdue"].astype(float) * 100),
                              f"sc_child_{f.region_code or 'root'}", **_backlog_table("name", t("ov.rank.name")))
    with right:
        cat = by_category
        if not cat.empty:
            st.subheader(t("sc.backlog.by_category"))
            names = data.category_labels()
            st.dataframe(
                cat.assign(category=[names.get(x, x) for x in cat["category"]],
                           share_overdue=cat["share_overdue"].astype(float) * 100),
                hide_index=True, **_backlog_table("category", t("wb.col.category")), placeholder="—")


def _backlog_table(key: str, label: str) -> dict:
    """Columns of a backlog table whose first column ``key`` names the row (a region, a category)."""
    return {
        "column_order": [key, "open", "open_overdue", "share_overdue", "oldest_days"],
        "column_config": {
            key: st.column_config.TextColumn(label),
            "open": st.column_config.NumberColumn(t("sc.backlog.open"), format="localized"),
            "open_overdue": st.column_config.NumberColumn(t("sc.backlog.open_overdue"), format="localized"),
            "share_overdue": st.column_config.NumberColumn(t("sc.backlog.share_overdue"), format="%.1f%%"),
            "oldest_days": st.column_config.NumberColumn(t("sc.backlog.oldest_days"), format="%.0f"),
        },
    }


# --- time per step -------------------------------------------------------------------------------------

def steps_view(f, now) -> None:
    st.caption(t("proc.help"))
    by_key = st.segmented_control(t("proc.by"), BY_KEYS, key="sc_by", required=True,
                                  format_func=lambda b: t(f"proc.by.{b}")) or "category"
    by = None if by_key == "none" else by_key
    dist = data.get(process.step_time_distribution, f, by=by, now=now)
    if dist.empty or dist["cases"].sum() == 0:
        st.info(t("ov.empty"))
        return
    overall = dist if by is None else data.get(process.step_time_distribution, f, by=None, now=now)
    charts.draw(charts.step_ratio_chart, overall, t("proc.title"))
    per_step = overall.drop_duplicates("step")
    cols = st.columns(len(per_step))
    for col, (_, row) in zip(cols, per_step.iterrows()):
        col.metric(t(f"proc.step.{row['step']}"), fmt.pct(row["within_share"]),
                   help=t("sc.steps.within.help", share=fmt.pct(STEP_SHARES[row["step"]], 0),
                          mean=fmt.hours(row["mean_hours"], lang())), border=True)
    if by is None:
        return
    st.subheader(t("sc.steps.by", by=t(f"proc.by.{by_key}")))
    key_col = "category" if by == "category" else "department"
    table = dist.drop_duplicates([key_col, "step"])
    if by == "category":
        names = data.category_labels()
    else:
        names = dict(zip(table["department"], table["department_name"]))
    wide = table.pivot_table(index=key_col, columns="step", values="within_share", aggfunc="first", dropna=False)
    n = table.groupby(key_col, dropna=False)["n"].max()
    wide = wide.reindex(columns=[s for s in ("accept", "dispatch", "handle", "feedback") if s in wide.columns])
    out = pd.DataFrame({"name": [names.get(k, k) if isinstance(k, str) and k else t("sc.steps.no_department")
                                 for k in wide.index],
                        "cases": n.reindex(wide.index).to_numpy()})
    for s in wide.columns:
        out[s] = wide[s].astype(float).to_numpy() * 100
    st.dataframe(out.sort_values("cases", ascending=False), hide_index=True, column_config={
        "name": st.column_config.TextColumn(t(f"proc.by.{by_key}")),
        "cases": st.column_config.NumberColumn(t("proc.col.n"), format="localized"),
        **{s: st.column_config.ProgressColumn(t(f"proc.step.{s}"), format="%.0f%%", min_value=0, max_value=100,
                                              help=t("proc.col.within_share"), color="#0072B2") for s in wide.columns},
    })


# --- departments ---------------------------------------------------------------------------------------

def departments_view(f, now) -> None:
    st.caption(t("dept.help"))
    df = data.get(process.department_table, f, now)
    if df.empty:
        st.info(t("dept.none"))
        return
    view = df.assign(on_time_share=df["on_time_share"].astype(float) * 100)
    cfg = {"name": st.column_config.TextColumn(t("dept.col.name")),
           "on_time_share": st.column_config.NumberColumn(t("dept.col.on_time_share"), format="%.1f%%"),
           "median_handle_hours": st.column_config.NumberColumn(t("dept.col.median_handle_hours"), format="%.1f")}
    for c in ("received", "closed", "on_time", "returns", "reassignments", "returned", "bounced", "open_overdue"):
        cfg[c] = st.column_config.NumberColumn(t(f"dept.col.{c}"), format="localized")
    st.dataframe(view, hide_index=True, column_config=cfg, placeholder="—",
                 column_order=["name", "received", "closed", "on_time_share", "median_handle_hours", "returns",
                               "reassignments", "bounced", "open_overdue"])
    st.caption(t("sc.departments.sort_hint"))


# --- bounces -------------------------------------------------------------------------------------------

def bounces_view(f, now) -> None:
    st.caption(t("bounce.help"))
    n_bounced = data.get(process.bounced_case_count, f, now=now)
    st.metric(t("bounce.cases"), fmt.count(n_bounced, lang()), help=t("bounce.cases.help", n=BOUNCE_RETURNS),
              border=True, width="content")
    if n_bounced == 0:
        st.info(t("bounce.none"))
        return
    left, _ = st.columns([3, 2])
    with left:
        st.subheader(t("bounce.pairs"))
        st.caption(t("bounce.pairs.help"))
        st.dataframe(data.get(process.bounce_pairs, f, now=now), hide_index=True, column_order=["from_name", "to_name", "cases", "returns"],
                     column_config={"from_name": st.column_config.TextColumn(t("bounce.col.from")),
                                    "to_name": st.column_config.TextColumn(t("bounce.col.to")),
                                    "cases": st.column_config.NumberColumn(t("bounce.col.cases"), format="localized"),
                                    "returns": st.column_config.NumberColumn(t("bounce.col.returns"),
                                                                             format="localized")},
                     placeholder="—")
    st.subheader(t("sc.bounces.list"))
    _case_table(data.get(process.bounced_cases, f, now=now), ["case_no", "title", "category", "status", "n_returns", "n_reassigns",
                             "departments", "reported_at"],
                {"n_returns": st.column_config.NumberColumn(t("bounce.col.n_returns")),
                 "n_reassigns": st.column_config.NumberColumn(t("bounce.col.n_reassigns")),
                 "departments": st.column_config.TextColumn(t("bounce.col.departments"))})


def _case_table(df: pd.DataFrame, order: list[str], extra: dict) -> None:
    """A list of cases whose number opens the case in the workbench."""
    names = data.category_labels()
    view = df.copy()
    if "category" in view:
        view["category"] = [names.get(x, x) for x in view["category"]]
    if "status" in view:
        view["status"] = [t(f"enum.status.{s}") for s in view["status"]]
    view["case_no"] = [_link(c) for c in view["case_no"]]
    cfg = {"case_no": st.column_config.LinkColumn(t("wb.col.case_no"), display_text=r"case=(.*)$"),
           "title": st.column_config.TextColumn(t("wb.col.title")),
           "category": st.column_config.TextColumn(t("wb.col.category")),
           "status": st.column_config.TextColumn(t("wb.col.status")),
           "reported_at": st.column_config.DatetimeColumn(t("wb.col.reported"), format="YYYY-MM-DD HH:mm"),
           "closed_at": st.column_config.DatetimeColumn(t("sc.col.closed_at"), format="YYYY-MM-DD HH:mm"),
           **extra}
    st.dataframe(view, hide_index=True, column_order=[c for c in order if c in view], column_config=cfg,
                 placeholder="—")


# --- supervision orders --------------------------------------------------------------------------------

def orders_view(f, now) -> None:
    st.caption(t("sup_eff.help"))
    grades = data.get(effect.supervision_effect_by_grade, f, now)
    if grades["orders"].sum() == 0:
        st.info(t("sc.orders.none"))
        return
    view = grades.assign(grade=[t(f"enum.grade.{g}") for g in grades["grade"]],
                         share_past_deadline=grades["share_past_deadline"].astype(float) * 100)
    cfg = {"grade": st.column_config.TextColumn(t("sup_eff.col.grade"), pinned=True),
           "share_past_deadline": st.column_config.NumberColumn(t("sup_eff.col.share_past_deadline"),
                                                                format="%.1f%%"),
           "median_hours_to_close": st.column_config.NumberColumn(t("sup_eff.col.median_hours_to_close"),
                                                                  format="%.1f"),
           "mean_hours_to_close": st.column_config.NumberColumn(t("sup_eff.col.mean_hours_to_close"),
                                                                format="%.1f")}
    for c in ("orders", "cases", "closed_after", "still_open", "past_deadline"):
        cfg[c] = st.column_config.NumberColumn(t(f"sup_eff.col.{c}"), format="localized")
    st.dataframe(view, hide_index=True, column_config=cfg, placeholder="—")
    left, _ = st.columns([2, 3])
    with left:
        charts.draw(charts.grade_hours_chart, grades)
    st.subheader(t("sup_eff.repeat") + f" · {fmt.count(data.get(effect.repeat_order_count, f, now=now), lang())}")
    st.caption(t("sup_eff.repeat.help"))
    repeat = data.get(effect.repeat_orders, f, now=now)
    if repeat.empty:
        st.info(t("sc.orders.no_repeat"))
    else:
        rep = repeat.assign(grade=[t(f"enum.grade.{g}") for g in repeat["grade"]])
        _case_table(rep, ["case_no", "title", "orders", "grade", "first_issued", "last_issued", "status"],
                    {"orders": st.column_config.NumberColumn(t("sup_eff.col.orders")),
                     "grade": st.column_config.TextColumn(t("sup_eff.col.grade")),
                     "first_issued": st.column_config.DatetimeColumn(t("sup_eff.col.first_issued"),
                                                                     format="YYYY-MM-DD HH:mm"),
                     "last_issued": st.column_config.DatetimeColumn(t("sup_eff.col.last_issued"),
                                                                    format="YYYY-MM-DD HH:mm")})
    st.subheader(t("sup_eff.past"))
    st.caption(t("sup_eff.past.help"))
    past = data.get(effect.orders_past_deadline, f, now)
    if past.empty:
        st.info(t("sc.orders.none_past"))
        return
    past = past.assign(grade=[t(f"enum.grade.{g}") for g in past["grade"]],
                       state=[t(f"sup_eff.state.{x}") for x in past["state"]])
    _case_table(past, ["case_no", "title", "grade", "issued_at", "deadline", "resolved_at", "state", "days_past",
                       "township_name"],
                {"grade": st.column_config.TextColumn(t("sup_eff.col.grade")),
                 "issued_at": st.column_config.DatetimeColumn(t("wb.orders.issued_at"), format="YYYY-MM-DD HH:mm"),
                 "deadline": st.column_config.DatetimeColumn(t("wb.orders.deadline"), format="YYYY-MM-DD HH:mm"),
                 "resolved_at": st.column_config.DatetimeColumn(t("sc.col.resolved_at"), format="YYYY-MM-DD HH:mm"),
                 "state": st.column_config.TextColumn(t("sup_eff.col.state")),
                 "days_past": st.column_config.NumberColumn(t("sup_eff.col.days_past"), format="%.1f"),
                 "township_name": st.column_config.TextColumn(t("level.township"))})


# --- integrity -----------------------------------------------------------------------------------------

def integrity_view(f, now) -> None:
    st.caption(t("sc.integrity.caption"))
    rep = data.get(integrity.integrity_summary, f, now)
    if rep.cases == 0:
        st.info(t("ov.empty"))
        return
    lg = lang()
    c = st.columns(2)
    c[0].metric(t("sc.integrity.official"), fmt.pct(rep.closure_rate, 2), help=t("help.closure_rate"), border=True)
    c[1].metric(t("sc.integrity.verified"), fmt.pct(rep.verified_closure_rate, 2),
                fmt.delta_pct_points(rep.verified_closure_rate, rep.closure_rate), delta_color="normal",
                help=t("integrity.verified_rate.help"), border=True)
    c = st.columns(len(CHECKS))
    for col, name in zip(c, CHECKS):
        n = getattr(rep, CHECKS[name][0])
        col.metric(t(f"sc.integrity.check.{name}"), fmt.count(n, lg),
                   help=t(f"integrity.check.{name}.help"), border=True)
    st.caption(t("sc.integrity.flagged", n=fmt.count(rep.n_flagged, lg), closed=fmt.count(rep.closed, lg)))
    child = data.get(integrity.integrity_by_child_region, f, now)
    if not child.empty:
        level = child["level"].iloc[0]
        st.subheader(t("sc.integrity.by_child", level=t(f"level.{level}")))
        view = child.assign(closure_rate=child["closure_rate"].astype(float) * 100,
                            verified_rate=child["verified_rate"].astype(float) * 100,
                            gap=child["gap"].astype(float) * 100)
        cfg = {"name": st.column_config.TextColumn(t("ov.rank.name")),
               "cases": st.column_config.NumberColumn(t("ov.rank.cases"), format="localized"),
               "closure_rate": st.column_config.NumberColumn(t("sc.integrity.official"), format="%.2f%%"),
               "verified_rate": st.column_config.NumberColumn(t("sc.integrity.verified"), format="%.2f%%"),
               "gap": st.column_config.NumberColumn(t("sc.integrity.gap"), format="%.2f pp",
                                                    help=t("sc.integrity.gap.help"))}
        for name, (col_name, _f) in CHECKS.items():
            cfg[col_name] = st.column_config.NumberColumn(t(f"sc.integrity.check.{name}"), format="localized")
        st.dataframe(view, hide_index=True, column_config=cfg, placeholder="—",
                     column_order=["name", "cases", "closure_rate", "verified_rate", "gap",
                                   *[c for c, _f in CHECKS.values()]])
    st.subheader(t("sc.integrity.list"))
    check = st.segmented_control(t("sc.integrity.list.check"), CHECK_KEYS, key="sc_check", required=True,
                                 format_func=lambda k: t(f"sc.integrity.check.{k}")) or CHECK_KEYS[0]
    st.caption(t(f"integrity.check.{check}.help"))
    flagged = data.get(integrity.flagged_cases, f, check, now=now)
    if flagged.empty:
        st.info(t("sc.integrity.list.none"))
        return
    sep = "、" if lang() == "zh" else ", "
    flagged = flagged.assign(reason=[sep.join(t(f"sc.integrity.check.{k}") for k in r.split(";") if k)
                                     for r in flagged["reason"]])
    _case_table(flagged, ["case_no", "title", "category", "reported_at", "closed_at", "hours_to_close", "reason"],
                {"hours_to_close": st.column_config.NumberColumn(t("ex.col.hours_to_close"), format="%.2f"),
                 "reason": st.column_config.TextColumn(t("sc.integrity.reason"))})


# --- monthly ranking and bulletin -----------------------------------------------------------------------

def _unit_levels(region_level: str | None) -> list[str]:
    """The levels whose units can be ranked under a region of ``region_level`` (None = whole tree)."""
    if region_level is None:
        return list(LEVELS)
    below = LEVEL_ORDER.index(region_level) if region_level in LEVEL_ORDER else len(LEVEL_ORDER)
    return [lv for lv in LEVELS if lv in LEVEL_ORDER and LEVEL_ORDER.index(lv) > below]


def _weights() -> tuple[ScoreWeights, int] | None:
    shown = {n: st.session_state.get(f"sc_w_{n}", int(round(getattr(DEFAULT_WEIGHTS, n) * 100)))
             for n in WEIGHT_NAMES}
    with st.expander(t("rank.weights", **shown), icon=":material/tune:"):
        st.caption(t("sc.rank.weights.caption"))
        cols = st.columns(len(WEIGHT_NAMES))
        values = {}
        for col, name in zip(cols, WEIGHT_NAMES):
            values[name] = col.number_input(t(f"sc.rank.weight.{name}"), min_value=0, max_value=100, step=5,
                                            value=int(round(getattr(DEFAULT_WEIGHTS, name) * 100)),
                                            key=f"sc_w_{name}")
        min_cases = st.number_input(t("rank.min_cases"), min_value=0, max_value=10_000, step=10,
                                    value=DEFAULT_MIN_CASES, key="sc_min_cases", help=t("sc.rank.min_cases.help"))
    try:
        return ScoreWeights(**{k: float(v) for k, v in values.items()}), int(min_cases)
    except ValueError:
        st.warning(t("sc.rank.weights.invalid"))
        return None


def ranking_view(f, now, months: list[str]) -> None:
    tree = data.tree()
    region = tree.get(f.region_code)
    levels = _unit_levels(region.level if region else None)
    if not levels:
        st.info(t("sc.rank.too_low"))
        return
    c = st.columns([1, 1, 2])
    month = c[0].selectbox(t("sc.rank.month"), months, key="sc_month", format_func=lambda m: bulletin_doc.month_label(m, lang()))
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
    # the same table as the workbook's ranking sheet (ui/bulletin.py), rates shown in per cent
    table = bulletin_doc.ranking_table(b.ranking, min_cases, lang())
    st.subheader(t("sc.rank.title", parent=fmt.plain(b.parent_name or t("bulletin.all_regions")),
                   month=bulletin_doc.month_label(month, lang()), level=t(f"level.{level}")))
    pct_cols = _pct_columns()
    view = table.assign(**{c: table[c].astype(float) * 100 for c in table.columns if c in pct_cols})
    if b.n_ranked == 0 and int(b.ranking["cases"].sum()) > 0:
        st.info(t("sc.rank.none_ranked", n=min_cases), icon=":material/info:")
    st.dataframe(view, hide_index=True, placeholder="—", column_config=_ranking_column_config(table, pct_cols))
    _bulletin_downloads(b, f)
    if not b.named_for_backlog.empty:
        st.subheader(t("sc.rank.named"))
        st.caption(t("bulletin.named.rule", n=b.named_top_n))
        named = b.named_for_backlog
        st.dataframe(named, hide_index=True, column_order=["name", "overdue_backlog", "prev_overdue_backlog", "cases"],
                     column_config={"name": st.column_config.TextColumn(t("rank.col.name")),
                                    "overdue_backlog": st.column_config.NumberColumn(t("rank.col.overdue_backlog")),
                                    "prev_overdue_backlog": st.column_config.NumberColumn(
                                        t("bulletin.col.prev_backlog")),
                                    "cases": st.column_config.NumberColumn(t("rank.col.cases"))})


def _pct_columns() -> set[str]:
    return {t(k) for k in ("rank.col.closure_rate", "rank.col.closure_lo", "rank.col.closure_hi",
                           "rank.col.on_time_rate", "rank.col.on_time_lo", "rank.col.on_time_hi")}


def _ranking_column_config(table: pd.DataFrame, pct_cols: set[str]) -> dict:
    cfg = {t("rank.col.name"): st.column_config.TextColumn(t("rank.col.name"), pinned=True)}
    for col in table.columns:
        if col in pct_cols:
            cfg[col] = st.column_config.NumberColumn(col, format="%.1f%%")
        elif col == t("rank.col.score"):
            cfg[col] = st.column_config.NumberColumn(col, format="%.1f")
        elif col == t("rank.col.satisfaction_avg"):
            cfg[col] = st.column_config.NumberColumn(col, format="%.2f")
        elif col == t("rank.col.rank_change"):
            cfg[col] = st.column_config.NumberColumn(col, format="%+d")
    return cfg


def _bulletin_downloads(b, f) -> None:
    user = current_user()
    lg = lang()
    base = f"bulletin_{b.parent_code or 'all'}_{b.month}_{b.level}"

    def made(kind: str, payload: bytes | str) -> bytes | str:
        data.fresh(audit.record, "export", user=user, target=f"{base}.{kind}", rows=len(b.ranking),
                     detail={"format": kind, "bulletin": {"month": b.month, "level": b.level,
                                                          "parent": b.parent_code},
                             "filter": audit.filter_detail(f)})
        return payload

    c = st.columns([1, 1, 1])
    c[0].download_button(t("bulletin.download.xlsx"), lambda: made("xlsx", bulletin_doc.bulletin_workbook(b, lg)),
                         file_name=f"{base}.xlsx", icon=":material/table_view:", on_click="ignore", width="stretch",
                         mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="sc_dl_xlsx")
    c[1].download_button(t("bulletin.download.html"), lambda: made("html", bulletin_doc.bulletin_html(b, lg)),
                         file_name=f"{base}.html", icon=":material/print:", on_click="ignore", mime="text/html", width="stretch",
                         key="sc_dl_html")
    c[2].caption(t("sc.rank.print_hint"))


# --- page ----------------------------------------------------------------------------------------------

RENDER = {"backlog": backlog_view, "steps": steps_view, "departments": departments_view,
          "bounces": bounces_view, "orders": orders_view, "integrity": integrity_view}


@st.fragment(run_every=data.REFRESH_S)
def centre(view: str, months: list[str], ps: list[urlstate.Param]) -> None:
    with friendly_errors():
        f = current_filter()
        now = data.now_bucket()
        if view == "ranking":
            ranking_view(f, now, months)
        else:
            RENDER[view](f, now)
    urlstate.publish(ps)  # a choice made inside the view (grouping, check, month) is in the URL at once


def time_limit_note() -> None:
    limits = data.reference_list(time_limits.category_time_limits)  # a rule change touches the data: follows it
    working = limits[limits["mode"] == "working_days"]
    names = data.category_labels()
    zh = lang() == "zh"
    sep = "、" if zh else ", "
    if not working.empty:
        st.caption(t("sc.limits.working", cats=sep.join(
            f"{names.get(c, c)}（{int(d)}）" if zh else f"{names.get(c, c)} ({int(d)})"
            for c, d in zip(working["code"], working["working_days"]))))
    gaps = data.reference_list(time_limits.calendar_gaps_in_data)
    if gaps:
        st.warning(t("sc.limits.gaps", years=sep.join(str(y) for y in gaps)), icon=":material/event_busy:")


def page() -> None:
    months = recent_months(data.now_bucket().date())
    ps = params(months)
    urlstate.seed(ps)
    view = view_switch("supervision", "sc_view", "sc")
    urlstate.publish(ps)
    if view != "ranking":
        time_limit_note()
    centre(view, months, ps)


page_header("supervision", "sc.title")
page()
