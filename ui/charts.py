"""Chart builders (Altair) with translated labels and one colour per status everywhere.

Pages draw a chart with ``draw(builder, *args)``: the same element as ``st.altair_chart(builder(*args),
width="stretch")``, but the chart's Vega-Lite spec is built once per process for the same arguments and
language (building an Altair chart and validating it against the Vega-Lite schema is most of the CPU of a
warm rerun: the county map alone took ~45 ms a click).
"""
from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from data_access import geo
from data_access.metrics import RESOLUTION_LEVELS, STATUSES

from .state import lang, t


def draw(builder: Callable[..., alt.TopLevelMixin], *args) -> None:
    """``st.altair_chart(builder(*args), width="stretch")``, with the spec cached (see the module's doc).

    The cache key is the builder, the session's language (every builder translates its labels) and the
    arguments themselves (their pickled bytes: equal bytes unpickle to equal data), so a chart is never shown
    with another's data or words.  A builder must depend on nothing else: no session state, no clock.
    (Streamlit's own hashing of a data frame argument costs ~1.5 ms; pickling a small one ~0.05 ms.)"""
    code = builder.__code__
    try:
        blob = pickle.dumps((code.co_filename, builder.__qualname__, code.co_code, lang(), args), protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError):  # an argument that does not pickle: uncached
        st.altair_chart(builder(*args), width="stretch")
        return
    spec = _spec(hashlib.blake2b(blob, digest_size=32).hexdigest(), _builder=builder, _args=args)
    st.vega_lite_chart(spec=spec, width="stretch")  # what st.altair_chart does with the converted chart


# Bounded: a spec holds its chart's data (most are a few kB; the county map ~100 kB), and the server's memory
# budget is 300 MB (README, Performance).  An hour without use and a spec is dropped.
@st.cache_data(show_spinner=False, max_entries=128, ttl=3600)
def _spec(key: str, _builder: Callable[..., alt.TopLevelMixin], _args: tuple) -> dict:
    # Streamlit's own conversion (st.altair_chart calls it): tabular data become Arrow datasets named by
    # their content, so the element is byte for byte the one st.altair_chart would send.
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    return _convert_altair_to_vega_lite_spec(_builder(*_args))


# One colour per status on every page (colour-blind-safe, Okabe–Ito based); closed is the calm one.
STATUS_COLORS = {
    "reported": "#E69F00",
    "accepted": "#56B4E9",
    "dispatched": "#CC79A7",
    "handling": "#D55E00",
    "feedback": "#F0E442",
    "closed": "#009E73",
}
LEVEL_COLORS = ["#1B7837", "#5AAE61", "#A6DBA0", "#F4A582", "#D6604D"]  # grid … city


def monthly_status_chart(df: pd.DataFrame) -> alt.Chart:
    d = df.copy()
    d["status_label"] = [t(f"enum.status.{s}") for s in d["status"]]
    order = [t(f"enum.status.{s}") for s in STATUSES]
    return (
        alt.Chart(d)
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=t("ov.trend.month"), axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("sum(cases):Q", title=t("ov.trend.cases"), axis=alt.Axis(tickMinStep=1, format=",d")),
            color=alt.Color("status_label:N", title=t("ov.trend.status"),
                            scale=alt.Scale(domain=order, range=[STATUS_COLORS[s] for s in STATUSES]),
                            sort=order),
            order=alt.Order("status_order:Q"),
            tooltip=[alt.Tooltip("month:O", title=t("ov.trend.month")),
                     alt.Tooltip("status_label:N", title=t("ov.trend.status")),
                     alt.Tooltip("cases:Q", title=t("ov.trend.cases"), format=",")],
        )
        .transform_calculate(status_order=f"indexof({order!r}, datum.status_label)")
        .properties(height=300)
    )


def resolution_level_chart(df: pd.DataFrame) -> alt.Chart:
    d = df.copy()
    d["label"] = [t(f"enum.level.{lv}") for lv in d["resolution_level"]]
    order = [t(f"enum.level.{lv}") for lv in RESOLUTION_LEVELS]
    return (
        alt.Chart(d)
        .mark_bar()
        .encode(
            y=alt.Y("label:N", sort=order, title=t("ov.levels.level")),
            x=alt.X("share:Q", title=t("ov.levels.share"), axis=alt.Axis(format="%")),
            color=alt.Color("label:N", scale=alt.Scale(domain=order, range=LEVEL_COLORS), legend=None),
            tooltip=[alt.Tooltip("label:N", title=t("ov.levels.level")),
                     alt.Tooltip("cases:Q", title=t("ov.rank.cases"), format=","),
                     alt.Tooltip("share:Q", title=t("ov.levels.share"), format=".1%")],
        )
        .properties(height=220)
    )


def county_map(values: pd.DataFrame, measure_title: str, fmt: str, selected: str | None = None) -> alt.Chart:
    """Choropleth of ``values`` (columns code, name, value) over the polygons of its counties (those that have
    one); ``selected`` outlined."""
    shapes = alt.Data(values=geo.features_for(list(values["code"])))
    is_selected = f"datum.properties.code === {selected!r}" if selected else "false"
    return (
        alt.Chart(shapes)
        .mark_geoshape()
        .transform_lookup(lookup="properties.code",
                          from_=alt.LookupData(values, "code", ["name", "value"]))
        .encode(
            color=alt.Color("value:Q", title=measure_title, scale=alt.Scale(scheme="blues"),
                            legend=alt.Legend(format=fmt)),
            tooltip=[alt.Tooltip("name:N", title=t("ov.rank.name")),
                     alt.Tooltip("value:Q", title=measure_title, format=fmt)],
            stroke=alt.condition(is_selected, alt.value("#C8102E"), alt.value("white")),
            strokeWidth=alt.condition(is_selected, alt.value(3), alt.value(1)),
        )
        .project(type="mercator")
        .properties(height=380)
    )


# Text on a light or dark background: the same hues as STATUS_COLORS, dark enough to read as letters.
STATUS_TEXT_COLORS = {
    "reported": "#B27300",
    "accepted": "#0072B2",
    "dispatched": "#AA3F8D",
    "handling": "#D55E00",
    "feedback": "#8C7D00",
    "closed": "#00805C",
}
OVERDUE_COLOR = "#D55E00"  # overdue, over a limit, past a deadline: the same vermilion everywhere
OVERDUE_STYLE = f"color: {OVERDUE_COLOR}; font-weight: 600"
GRADE_COLORS = {"normal": "#6B7280", "yellow": "#B27300", "red": "#D55E00"}  # 普通 / 黄牌 / 红牌



# --- supervision centre -------------------------------------------------------------------------------------

WITHIN_COLOR = "#0072B2"  # within a limit / not overdue: the calm blue (colour-blind-safe against vermilion)
# Step time ÷ step limit: four blues within the limit, four oranges to vermilion past it.
RATIO_COLORS = ["#C6DBEF", "#9ECAE1", "#6BAED6", "#2171B5", "#FDD0A2", "#FDAE6B", "#F16913", "#D55E00"]


def backlog_age_chart(df: pd.DataFrame, labels: list[str]) -> alt.Chart:
    """Open cases by age bucket, split into overdue and not yet overdue."""
    d = df.assign(label=labels[: len(df)], within=df["cases"] - df["overdue"])
    long = pd.concat([
        d[["label", "within"]].rename(columns={"within": "n"}).assign(part=t("sc.chart.within")),
        d[["label", "overdue"]].rename(columns={"overdue": "n"}).assign(part=t("sc.chart.overdue")),
    ])
    parts = [t("sc.chart.within"), t("sc.chart.overdue")]
    return (
        alt.Chart(long).mark_bar()
        .encode(
            x=alt.X("label:N", sort=labels, title=t("sc.chart.age"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("sum(n):Q", title=t("sc.chart.open_cases"), axis=alt.Axis(tickMinStep=1, format=",d")),
            color=alt.Color("part:N", title=None, sort=parts,
                            scale=alt.Scale(domain=parts, range=[WITHIN_COLOR, OVERDUE_COLOR]),
                            legend=alt.Legend(orient="top")),
            order=alt.Order("part:N", sort="descending"),
            tooltip=[alt.Tooltip("label:N", title=t("sc.chart.age")), alt.Tooltip("part:N", title=" "),
                     alt.Tooltip("n:Q", title=t("sc.chart.open_cases"), format=",")],
        ).properties(height=260)
    )


def backlog_overdue_chart(df: pd.DataFrame, labels: list[str]) -> alt.Chart:
    """Open cases by how long past their due time (the first bucket: not overdue)."""
    d = df.assign(label=labels[: len(df)])
    colors = [WITHIN_COLOR] + ["#FDAE6B", "#FD8D3C", "#F16913", "#E6550D", "#D55E00", "#A63603"][: len(d) - 1]
    return (
        alt.Chart(d).mark_bar()
        .encode(
            x=alt.X("label:N", sort=labels, title=t("sc.chart.overdue_by"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("cases:Q", title=t("sc.chart.open_cases"), axis=alt.Axis(tickMinStep=1, format=",d")),
            color=alt.Color("label:N", scale=alt.Scale(domain=list(d["label"]), range=colors), legend=None),
            tooltip=[alt.Tooltip("label:N", title=t("sc.chart.overdue_by")),
                     alt.Tooltip("cases:Q", title=t("sc.chart.open_cases"), format=",")],
        ).properties(height=260)
    )


def overdue_trend_chart(df: pd.DataFrame) -> alt.Chart:
    """Open and overdue cases at each month end (the last point: now)."""
    return (
        alt.Chart(df).mark_line(point=True, color=OVERDUE_COLOR)
        .encode(
            x=alt.X("month:O", title=t("sc.chart.month_end"), axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("open_overdue:Q", title=t("sc.chart.overdue_open"), axis=alt.Axis(tickMinStep=1, format=",d")),
            tooltip=[alt.Tooltip("month_end:T", title=t("sc.chart.month_end"), format="%Y-%m-%d %H:%M"),
                     alt.Tooltip("open_overdue:Q", title=t("sc.chart.overdue_open"), format=",")],
        ).properties(height=240)
    )


def step_ratio_chart(df: pd.DataFrame, title: str) -> alt.Chart:
    """Per step, the share of cases in each bucket of step time ÷ the step's limit (100 % bars)."""
    d = df.copy()
    d["step_label"] = [t(f"proc.step.{s}") for s in d["step"]]
    steps = [t(f"proc.step.{s}") for s in ("accept", "dispatch", "handle", "feedback")]
    buckets = list(dict.fromkeys(d.sort_values("bucket")["bucket_label"]))
    return (
        alt.Chart(d).mark_bar()
        .encode(
            y=alt.Y("step_label:N", sort=steps, title=None),
            x=alt.X("sum(cases):Q", stack="normalize", title=t("sc.chart.share_of_cases"),
                    axis=alt.Axis(format="%")),
            color=alt.Color("bucket_label:N", sort=buckets, title=t("sc.chart.ratio"),
                            scale=alt.Scale(domain=buckets, range=RATIO_COLORS[: len(buckets)]),
                            legend=alt.Legend(orient="bottom", columns=8)),
            order=alt.Order("bucket:Q"),
            tooltip=[alt.Tooltip("step_label:N", title=t("proc.col.step")),
                     alt.Tooltip("bucket_label:N", title=t("sc.chart.ratio")),
                     alt.Tooltip("cases:Q", title=t("proc.col.cases"), format=",")],
        ).properties(height=alt.Step(40), title=title)
    )


def grade_hours_chart(df: pd.DataFrame) -> alt.Chart:
    """Median hours from a supervision order to the case's close, per grade."""
    d = df.assign(label=[t(f"enum.grade.{g}") for g in df["grade"]])
    order = [t(f"enum.grade.{g}") for g in GRADE_COLORS]
    return (
        alt.Chart(d).mark_bar()
        .encode(
            x=alt.X("label:N", sort=order, title=t("sup_eff.col.grade"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("median_hours_to_close:Q", title=t("sup_eff.col.median_hours_to_close")),
            color=alt.Color("label:N", scale=alt.Scale(domain=order, range=list(GRADE_COLORS.values())),
                            legend=None),
            tooltip=[alt.Tooltip("label:N", title=t("sup_eff.col.grade")),
                     alt.Tooltip("orders:Q", title=t("sup_eff.col.orders"), format=","),
                     alt.Tooltip("median_hours_to_close:Q", title=t("sup_eff.col.median_hours_to_close"),
                                 format=".1f")],
        ).properties(height=240)
    )


# --- grid staffing and volunteer teams ----------------------------------------------------------------------

# Workload flags: overloaded in the overdue vermilion, quiet in amber, the rest calm.
FLAG_COLORS = {"overloaded": OVERDUE_COLOR, "quiet": "#E69F00", "ok": WITHIN_COLOR}
# Activity kinds (Okabe–Ito, colour-blind-safe), the same on every chart.
ACTIVITY_COLORS = {"patrol": "#0072B2", "anti_fraud": "#D55E00", "mediation": "#009E73", "publicity": "#CC79A7",
                   "epidemic": "#56B4E9", "cleanup": "#E69F00", "care": "#F0E442", "other": "#9CA3AF"}


def _nice_step(raw: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k not below ``raw`` (the bin widths a reader takes in at a glance)."""
    import math

    if raw <= 0:
        return 1.0
    k = 10 ** math.floor(math.log10(raw))
    return next(m * k for m in (1, 2, 2.5, 5, 10) if m * k >= raw)


def workload_bins(df: pd.DataFrame, flag_labels: dict[str, str], maxbins: int = 40) -> pd.DataFrame:
    """Grids per workload bin and flag (bin_start, bin_end, flag_label, grids): the histogram's data, a few
    dozen rows instead of one per grid (9,708 at full scale), so the chart sent to the browser stays small."""
    w = df.loc[df["workload"].notna(), ["workload", "flag"]]
    if w.empty:
        return pd.DataFrame(columns=["bin_start", "bin_end", "flag_label", "grids"])
    lo, hi = float(w["workload"].min()), float(w["workload"].max())
    step = _nice_step((hi - lo) / maxbins if hi > lo else 1.0)
    start = ((w["workload"] / step + 1e-9) // 1) * step  # 2.4 / 0.2 is 11.999…: the slack keeps it in [2.4, 2.6)
    out = (w.assign(bin_start=start, flag_label=w["flag"].map(flag_labels))
           .groupby(["bin_start", "flag_label"], as_index=False).size().rename(columns={"size": "grids"}))
    return out.assign(bin_end=out["bin_start"] + step)


def workload_histogram(df: pd.DataFrame, median: float | None, flag_labels: dict[str, str]) -> alt.Chart:
    """Grids by workload (cases per worker per month), coloured by flag, with the median as a rule."""
    data = workload_bins(df, flag_labels)
    order = [flag_labels[k] for k in FLAG_COLORS]
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("bin_start:Q", bin="binned", title=t("stf.col.workload")),
        x2="bin_end:Q",
        y=alt.Y("grids:Q", title=t("stf.col.grids"), stack=True),
        color=alt.Color("flag_label:N", title=t("stf.col.flag"),
                        scale=alt.Scale(domain=order, range=list(FLAG_COLORS.values())), sort=order),
        tooltip=[alt.Tooltip("flag_label:N", title=t("stf.col.flag")),
                 alt.Tooltip("bin_start:Q", title=t("stf.col.workload"), format=".2f"),
                 alt.Tooltip("grids:Q", title=t("stf.col.grids"), format=",d")],
    )
    if median is None:
        return bars.properties(height=260)
    rule = alt.Chart(pd.DataFrame({"m": [median]})).mark_rule(strokeDash=[4, 3], color="#374151").encode(
        x="m:Q", tooltip=[alt.Tooltip("m:Q", title=t("stf.work.median"), format=".2f")])
    return (bars + rule).properties(height=260)


def team_growth_chart(df: pd.DataFrame) -> alt.Chart:
    """Cumulative teams (bars would hide the members) and members, two axes."""
    base = alt.Chart(df).encode(x=alt.X("month:T", title=t("vol.acts.month"), timeUnit="yearmonth",
                                        axis=alt.Axis(format="%Y", tickCount="year")))
    teams = base.mark_line(color="#C8102E", point=False).encode(
        y=alt.Y("teams:Q", title=t("vol.growth.teams"), axis=alt.Axis(titleColor="#C8102E", format=",d")),
        tooltip=[alt.Tooltip("month:T", timeUnit="yearmonth", title=t("vol.acts.month"), format="%Y-%m"),
                 alt.Tooltip("teams:Q", title=t("vol.growth.teams"), format=","),
                 alt.Tooltip("members:Q", title=t("vol.growth.members"), format=",")])
    members = base.mark_line(color=WITHIN_COLOR, strokeDash=[5, 3]).encode(
        y=alt.Y("members:Q", title=t("vol.growth.members"), axis=alt.Axis(titleColor=WITHIN_COLOR, format=",d")))
    return alt.layer(teams, members).resolve_scale(y="independent").properties(height=260)


def focus_chart(df: pd.DataFrame) -> alt.Chart:
    data = df.assign(label=[t(f"enum.activity.{k}") for k in df["tag"]])
    return alt.Chart(data).mark_bar(color="#C8102E").encode(
        y=alt.Y("label:N", title=None, sort="-x"),
        x=alt.X("teams:Q", title=t("vol.col.teams"), axis=alt.Axis(format=",d", tickMinStep=1)),
        tooltip=[alt.Tooltip("label:N", title=t("vol.card.focus")),
                 alt.Tooltip("teams:Q", title=t("vol.col.teams"), format=",")],
    ).properties(height=260)


def activities_chart(df: pd.DataFrame, measure: str, measure_title: str) -> alt.Chart:
    """Stacked bars per month, one colour per activity kind."""
    kinds = [k for k in ACTIVITY_COLORS if k in set(df["kind"])]
    labels = [t(f"enum.activity.{k}") for k in kinds]
    data = df.assign(kind_label=[t(f"enum.activity.{k}") for k in df["kind"]])
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("month:O", title=t("vol.acts.month"), axis=alt.Axis(labelAngle=-45)),
        y=alt.Y(f"sum({measure}):Q", title=measure_title, axis=alt.Axis(format=",.0f")),
        color=alt.Color("kind_label:N", title=t("vol.col.kind"),
                        scale=alt.Scale(domain=labels, range=[ACTIVITY_COLORS[k] for k in kinds]), sort=labels),
        order=alt.Order("kind_label:N"),
        tooltip=[alt.Tooltip("month:O", title=t("vol.acts.month")), alt.Tooltip("kind_label:N", title=t("vol.col.kind")),
                 alt.Tooltip(f"sum({measure}):Q", title=measure_title, format=",.0f")],
    ).properties(height=280)


# --- idle-asset revitalisation ------------------------------------------------------------------------------

DISPOSAL_COLORS = {"use": "#009E73", "sell": "#CC79A7", "lease": "#0072B2", "finance": "#E69F00"}


def revenue_chart(df: pd.DataFrame) -> alt.Chart:
    """Stacked monthly revenue (万元) by disposal mode."""
    modes = [m for m in DISPOSAL_COLORS if m in set(df["disposal_mode"])]
    labels = [t(f"enum.disposal.{m}") for m in modes]
    data = df.assign(mode_label=[t(f"enum.disposal.{m}") for m in df["disposal_mode"]])
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("month:O", title=t("ast.col.month"), axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("sum(revenue_wan):Q", title=t("ast.col.revenue"), axis=alt.Axis(format=",.0f")),
        color=alt.Color("mode_label:N", title=t("ast.col.mode"),
                        scale=alt.Scale(domain=labels, range=[DISPOSAL_COLORS[m] for m in modes]), sort=labels),
        tooltip=[alt.Tooltip("month:O", title=t("ast.col.month")), alt.Tooltip("mode_label:N", title=t("ast.col.mode")),
                 alt.Tooltip("sum(revenue_wan):Q", title=t("ast.col.revenue"), format=",.2f")],
    ).properties(height=280)


def guarantee_chart(df: pd.DataFrame) -> alt.Chart:
    """Per guaranteed project: the minimum owed (a tick) against what was received (a bar), short ones vermilion."""
    data = df.assign(short=df["shortfall_wan"] > 0)
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("name:N", title=None, sort=list(data["name"]), axis=alt.Axis(labelLimit=320)),
        x=alt.X("received_wan:Q", title=t("ast.col.received"), axis=alt.Axis(format=",.0f")),
        color=alt.condition("datum.short", alt.value(OVERDUE_COLOR), alt.value(WITHIN_COLOR)),
        tooltip=[alt.Tooltip("name:N", title=t("ast.col.name")),
                 alt.Tooltip("minimum_wan:Q", title=t("ast.col.minimum"), format=",.2f"),
                 alt.Tooltip("received_wan:Q", title=t("ast.col.received"), format=",.2f"),
                 alt.Tooltip("shortfall_wan:Q", title=t("ast.col.shortfall"), format=",.2f")],
    )
    ticks = alt.Chart(data).mark_tick(color="#111827", thickness=3, size=22).encode(
        y=alt.Y("name:N", sort=list(data["name"])), x="minimum_wan:Q")
    return (bars + ticks).properties(height=max(120, 34 * len(data)))


def visitors_chart(df: pd.DataFrame) -> alt.Chart:
    return alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("month:O", title=t("ast.col.month"), axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("visitors_per_day:Q", title=t("ast.col.per_day"), axis=alt.Axis(format=",.0f")),
        color=alt.Color("name:N", title=t("ast.col.name")),
        tooltip=[alt.Tooltip("name:N", title=t("ast.col.name")), alt.Tooltip("month:O", title=t("ast.col.month")),
                 alt.Tooltip("visitors_per_day:Q", title=t("ast.col.per_day"), format=",.0f"),
                 alt.Tooltip("visitors:Q", title=t("ast.col.visitors"), format=",")],
    ).properties(height=260)


def project_months_chart(df: pd.DataFrame) -> alt.Chart:
    """A project's monthly revenue; with a guaranteed minimum, the minimum as a line and short months vermilion."""
    has_min = df["minimum_wan"].notna().any()
    data = df.assign(short=(df["shortfall_wan"].fillna(0) > 0))
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("month:O", title=t("ast.col.month"), axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("revenue_wan:Q", title=t("ast.col.revenue"), axis=alt.Axis(format=",.0f")),
        color=alt.condition("datum.short", alt.value(OVERDUE_COLOR), alt.value(WITHIN_COLOR)),
        tooltip=[alt.Tooltip("month:O", title=t("ast.col.month")),
                 alt.Tooltip("revenue_wan:Q", title=t("ast.col.revenue"), format=",.2f"),
                 *([alt.Tooltip("minimum_wan:Q", title=t("ast.col.minimum"), format=",.2f"),
                    alt.Tooltip("shortfall_wan:Q", title=t("ast.col.shortfall"), format=",.2f")] if has_min else [])],
    )
    if not has_min:
        return bars.properties(height=260)
    line = alt.Chart(data).mark_rule(color="#111827", strokeDash=[5, 3]).encode(
        y="mean(minimum_wan):Q", tooltip=[alt.Tooltip("mean(minimum_wan):Q", title=t("ast.col.minimum"), format=",.2f")])
    return (bars + line).properties(height=260)
